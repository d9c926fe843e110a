//! SSM Parameter Store: String, StringList and SecureString parameters (SecureString values
//! sealed at rest; without decryption their sealed form is answered, as AWS answers its
//! ciphertext), versions and their history, labels, `name:version` / `name:label` selectors,
//! reads by path, and DescribeParameters with its filters. Only the Standard tier's limits and
//! the `text` data type are supported.

use std::collections::BTreeMap;

use ferry_model::ssm::*;
use ferry_store::params::{NewParamVersion, ParamVersionRow, PutParamError};
use ferry_wire::{AwsError, RequestContext};

use crate::ssm_names::{
    Selector, check_name, check_path, parameter_arn, parse_selector, valid_label,
};
use crate::{CompanionService, now_ms, paging, store_err};

type R<T> = Result<T, AwsError>;

/// The longest value the Standard tier holds.
const STANDARD_MAX_VALUE: usize = 4096;
/// The longest value the Advanced tier holds.
const ADVANCED_MAX_VALUE: usize = 8192;
/// The most labels one version carries.
const MAX_LABELS: usize = 10;
/// The key SecureString parameters use when none is named.
const DEFAULT_KEY: &str = "alias/aws/ssm";

fn validation(msg: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", msg)
}

fn not_found() -> AwsError {
    AwsError::new("ParameterNotFound", "")
}

fn version_not_found(name: &str, version: i64) -> AwsError {
    AwsError::new(
        "ParameterVersionNotFound",
        format!(
            "Systems Manager could not find version {version} of {name}. Verify the version and try again."
        ),
    )
}

fn invalid_token() -> AwsError {
    AwsError::new("InvalidNextToken", "The specified token isn't valid.")
}

fn tier(t: &str) -> ParameterTier {
    ParameterTier::parse(t).unwrap_or(ParameterTier::Standard)
}

fn ptype(t: &str) -> ParameterType {
    ParameterType::parse(t).unwrap_or(ParameterType::String)
}

/// One parsed ParameterStringFilter.
struct Filter {
    key: String,
    option: String,
    values: Vec<String>,
}

impl Filter {
    fn new(f: ParameterStringFilter) -> Self {
        Self {
            option: f.option.unwrap_or_else(|| "Equals".to_owned()),
            values: f.values.unwrap_or_default(),
            key: f.key,
        }
    }

    /// Whether a parameter passes; `tags` are looked up only for `tag:` keys.
    fn keeps(&self, p: &ParamVersionRow, tags: &BTreeMap<String, String>) -> bool {
        let any = |v: &str| self.values.iter().any(|x| x == v);
        match self.key.as_str() {
            "Name" => {
                let bare = |s: &str| s.trim_start_matches('/').to_owned();
                let name = bare(&p.name);
                match self.option.as_str() {
                    "BeginsWith" => self.values.iter().any(|v| name.starts_with(&bare(v))),
                    "Contains" => self.values.iter().any(|v| p.name.contains(v.as_str())),
                    _ => self.values.iter().any(|v| name == bare(v)),
                }
            }
            "Type" => any(&p.param_type),
            "KeyId" => p.key_id.as_deref().is_some_and(any),
            "Tier" => any(&p.tier),
            "DataType" => any(&p.data_type),
            "Label" => p.labels.iter().any(|l| any(l)),
            "Path" => self.values.iter().any(|v| {
                let prefix = if v.ends_with('/') {
                    v.clone()
                } else {
                    format!("{v}/")
                };
                p.name
                    .strip_prefix(&prefix)
                    .is_some_and(|rest| self.option == "Recursive" || !rest.contains('/'))
            }),
            key => match key.strip_prefix("tag:") {
                Some(tag) => tags
                    .get(tag)
                    .is_some_and(|v| self.values.is_empty() || any(v)),
                None => false,
            },
        }
    }
}

/// Checks filters against the keys and options an operation allows.
fn check_filters(filters: &[Filter], keys: &[&str]) -> R<()> {
    for f in filters {
        if !keys.contains(&f.key.as_str()) && !f.key.starts_with("tag:") {
            return Err(AwsError::new(
                "InvalidFilterKey",
                format!(
                    "The following filter key is not valid: {}. Valid filter keys include: [{}].",
                    f.key,
                    keys.join(", ")
                ),
            ));
        }
        let options: &[&str] = match f.key.as_str() {
            "Name" => &["Equals", "BeginsWith", "Contains"],
            "Path" => &["Recursive", "OneLevel"],
            "Type" | "KeyId" | "Tier" | "DataType" | "Label" => &["Equals"],
            _ => &["Equals"],
        };
        if !options.contains(&f.option.as_str()) {
            return Err(AwsError::new(
                "InvalidFilterOption",
                format!(
                    "The filter option is not valid. Valid options are: {}.",
                    options.join(", ")
                ),
            ));
        }
        if f.values.is_empty() && !f.key.starts_with("tag:") {
            return Err(AwsError::new(
                "InvalidFilterValue",
                format!("The filter value is not valid for the key {}.", f.key),
            ));
        }
    }
    Ok(())
}

impl CompanionService {
    /// The value a caller sees: opened SecureString values only `with_decryption`.
    fn shown_value(&self, p: &ParamVersionRow, with_decryption: bool) -> R<String> {
        if p.secure() && with_decryption {
            self.store.open_parameter_value(&p.value).map_err(store_err)
        } else {
            Ok(p.value.clone())
        }
    }

    fn to_parameter(
        &self,
        ctx: &RequestContext,
        p: ParamVersionRow,
        selector: Option<String>,
        with_decryption: bool,
    ) -> R<Parameter> {
        Ok(Parameter {
            value: Some(self.shown_value(&p, with_decryption)?),
            arn: Some(parameter_arn(&ctx.region, &ctx.account_id, &p.name)),
            r#type: Some(ptype(&p.param_type)),
            version: Some(p.version),
            selector,
            source_result: None,
            last_modified_date: Some(ferry_types::Timestamp::from_millis(p.modified_ms)),
            data_type: Some(p.data_type),
            name: Some(p.name),
        })
    }

    /// The version a selector designates, or the exception AWS answers.
    async fn select(&self, raw: &str) -> R<(ParamVersionRow, Option<String>)> {
        let (name, selector, text) = parse_selector(raw)?;
        let row = match &selector {
            Selector::Latest => self.store.parameter(&name).await.map_err(store_err)?,
            Selector::Version(v) => {
                if self
                    .store
                    .parameter(&name)
                    .await
                    .map_err(store_err)?
                    .is_none()
                {
                    return Err(not_found());
                }
                Some(
                    self.store
                        .parameter_version(&name, *v)
                        .await
                        .map_err(store_err)?
                        .ok_or_else(|| version_not_found(&name, *v))?,
                )
            }
            Selector::Label(label) => {
                match self
                    .store
                    .parameter_label(&name, label)
                    .await
                    .map_err(store_err)?
                {
                    Some(v) => self
                        .store
                        .parameter_version(&name, v)
                        .await
                        .map_err(store_err)?,
                    None => None,
                }
            }
        };
        row.map(|r| (r, text)).ok_or_else(not_found)
    }

    /// Reads the latest versions under `prefix` in name order, after the name in `token`,
    /// keeping those `keep` accepts, until `limit` are found; returns them with the next token.
    async fn scan_parameters(
        &self,
        prefix: &str,
        token: Option<&str>,
        limit: usize,
        filters: &[Filter],
        keep: impl Fn(&ParamVersionRow) -> bool,
    ) -> R<(Vec<ParamVersionRow>, Option<String>)> {
        let mut cursor = match token {
            None => None,
            Some(t) => Some(
                ferry_types::page::decode(t)
                    .and_then(|s| s.strip_prefix("n:").map(str::to_owned))
                    .ok_or_else(invalid_token)?,
            ),
        };
        let wants_tags = filters.iter().any(|f| f.key.starts_with("tag:"));
        let mut out = Vec::new();
        loop {
            let batch = self
                .store
                .parameters(prefix, cursor.as_deref(), 200)
                .await
                .map_err(store_err)?;
            let exhausted = batch.len() < 200;
            for p in batch {
                cursor = Some(p.name.clone());
                let tags = if wants_tags {
                    self.store
                        .tags(&ferry_store::params::parameter_tag_id(&p.name))
                        .await
                        .map_err(store_err)?
                } else {
                    BTreeMap::new()
                };
                if keep(&p) && filters.iter().all(|f| f.keeps(&p, &tags)) {
                    if out.len() == limit {
                        let next = out.last().map(|l: &ParamVersionRow| {
                            ferry_types::page::encode(&format!("n:{}", l.name))
                        });
                        return Ok((out, next));
                    }
                    out.push(p);
                }
            }
            if exhausted {
                return Ok((out, None));
            }
        }
    }
}

impl Ssm for CompanionService {
    async fn put_parameter(
        &self,
        ctx: &RequestContext,
        i: PutParameterRequest,
    ) -> R<PutParameterResult> {
        check_name(&i.name)?;
        let overwrite = i.overwrite == Some(true);
        if overwrite && i.tags.as_ref().is_some_and(|t| !t.is_empty()) {
            return Err(validation(
                "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
            ));
        }
        if i.policies.is_some() {
            return Err(AwsError::not_implemented(
                "ssm",
                "PutParameter with Policies",
            ));
        }
        let data_type = i.data_type.unwrap_or_else(|| "text".to_owned());
        if data_type != "text" {
            return Err(validation(format!(
                "The following data type is not supported: {data_type} (Data type names are all lowercase.)"
            )));
        }
        let current = self.store.parameter(&i.name).await.map_err(store_err)?;
        if current.is_some() && !overwrite {
            return Err(parameter_exists());
        }
        let param_type = match (i.r#type, &current) {
            (Some(t), _) => t.as_str().to_owned(),
            (None, Some(c)) => c.param_type.clone(),
            (None, None) => {
                return Err(validation(
                    "A parameter type is required when you create a parameter.",
                ));
            }
        };
        if let Some(c) = &current
            && c.secure() != (param_type == "SecureString")
        {
            return Err(AwsError::new(
                "HierarchyTypeMismatchException",
                format!(
                    "The parameter type {param_type} doesn't match the type {} of the existing parameter {}. Parameter Store doesn't support changing a parameter type to or from SecureString.",
                    c.param_type, i.name
                ),
            ));
        }
        let tier = match i.tier.unwrap_or(ParameterTier::Standard) {
            ParameterTier::Advanced => "Advanced",
            _ if current.as_ref().is_some_and(|c| c.tier == "Advanced") => "Advanced",
            ParameterTier::IntelligentTiering if i.value.len() > STANDARD_MAX_VALUE => "Advanced",
            _ => "Standard",
        };
        let max = if tier == "Advanced" {
            ADVANCED_MAX_VALUE
        } else {
            STANDARD_MAX_VALUE
        };
        if i.value.len() > max {
            return Err(validation(format!(
                "{tier} tier parameters support a maximum parameter value of {max} characters."
            )));
        }
        let allowed_pattern = i
            .allowed_pattern
            .or_else(|| current.as_ref().and_then(|c| c.allowed_pattern.clone()));
        if let Some(p) = &allowed_pattern {
            let re = regex::Regex::new(p).map_err(|_| {
                AwsError::new(
                    "InvalidAllowedPatternException",
                    "The request doesn't meet the regular expression requirement.",
                )
            })?;
            if !re.is_match(&i.value) {
                return Err(AwsError::new(
                    "ParameterPatternMismatchException",
                    format!("Parameter value, cannot be validated against allowedPattern: {p}"),
                ));
            }
        }
        let key_id = (param_type == "SecureString").then(|| {
            i.key_id
                .clone()
                .or_else(|| current.as_ref().and_then(|c| c.key_id.clone()))
                .unwrap_or_else(|| DEFAULT_KEY.to_owned())
        });
        let version = NewParamVersion {
            description: i
                .description
                .or_else(|| current.as_ref().and_then(|c| c.description.clone())),
            name: i.name,
            param_type,
            value: i.value,
            key_id,
            allowed_pattern,
            tier: tier.to_owned(),
            data_type,
            modified_ms: now_ms(),
            modified_user: ctx.principal_arn.clone(),
        };
        let tags: BTreeMap<String, String> = i
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect();
        let v = match self.store.put_parameter(&version, overwrite, &tags).await {
            Ok(v) => v,
            Err(PutParamError::Exists) => return Err(parameter_exists()),
            Err(PutParamError::MaxVersions) => {
                return Err(AwsError::new(
                    "ParameterMaxVersionLimitExceeded",
                    format!(
                        "You attempted to create a new version of {} by calling the PutParameter API with the overwrite flag. The oldest version can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.",
                        version.name
                    ),
                ));
            }
            Err(PutParamError::Store(e)) => return Err(store_err(e)),
        };
        Ok(PutParameterResult {
            version: Some(v),
            tier: Some(self::tier(tier)),
        })
    }

    async fn get_parameter(
        &self,
        ctx: &RequestContext,
        i: GetParameterRequest,
    ) -> R<GetParameterResult> {
        let (row, selector) = self.select(&i.name).await?;
        Ok(GetParameterResult {
            parameter: Some(self.to_parameter(
                ctx,
                row,
                selector,
                i.with_decryption == Some(true),
            )?),
        })
    }

    async fn get_parameters(
        &self,
        ctx: &RequestContext,
        i: GetParametersRequest,
    ) -> R<GetParametersResult> {
        let mut found = Vec::new();
        let mut invalid = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for raw in i.names {
            if !seen.insert(raw.clone()) {
                continue;
            }
            match self.select(&raw).await {
                Ok((row, selector)) => found.push(self.to_parameter(
                    ctx,
                    row,
                    selector,
                    i.with_decryption == Some(true),
                )?),
                Err(e) if e.is_server_fault() => return Err(e),
                Err(_) => invalid.push(raw),
            }
        }
        Ok(GetParametersResult {
            parameters: Some(found),
            invalid_parameters: Some(invalid),
        })
    }

    async fn get_parameters_by_path(
        &self,
        ctx: &RequestContext,
        i: GetParametersByPathRequest,
    ) -> R<GetParametersByPathResult> {
        check_path(&i.path)?;
        let filters: Vec<Filter> = i
            .parameter_filters
            .unwrap_or_default()
            .into_iter()
            .map(Filter::new)
            .collect();
        check_filters(&filters, &["Type", "KeyId", "Label"])?;
        let prefix = if i.path.ends_with('/') {
            i.path.clone()
        } else {
            format!("{}/", i.path)
        };
        let recursive = i.recursive == Some(true);
        let (rows, next_token) = self
            .scan_parameters(
                &prefix,
                i.next_token.as_deref(),
                paging::size(i.max_results, 10),
                &filters,
                |p| {
                    p.name
                        .strip_prefix(&prefix)
                        .is_some_and(|rest| recursive || !rest.contains('/'))
                },
            )
            .await?;
        let decrypt = i.with_decryption == Some(true);
        Ok(GetParametersByPathResult {
            parameters: Some(
                rows.into_iter()
                    .map(|r| self.to_parameter(ctx, r, None, decrypt))
                    .collect::<R<_>>()?,
            ),
            next_token,
        })
    }

    async fn describe_parameters(
        &self,
        ctx: &RequestContext,
        i: DescribeParametersRequest,
    ) -> R<DescribeParametersResult> {
        if i.filters.is_some() && i.parameter_filters.is_some() {
            return Err(validation(
                "You can use either Filters or ParameterFilters in a single request.",
            ));
        }
        if i.shared == Some(true) {
            return Err(AwsError::not_implemented(
                "ssm",
                "DescribeParameters of shared parameters",
            ));
        }
        let mut filters: Vec<Filter> = i
            .parameter_filters
            .unwrap_or_default()
            .into_iter()
            .map(Filter::new)
            .collect();
        check_filters(
            &filters,
            &["Name", "Type", "KeyId", "Path", "Tier", "DataType", "Label"],
        )?;
        for f in i.filters.unwrap_or_default() {
            filters.push(Filter {
                key: f.key.as_str().to_owned(),
                option: if f.key == ParametersFilterKey::Name {
                    "BeginsWith".to_owned()
                } else {
                    "Equals".to_owned()
                },
                values: f.values,
            });
        }
        let (rows, next_token) = self
            .scan_parameters(
                "",
                i.next_token.as_deref(),
                paging::size(i.max_results, 50),
                &filters,
                |_| true,
            )
            .await?;
        Ok(DescribeParametersResult {
            parameters: Some(
                rows.into_iter()
                    .map(|p| ParameterMetadata {
                        arn: Some(parameter_arn(&ctx.region, &ctx.account_id, &p.name)),
                        r#type: Some(ptype(&p.param_type)),
                        key_id: p.key_id,
                        last_modified_date: Some(ferry_types::Timestamp::from_millis(
                            p.modified_ms,
                        )),
                        last_modified_user: Some(p.modified_user),
                        description: p.description,
                        allowed_pattern: p.allowed_pattern,
                        version: Some(p.version),
                        tier: Some(tier(&p.tier)),
                        policies: Some(Vec::new()),
                        data_type: Some(p.data_type),
                        name: Some(p.name),
                    })
                    .collect(),
            ),
            next_token,
        })
    }

    async fn get_parameter_history(
        &self,
        _: &RequestContext,
        i: GetParameterHistoryRequest,
    ) -> R<GetParameterHistoryResult> {
        let (name, _, _) = parse_selector(&i.name)?;
        let history = self
            .store
            .parameter_history(&name)
            .await
            .map_err(store_err)?;
        if history.is_empty() {
            return Err(not_found());
        }
        let start = paging::offset(i.next_token.as_deref(), invalid_token)?;
        let (page, next_token) = paging::slice(history, start, paging::size(i.max_results, 50));
        let decrypt = i.with_decryption == Some(true);
        let mut out = Vec::with_capacity(page.len());
        for p in page {
            out.push(ParameterHistory {
                value: Some(self.shown_value(&p, decrypt)?),
                r#type: Some(ptype(&p.param_type)),
                key_id: p.key_id,
                last_modified_date: Some(ferry_types::Timestamp::from_millis(p.modified_ms)),
                last_modified_user: Some(p.modified_user),
                description: p.description,
                allowed_pattern: p.allowed_pattern,
                version: Some(p.version),
                labels: Some(p.labels),
                tier: Some(tier(&p.tier)),
                policies: Some(Vec::new()),
                data_type: Some(p.data_type),
                name: Some(p.name),
            });
        }
        Ok(GetParameterHistoryResult {
            parameters: Some(out),
            next_token,
        })
    }

    async fn label_parameter_version(
        &self,
        _: &RequestContext,
        i: LabelParameterVersionRequest,
    ) -> R<LabelParameterVersionResult> {
        let latest = self
            .store
            .parameter(&i.name)
            .await
            .map_err(store_err)?
            .ok_or_else(not_found)?;
        let target = match i.parameter_version {
            None => latest,
            Some(v) => self
                .store
                .parameter_version(&i.name, v)
                .await
                .map_err(store_err)?
                .ok_or_else(|| version_not_found(&i.name, v))?,
        };
        let (good, bad): (Vec<String>, Vec<String>) =
            i.labels.into_iter().partition(|l| valid_label(l));
        let mut after: std::collections::BTreeSet<&String> = target.labels.iter().collect();
        after.extend(good.iter());
        if after.len() > MAX_LABELS {
            return Err(AwsError::new(
                "ParameterVersionLabelLimitExceeded",
                format!(
                    "A parameter version can have maximum {MAX_LABELS} labels. Move one or more labels to another version and try again."
                ),
            ));
        }
        self.store
            .label_parameter_version(&i.name, target.version, &good)
            .await
            .map_err(store_err)?;
        Ok(LabelParameterVersionResult {
            invalid_labels: Some(bad),
            parameter_version: Some(target.version),
        })
    }

    async fn delete_parameter(
        &self,
        _: &RequestContext,
        i: DeleteParameterRequest,
    ) -> R<DeleteParameterResult> {
        if self
            .store
            .delete_parameter(&i.name)
            .await
            .map_err(store_err)?
        {
            Ok(DeleteParameterResult {})
        } else {
            Err(not_found())
        }
    }

    async fn delete_parameters(
        &self,
        _: &RequestContext,
        i: DeleteParametersRequest,
    ) -> R<DeleteParametersResult> {
        let mut deleted = Vec::new();
        let mut invalid = Vec::new();
        for name in i.names {
            if self
                .store
                .delete_parameter(&name)
                .await
                .map_err(store_err)?
            {
                deleted.push(name);
            } else if !deleted.contains(&name) && !invalid.contains(&name) {
                invalid.push(name);
            }
        }
        Ok(DeleteParametersResult {
            deleted_parameters: Some(deleted),
            invalid_parameters: Some(invalid),
        })
    }
}

fn parameter_exists() -> AwsError {
    AwsError::new(
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
    )
}
