//! Secrets Manager: secrets with string or binary values (sealed at rest), versions moved by
//! staging labels (a new `AWSCURRENT` makes the old one `AWSPREVIOUS`), `ClientRequestToken`
//! idempotency, lookups by name, full ARN or partial ARN, listing with filters, and deletion
//! with a recovery window (or forced) and restore. Rotation and replication are not
//! implemented.

use std::collections::BTreeMap;

use ferry_model::secretsmanager::*;
use ferry_store::StoreError;
use ferry_store::secrets::{NewSecretVersion, SecretRow, SecretValue, SecretVersionRow};
use ferry_types::{Blob, Timestamp};
use ferry_wire::{AwsError, RequestContext};

use crate::{CompanionService, now_ms, paging, store_err};

type R<T> = Result<T, AwsError>;

const DAY_MS: i64 = 86_400_000;
const CURRENT: &str = "AWSCURRENT";

fn invalid_parameter(msg: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", msg)
}

fn not_found() -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    )
}

fn marked_for_deletion() -> AwsError {
    AwsError::new(
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
    )
}

fn version_exists() -> AwsError {
    AwsError::new(
        "ResourceExistsException",
        "You can't modify an existing version, you can only create a new version.",
    )
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// AWS reports the last access as a date (midnight UTC).
fn day(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms - ms.rem_euclid(DAY_MS))
}

fn check_name(name: &str) -> R<()> {
    let ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    if !ok {
        return Err(invalid_parameter(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
        ));
    }
    Ok(())
}

/// The value of a request (`SecretString` or `SecretBinary`, not both).
fn request_value(string: Option<String>, binary: Option<Blob>) -> R<Option<SecretValue>> {
    match (string, binary) {
        (Some(_), Some(_)) => Err(invalid_parameter(
            "You can't specify both a binary secret value and a string secret value in the same secret.",
        )),
        (Some(s), None) => Ok(Some(SecretValue::Text(s))),
        (None, Some(b)) => Ok(Some(SecretValue::Binary(b.0))),
        (None, None) => Ok(None),
    }
}

fn tags_of(tags: Option<Vec<Tag>>) -> BTreeMap<String, String> {
    tags.unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
        .collect()
}

fn tag_list(tags: BTreeMap<String, String>) -> Vec<Tag> {
    tags.into_iter()
        .map(|(k, v)| Tag {
            key: Some(k),
            value: Some(v),
        })
        .collect()
}

/// Whether a ListSecrets filter value matches a text: a prefix of the text or of one of its
/// words, case-insensitively; a leading `!` negates.
fn value_matches(value: &str, text: &str) -> bool {
    let (negate, v) = match value.strip_prefix('!') {
        Some(v) => (true, v),
        None => (false, value),
    };
    let v = v.to_lowercase();
    let t = text.to_lowercase();
    let hit = t.starts_with(&v)
        || t.split(|c: char| !c.is_alphanumeric())
            .any(|w| !w.is_empty() && w.starts_with(&v));
    hit != negate
}

impl CompanionService {
    /// The secret `id` names (name, full ARN or partial ARN); a secret whose recovery window
    /// has passed is removed here and counts as absent.
    async fn find_secret(&self, id: &str) -> R<SecretRow> {
        let row = if id.starts_with("arn:") {
            match self.store.secret_by_arn(id).await.map_err(store_err)? {
                Some(r) => Some(r),
                None => match id.split_once(":secret:") {
                    Some((_, name)) => self
                        .store
                        .secret_by_name(name)
                        .await
                        .map_err(store_err)?
                        .filter(|r| r.arn.len() == id.len() + 7 && r.arn.starts_with(id)),
                    None => None,
                },
            }
        } else {
            self.store.secret_by_name(id).await.map_err(store_err)?
        };
        let row = row.ok_or_else(not_found)?;
        if let (Some(at), Some(days)) = (row.deleted_ms, row.recovery_days)
            && at + days * DAY_MS <= now_ms()
        {
            self.store.purge_secret(&row.arn).await.map_err(store_err)?;
            return Err(not_found());
        }
        Ok(row)
    }

    async fn live_secret(&self, id: &str) -> R<SecretRow> {
        let row = self.find_secret(id).await?;
        if row.deleted_ms.is_some() {
            return Err(marked_for_deletion());
        }
        Ok(row)
    }

    /// Adds a version unless the token names an existing one: the same value is a retry (its
    /// stages are answered), another value an error.
    async fn add_version(
        &self,
        arn: &str,
        token: Option<String>,
        value: &SecretValue,
        stages: &[String],
    ) -> R<(String, Vec<String>)> {
        let version_id = token.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if let Some(existing) = self
            .store
            .secret_version(arn, Some(&version_id), None)
            .await
            .map_err(store_err)?
        {
            return if existing.value == *value {
                Ok((version_id, existing.stages))
            } else {
                Err(version_exists())
            };
        }
        let v = NewSecretVersion {
            version_id: &version_id,
            value,
            stages,
            created_ms: now_ms(),
        };
        match self.store.add_secret_version(arn, v).await {
            Ok(()) => Ok((version_id, stages.to_vec())),
            Err(StoreError::Conflict(_)) => Err(version_exists()),
            Err(e) => Err(store_err(e)),
        }
    }
}

impl SecretsManager for CompanionService {
    async fn create_secret(
        &self,
        ctx: &RequestContext,
        i: CreateSecretRequest,
    ) -> R<CreateSecretResponse> {
        check_name(&i.name)?;
        let value = request_value(i.secret_string, i.secret_binary)?;
        if let Some(existing) = self
            .store
            .secret_by_name(&i.name)
            .await
            .map_err(store_err)?
        {
            if existing.deleted_ms.is_some() {
                return Err(AwsError::new(
                    "InvalidRequestException",
                    "You can't create this secret because a secret with this name is already scheduled for deletion.",
                ));
            }
            // A retry of the same request answers what the first one did.
            if let (Some(token), Some(value)) = (&i.client_request_token, &value)
                && let Some(v) = self
                    .store
                    .secret_version(&existing.arn, Some(token), None)
                    .await
                    .map_err(store_err)?
            {
                if v.value == *value {
                    return Ok(CreateSecretResponse {
                        arn: Some(existing.arn),
                        name: Some(existing.name),
                        version_id: Some(v.version_id),
                        replication_status: None,
                    });
                }
                return Err(version_exists());
            }
            return Err(AwsError::new(
                "ResourceExistsException",
                format!(
                    "The operation failed because the secret {} already exists.",
                    i.name
                ),
            ));
        }
        let now = now_ms();
        let arn = ferry_types::arn::build(
            "secretsmanager",
            &ctx.region,
            &ctx.account_id,
            &format!("secret:{}-{}", i.name, ferry_types::ids::random_alnum(6)),
        );
        let row = SecretRow {
            arn: arn.clone(),
            name: i.name.clone(),
            description: i.description,
            kms_key_id: i.kms_key_id,
            created_ms: now,
            last_changed_ms: now,
            last_accessed_ms: None,
            deleted_ms: None,
            recovery_days: None,
        };
        let version_id = value.as_ref().map(|_| {
            i.client_request_token
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
        });
        let stages = [CURRENT.to_owned()];
        let first = match (&value, &version_id) {
            (Some(value), Some(id)) => Some(NewSecretVersion {
                version_id: id,
                value,
                stages: &stages,
                created_ms: now,
            }),
            _ => None,
        };
        match self
            .store
            .create_secret(&row, &tags_of(i.tags), first)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(AwsError::new(
                    "ResourceExistsException",
                    format!(
                        "The operation failed because the secret {} already exists.",
                        i.name
                    ),
                ));
            }
            Err(e) => return Err(store_err(e)),
        }
        Ok(CreateSecretResponse {
            arn: Some(arn),
            name: Some(i.name),
            version_id,
            replication_status: None,
        })
    }

    async fn get_secret_value(
        &self,
        _: &RequestContext,
        i: GetSecretValueRequest,
    ) -> R<GetSecretValueResponse> {
        let secret = self.live_secret(&i.secret_id).await?;
        let stage = match (&i.version_id, &i.version_stage) {
            (None, None) => Some(CURRENT),
            (_, s) => s.as_deref(),
        };
        let version: Option<SecretVersionRow> = self
            .store
            .secret_version(&secret.arn, i.version_id.as_deref(), stage)
            .await
            .map_err(store_err)?;
        let Some(version) = version else {
            return Err(AwsError::new(
                "ResourceNotFoundException",
                match (&i.version_id, stage) {
                    (Some(id), _) => format!(
                        "Secrets Manager can't find the specified secret value for VersionId: {id}"
                    ),
                    (None, s) => format!(
                        "Secrets Manager can't find the specified secret value for staging label: {}",
                        s.unwrap_or(CURRENT)
                    ),
                },
            ));
        };
        if let (Some(_), Some(s)) = (&i.version_id, &i.version_stage)
            && !version.stages.contains(s)
        {
            return Err(AwsError::new(
                "ResourceNotFoundException",
                "You provided a VersionStage that is not associated to the provided VersionId.",
            ));
        }
        self.store
            .touch_secret(&secret.arn, now_ms())
            .await
            .map_err(store_err)?;
        let (secret_string, secret_binary) = match version.value {
            SecretValue::Text(s) => (Some(s), None),
            SecretValue::Binary(b) => (None, Some(Blob(b))),
        };
        Ok(GetSecretValueResponse {
            arn: Some(secret.arn),
            name: Some(secret.name),
            version_id: Some(version.version_id),
            secret_binary,
            secret_string,
            version_stages: Some(version.stages),
            created_date: Some(ts(version.created_ms)),
        })
    }

    async fn put_secret_value(
        &self,
        _: &RequestContext,
        i: PutSecretValueRequest,
    ) -> R<PutSecretValueResponse> {
        if i.rotation_token.is_some() {
            return Err(AwsError::not_implemented(
                "secretsmanager",
                "PutSecretValue with RotationToken",
            ));
        }
        let value = request_value(i.secret_string, i.secret_binary)?.ok_or_else(|| {
            invalid_parameter("You must provide either SecretString or SecretBinary.")
        })?;
        let secret = self.live_secret(&i.secret_id).await?;
        let stages = i.version_stages.unwrap_or_else(|| vec![CURRENT.to_owned()]);
        let (version_id, stages) = self
            .add_version(&secret.arn, i.client_request_token, &value, &stages)
            .await?;
        Ok(PutSecretValueResponse {
            arn: Some(secret.arn),
            name: Some(secret.name),
            version_id: Some(version_id),
            version_stages: Some(stages),
        })
    }

    async fn update_secret(
        &self,
        _: &RequestContext,
        i: UpdateSecretRequest,
    ) -> R<UpdateSecretResponse> {
        if i.r#type.is_some() {
            return Err(AwsError::not_implemented(
                "secretsmanager",
                "UpdateSecret with Type",
            ));
        }
        let value = request_value(i.secret_string, i.secret_binary)?;
        let secret = self.live_secret(&i.secret_id).await?;
        if i.description.is_some() || i.kms_key_id.is_some() {
            self.store
                .update_secret_metadata(
                    &secret.arn,
                    i.description.as_deref(),
                    i.kms_key_id.as_deref(),
                    now_ms(),
                )
                .await
                .map_err(store_err)?;
        }
        let version_id = match value {
            Some(v) => Some(
                self.add_version(
                    &secret.arn,
                    i.client_request_token,
                    &v,
                    &[CURRENT.to_owned()],
                )
                .await?
                .0,
            ),
            None => None,
        };
        Ok(UpdateSecretResponse {
            arn: Some(secret.arn),
            name: Some(secret.name),
            version_id,
        })
    }

    async fn describe_secret(
        &self,
        _: &RequestContext,
        i: DescribeSecretRequest,
    ) -> R<DescribeSecretResponse> {
        let s = self.find_secret(&i.secret_id).await?;
        let stages = self.store.secret_stages(&s.arn).await.map_err(store_err)?;
        let tags = self.store.tags(&s.arn).await.map_err(store_err)?;
        Ok(DescribeSecretResponse {
            description: s.description,
            kms_key_id: s.kms_key_id,
            rotation_enabled: Some(false),
            last_changed_date: Some(ts(s.last_changed_ms)),
            last_accessed_date: s.last_accessed_ms.map(day),
            deleted_date: s.deleted_ms.map(ts),
            tags: Some(tag_list(tags)),
            version_ids_to_stages: Some(stages),
            created_date: Some(ts(s.created_ms)),
            arn: Some(s.arn),
            name: Some(s.name),
            ..DescribeSecretResponse::default()
        })
    }

    async fn list_secrets(
        &self,
        _: &RequestContext,
        i: ListSecretsRequest,
    ) -> R<ListSecretsResponse> {
        let now = now_ms();
        let mut rows = Vec::new();
        for s in self.store.secrets().await.map_err(store_err)? {
            if let (Some(at), Some(days)) = (s.deleted_ms, s.recovery_days)
                && at + days * DAY_MS <= now
            {
                self.store.purge_secret(&s.arn).await.map_err(store_err)?;
                continue;
            }
            if s.deleted_ms.is_some() && i.include_planned_deletion != Some(true) {
                continue;
            }
            rows.push(s);
        }
        let filters = i.filters.unwrap_or_default();
        let mut kept = Vec::new();
        for s in rows {
            let tags = self.store.tags(&s.arn).await.map_err(store_err)?;
            let keep = filters.iter().all(|f| {
                let values = f.values.clone().unwrap_or_default();
                let texts: Vec<&str> = match f.key {
                    Some(FilterNameStringType::Name) => vec![&s.name],
                    Some(FilterNameStringType::Description) => {
                        s.description.as_deref().into_iter().collect()
                    }
                    Some(FilterNameStringType::TagKey) => tags.keys().map(String::as_str).collect(),
                    Some(FilterNameStringType::TagValue) => {
                        tags.values().map(String::as_str).collect()
                    }
                    Some(FilterNameStringType::All) => std::iter::once(s.name.as_str())
                        .chain(s.description.as_deref())
                        .chain(tags.keys().map(String::as_str))
                        .chain(tags.values().map(String::as_str))
                        .collect(),
                    _ => Vec::new(),
                };
                values.iter().any(|v| {
                    if v.starts_with('!') {
                        texts.iter().all(|t| value_matches(v, t))
                    } else {
                        texts.iter().any(|t| value_matches(v, t))
                    }
                })
            });
            if keep {
                kept.push((s, tags));
            }
        }
        match i.sort_by.unwrap_or(SortByType::CreatedDate) {
            SortByType::Name => kept.sort_by(|a, b| a.0.name.cmp(&b.0.name)),
            SortByType::LastChangedDate => kept.sort_by_key(|k| k.0.last_changed_ms),
            SortByType::LastAccessedDate => kept.sort_by_key(|k| k.0.last_accessed_ms),
            SortByType::CreatedDate => kept.sort_by_key(|k| k.0.created_ms),
        }
        if i.sort_order == Some(SortOrderType::Desc) {
            kept.reverse();
        }
        let start = paging::offset(i.next_token.as_deref(), || {
            AwsError::new(
                "InvalidNextTokenException",
                "The NextToken value is invalid.",
            )
        })?;
        let (page, next_token) = paging::slice(kept, start, paging::size(i.max_results, 100));
        let mut list = Vec::with_capacity(page.len());
        for (s, tags) in page {
            let stages = self.store.secret_stages(&s.arn).await.map_err(store_err)?;
            list.push(SecretListEntry {
                description: s.description,
                kms_key_id: s.kms_key_id,
                last_changed_date: Some(ts(s.last_changed_ms)),
                last_accessed_date: s.last_accessed_ms.map(day),
                deleted_date: s.deleted_ms.map(ts),
                tags: Some(tag_list(tags)),
                secret_versions_to_stages: Some(stages),
                created_date: Some(ts(s.created_ms)),
                arn: Some(s.arn),
                name: Some(s.name),
                ..SecretListEntry::default()
            });
        }
        Ok(ListSecretsResponse {
            secret_list: Some(list),
            next_token,
        })
    }

    async fn list_secret_version_ids(
        &self,
        _: &RequestContext,
        i: ListSecretVersionIdsRequest,
    ) -> R<ListSecretVersionIdsResponse> {
        let s = self.find_secret(&i.secret_id).await?;
        let mut versions = self
            .store
            .secret_versions(&s.arn)
            .await
            .map_err(store_err)?;
        let stages = self.store.secret_stages(&s.arn).await.map_err(store_err)?;
        if i.include_deprecated != Some(true) {
            versions.retain(|(id, _)| stages.contains_key(id));
        }
        let start = paging::offset(i.next_token.as_deref(), || {
            AwsError::new(
                "InvalidNextTokenException",
                "The NextToken value is invalid.",
            )
        })?;
        let (page, next_token) = paging::slice(versions, start, paging::size(i.max_results, 100));
        Ok(ListSecretVersionIdsResponse {
            versions: Some(
                page.into_iter()
                    .map(|(id, created)| SecretVersionsListEntry {
                        version_stages: Some(stages.get(&id).cloned().unwrap_or_default()),
                        version_id: Some(id),
                        created_date: Some(ts(created)),
                        ..SecretVersionsListEntry::default()
                    })
                    .collect(),
            ),
            next_token,
            arn: Some(s.arn),
            name: Some(s.name),
        })
    }

    async fn delete_secret(
        &self,
        _: &RequestContext,
        i: DeleteSecretRequest,
    ) -> R<DeleteSecretResponse> {
        let force = i.force_delete_without_recovery == Some(true);
        if force && i.recovery_window_in_days.is_some() {
            return Err(invalid_parameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
            ));
        }
        let days = i.recovery_window_in_days.unwrap_or(30);
        if !(7..=30).contains(&days) {
            return Err(invalid_parameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
            ));
        }
        let s = self.find_secret(&i.secret_id).await?;
        let now = now_ms();
        if force {
            self.store.purge_secret(&s.arn).await.map_err(store_err)?;
            return Ok(DeleteSecretResponse {
                arn: Some(s.arn),
                name: Some(s.name),
                deletion_date: Some(ts(now)),
            });
        }
        if s.deleted_ms.is_some() {
            return Err(marked_for_deletion());
        }
        self.store
            .schedule_secret_deletion(&s.arn, Some((now, days)))
            .await
            .map_err(store_err)?;
        Ok(DeleteSecretResponse {
            arn: Some(s.arn),
            name: Some(s.name),
            deletion_date: Some(ts(now + days * DAY_MS)),
        })
    }

    async fn restore_secret(
        &self,
        _: &RequestContext,
        i: RestoreSecretRequest,
    ) -> R<RestoreSecretResponse> {
        let s = self.find_secret(&i.secret_id).await?;
        self.store
            .schedule_secret_deletion(&s.arn, None)
            .await
            .map_err(store_err)?;
        Ok(RestoreSecretResponse {
            arn: Some(s.arn),
            name: Some(s.name),
        })
    }
}
