//! The package group operations: Create/Describe/Update/Delete, ListPackageGroups (with a
//! pattern prefix), ListSubPackageGroups (direct children), UpdatePackageGroupOriginConfiguration
//! (modes and allowed repositories), ListAllowedRepositoriesForGroup,
//! GetAssociatedPackageGroup and ListAssociatedPackages (with `preview` for a pattern that is
//! not a group yet). How groups apply is in `groups.rs`.

use std::collections::{BTreeMap, BTreeSet};

use ferry_model::codeartifact::*;
use ferry_store::StoreError;
use ferry_types::Timestamp;
use ferry_wire::AwsError;

use crate::api::{page, page_size};
use crate::group_pattern::{Pattern, arn_decode, arn_encode};
use crate::groups::{ALLOW_SPECIFIC, Group, GroupDoc, Groups, INHERIT, TYPES};
use crate::names;
use crate::service::{ArtifactService, conflict, internal, invalid, not_found, now_ms};

/// The most tags a group may carry.
const MAX_TAGS: usize = 200;

fn group_missing(pattern: &str) -> AwsError {
    not_found(format!("Package group not found: {pattern}"))
}

fn parse(pattern: &str) -> Result<Pattern, AwsError> {
    Pattern::parse(pattern)
        .map_err(|why| invalid(format!("Invalid package group {pattern:?}: {why}")))
}

/// Contact information and descriptions: at most 1,000 characters, no control characters.
fn check_text(field: &str, value: Option<&str>) -> Result<(), AwsError> {
    match value {
        Some(v) if v.chars().count() > 1000 || v.chars().any(char::is_control) => Err(invalid(
            format!("{field} has at most 1000 characters and no control characters"),
        )),
        _ => Ok(()),
    }
}

impl ArtifactService {
    pub(crate) fn group_arn(&self, domain: &str, pattern: &str) -> String {
        self.arn(&format!("package-group/{domain}{}", arn_encode(pattern)))
    }

    /// The domain and pattern a package group ARN names.
    pub(crate) fn group_of_arn(resource: &str) -> Option<(String, String)> {
        let (domain, encoded) = resource.split_once('/')?;
        Some((domain.to_owned(), format!("/{}", arn_decode(encoded))))
    }

    fn group_ref(&self, domain: &str, g: &Group) -> PackageGroupReference {
        PackageGroupReference {
            arn: Some(self.group_arn(domain, &g.text)),
            pattern: Some(g.text.clone()),
        }
    }

    fn group_view(
        &self,
        domain: &str,
        owner: &str,
        groups: &Groups,
        g: &Group,
    ) -> PackageGroupDescription {
        let restrictions = TYPES
            .iter()
            .map(|ty| {
                let e = groups.effective(g, ty);
                let mode = g.doc.mode(ty);
                (
                    (*ty).to_owned(),
                    PackageGroupOriginRestriction {
                        mode: PackageGroupOriginRestrictionMode::parse(mode),
                        effective_mode: PackageGroupOriginRestrictionMode::parse(e.mode),
                        inherited_from: (mode == INHERIT && e.from.text != g.text)
                            .then(|| self.group_ref(domain, e.from)),
                        repositories_count: Some(
                            g.doc.allowed.get(*ty).map_or(0, |r| r.len() as i64),
                        ),
                    },
                )
            })
            .collect();
        PackageGroupDescription {
            arn: Some(self.group_arn(domain, &g.text)),
            pattern: Some(g.text.clone()),
            domain_name: Some(domain.to_owned()),
            domain_owner: Some(owner.to_owned()),
            created_time: Some(Timestamp::from_millis(g.created_ms)),
            contact_info: g.doc.contact_info.clone(),
            description: g.doc.description.clone(),
            origin_configuration: Some(PackageGroupOriginConfiguration {
                restrictions: Some(restrictions),
            }),
            parent: groups.parent(&g.pattern).map(|p| self.group_ref(domain, p)),
        }
    }

    fn group_summary(
        &self,
        domain: &str,
        owner: &str,
        groups: &Groups,
        g: &Group,
    ) -> PackageGroupSummary {
        let v = self.group_view(domain, owner, groups, g);
        PackageGroupSummary {
            arn: v.arn,
            pattern: v.pattern,
            domain_name: v.domain_name,
            domain_owner: v.domain_owner,
            created_time: v.created_time,
            contact_info: v.contact_info,
            description: v.description,
            origin_configuration: v.origin_configuration,
            parent: v.parent,
        }
    }

    /// The domain's owner and groups, and group `pattern` of them.
    async fn group_in(
        &self,
        domain: &str,
        owner: Option<&str>,
        pattern: &str,
    ) -> Result<(String, std::sync::Arc<Groups>, Group), AwsError> {
        let d = self.domain(domain, owner).await?;
        let groups = self.groups(domain).await;
        let g = groups
            .get(pattern)
            .cloned()
            .ok_or_else(|| group_missing(pattern))?;
        Ok((d.owner, groups, g))
    }

    async fn save_group(&self, domain: &str, g: &Group) -> Result<(), AwsError> {
        let doc = serde_json::to_string(&g.doc).map_err(internal)?;
        self.store
            .put_ca_group(domain, &g.text, &doc, g.created_ms)
            .await
            .map_err(internal)
    }

    pub(crate) async fn create_package_group(
        &self,
        input: CreatePackageGroupRequest,
    ) -> Result<CreatePackageGroupResult, AwsError> {
        let d = self
            .domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        let pattern = parse(&input.package_group)?;
        check_text("contactInfo", input.contact_info.as_deref())?;
        check_text("description", input.description.as_deref())?;
        let tags: BTreeMap<String, String> = input
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect();
        if tags.len() > MAX_TAGS {
            return Err(invalid("A package group has at most 200 tags"));
        }
        let text = pattern.text();
        let exists = || conflict(format!("Package group {text} already exists"));
        if pattern == Pattern::All {
            return Err(exists());
        }
        let doc = GroupDoc {
            contact_info: input.contact_info,
            description: input.description,
            ..GroupDoc::new_group()
        };
        let body = serde_json::to_string(&doc).map_err(internal)?;
        match self
            .store
            .create_ca_group(&input.domain, &text, &body, now_ms())
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(exists()),
            Err(e) => return Err(internal(e)),
        }
        let arn = self.group_arn(&input.domain, &text);
        if !tags.is_empty() {
            self.store
                .put_tags(&arn, &tags, MAX_TAGS)
                .await
                .map_err(internal)?;
        }
        let groups = self.groups(&input.domain).await;
        let g = groups.get(&text).ok_or_else(|| group_missing(&text))?;
        Ok(CreatePackageGroupResult {
            package_group: Some(self.group_view(&input.domain, &d.owner, &groups, g)),
        })
    }

    pub(crate) async fn describe_package_group(
        &self,
        input: DescribePackageGroupRequest,
    ) -> Result<DescribePackageGroupResult, AwsError> {
        let (owner, groups, g) = self
            .group_in(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.package_group,
            )
            .await?;
        Ok(DescribePackageGroupResult {
            package_group: Some(self.group_view(&input.domain, &owner, &groups, &g)),
        })
    }

    pub(crate) async fn update_package_group(
        &self,
        input: UpdatePackageGroupRequest,
    ) -> Result<UpdatePackageGroupResult, AwsError> {
        check_text("contactInfo", input.contact_info.as_deref())?;
        check_text("description", input.description.as_deref())?;
        let (owner, _, mut g) = self
            .group_in(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.package_group,
            )
            .await?;
        if input.contact_info.is_some() {
            g.doc.contact_info = input.contact_info;
        }
        if input.description.is_some() {
            g.doc.description = input.description;
        }
        self.save_group(&input.domain, &g).await?;
        let groups = self.groups(&input.domain).await;
        Ok(UpdatePackageGroupResult {
            package_group: Some(self.group_view(&input.domain, &owner, &groups, &g)),
        })
    }

    pub(crate) async fn delete_package_group(
        &self,
        input: DeletePackageGroupRequest,
    ) -> Result<DeletePackageGroupResult, AwsError> {
        let (owner, groups, g) = self
            .group_in(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.package_group,
            )
            .await?;
        if g.pattern == Pattern::All {
            return Err(invalid("The root package group /* cannot be deleted"));
        }
        let view = self.group_view(&input.domain, &owner, &groups, &g);
        match self.store.delete_ca_group(&input.domain, &g.text).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(group_missing(&g.text)),
            Err(e) => return Err(internal(e)),
        }
        let arn = self.group_arn(&input.domain, &g.text);
        let keys: Vec<String> = self
            .store
            .tags(&arn)
            .await
            .map_err(internal)?
            .into_keys()
            .collect();
        self.store
            .remove_tags(&arn, &keys)
            .await
            .map_err(internal)?;
        Ok(DeletePackageGroupResult {
            package_group: Some(view),
        })
    }

    pub(crate) async fn list_package_groups(
        &self,
        input: ListPackageGroupsRequest,
    ) -> Result<ListPackageGroupsResult, AwsError> {
        let size = page_size(input.max_results)?;
        let d = self
            .domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        let groups = self.groups(&input.domain).await;
        let prefix = input.prefix.unwrap_or_default();
        let items = groups
            .all()
            .iter()
            .filter(|g| g.text.starts_with(&prefix))
            .map(|g| {
                (
                    g.text.clone(),
                    self.group_summary(&input.domain, &d.owner, &groups, g),
                )
            })
            .collect();
        let (package_groups, next_token) = page(items, input.next_token.as_deref(), size)?;
        Ok(ListPackageGroupsResult {
            package_groups: Some(package_groups),
            next_token,
        })
    }

    pub(crate) async fn list_sub_package_groups(
        &self,
        input: ListSubPackageGroupsRequest,
    ) -> Result<ListSubPackageGroupsResult, AwsError> {
        let size = page_size(input.max_results)?;
        let (owner, groups, g) = self
            .group_in(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.package_group,
            )
            .await?;
        let items = groups
            .children(&g.pattern)
            .into_iter()
            .map(|c| {
                (
                    c.text.clone(),
                    self.group_summary(&input.domain, &owner, &groups, c),
                )
            })
            .collect();
        let (package_groups, next_token) = page(items, input.next_token.as_deref(), size)?;
        Ok(ListSubPackageGroupsResult {
            package_groups: Some(package_groups),
            next_token,
        })
    }

    pub(crate) async fn update_package_group_origin_configuration(
        &self,
        input: UpdatePackageGroupOriginConfigurationRequest,
    ) -> Result<UpdatePackageGroupOriginConfigurationResult, AwsError> {
        let (owner, _, mut g) = self
            .group_in(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.package_group,
            )
            .await?;
        for (ty, mode) in input.restrictions.unwrap_or_default() {
            if PackageGroupOriginRestrictionType::parse(&ty).is_none() {
                return Err(invalid(format!("{ty:?} is not an origin restriction type")));
            }
            let mode = mode.as_str();
            if mode == INHERIT && g.pattern == Pattern::All {
                return Err(invalid(
                    "The root package group /* has no parent to inherit from",
                ));
            }
            if mode != ALLOW_SPECIFIC {
                g.doc.allowed.remove(&ty);
            }
            g.doc.restrictions.insert(ty, mode.to_owned());
        }
        let mut updates: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        let changes = [
            (input.add_allowed_repositories, true),
            (input.remove_allowed_repositories, false),
        ];
        for (list, add) in changes {
            for r in list.unwrap_or_default() {
                let (Some(repo), Some(ty)) = (r.repository_name, r.origin_restriction_type) else {
                    return Err(invalid(
                        "An allowed repository names its repositoryName and originRestrictionType",
                    ));
                };
                let ty = ty.as_str();
                if add {
                    if g.doc.mode(ty) != ALLOW_SPECIFIC {
                        return Err(invalid(format!(
                            "Repositories are allowed for {ty} only while its mode is {ALLOW_SPECIFIC}"
                        )));
                    }
                    self.repository(&input.domain, None, &repo).await?;
                    g.doc
                        .allowed
                        .entry(ty.to_owned())
                        .or_default()
                        .insert(repo.clone());
                } else if let Some(set) = g.doc.allowed.get_mut(ty) {
                    set.remove(&repo);
                    if set.is_empty() {
                        g.doc.allowed.remove(ty);
                    }
                }
                let kind = if add { "ADDED" } else { "REMOVED" };
                updates
                    .entry(ty.to_owned())
                    .or_default()
                    .entry(kind.to_owned())
                    .or_default()
                    .insert(repo);
            }
        }
        self.save_group(&input.domain, &g).await?;
        let groups = self.groups(&input.domain).await;
        Ok(UpdatePackageGroupOriginConfigurationResult {
            package_group: Some(self.group_view(&input.domain, &owner, &groups, &g)),
            allowed_repository_updates: Some(
                updates
                    .into_iter()
                    .map(|(ty, kinds)| {
                        (
                            ty,
                            kinds
                                .into_iter()
                                .map(|(k, repos)| (k, repos.into_iter().collect()))
                                .collect(),
                        )
                    })
                    .collect(),
            ),
        })
    }

    pub(crate) async fn list_allowed_repositories_for_group(
        &self,
        input: ListAllowedRepositoriesForGroupRequest,
    ) -> Result<ListAllowedRepositoriesForGroupResult, AwsError> {
        let size = page_size(input.max_results)?;
        let (_, _, g) = self
            .group_in(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.package_group,
            )
            .await?;
        let items = g
            .doc
            .allowed
            .get(input.origin_restriction_type.as_str())
            .into_iter()
            .flatten()
            .map(|r| (r.clone(), r.clone()))
            .collect();
        let (allowed_repositories, next_token) = page(items, input.next_token.as_deref(), size)?;
        Ok(ListAllowedRepositoriesForGroupResult {
            allowed_repositories: Some(allowed_repositories),
            next_token,
        })
    }

    pub(crate) async fn get_associated_package_group(
        &self,
        input: GetAssociatedPackageGroupRequest,
    ) -> Result<GetAssociatedPackageGroupResult, AwsError> {
        let d = self
            .domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        if input.namespace.is_none() && names::namespace_rule(input.format) == Some(true) {
            return Err(invalid(format!(
                "{} packages are named with their namespace",
                input.format
            )));
        }
        let groups = self.groups(&input.domain).await;
        let name = names::normalise(input.format, &input.package);
        let (g, strong) = groups.associated(
            input.format.as_str(),
            input.namespace.as_deref().unwrap_or(""),
            &name,
            None,
        );
        Ok(GetAssociatedPackageGroupResult {
            package_group: Some(self.group_view(&input.domain, &d.owner, &groups, g)),
            association_type: Some(if strong {
                PackageGroupAssociationType::Strong
            } else {
                PackageGroupAssociationType::Weak
            }),
        })
    }

    pub(crate) async fn list_associated_packages(
        &self,
        input: ListAssociatedPackagesRequest,
    ) -> Result<ListAssociatedPackagesResult, AwsError> {
        let size = page_size(input.max_results)?;
        self.domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        let groups = self.groups(&input.domain).await;
        let preview = input.preview.unwrap_or(false);
        let extra = if preview && groups.get(&input.package_group).is_none() {
            let pattern = parse(&input.package_group)?;
            Some(Group {
                text: pattern.text(),
                pattern,
                doc: GroupDoc::new_group(),
                created_ms: 0,
            })
        } else {
            None
        };
        let target = match &extra {
            Some(g) => g.text.clone(),
            None => groups
                .get(&input.package_group)
                .ok_or_else(|| group_missing(&input.package_group))?
                .text
                .clone(),
        };
        let mut seen = BTreeMap::new();
        let repos = self
            .store
            .ca_repositories(Some(&input.domain))
            .await
            .map_err(internal)?;
        for (_, repo, _) in repos {
            let packages = self
                .store
                .ca_packages(&input.domain, &repo)
                .await
                .map_err(internal)?;
            for (k, _) in packages {
                let sort = format!("{}\u{0}{}\u{0}{}", k.format, k.namespace, k.name);
                if seen.contains_key(&sort) {
                    continue;
                }
                let (g, strong) =
                    groups.associated(&k.format, &k.namespace, &k.name, extra.as_ref());
                if g.text != target {
                    continue;
                }
                seen.insert(
                    sort,
                    AssociatedPackage {
                        format: PackageFormat::parse(&k.format),
                        namespace: (!k.namespace.is_empty()).then(|| k.namespace.clone()),
                        package: Some(k.name.clone()),
                        association_type: Some(if strong {
                            PackageGroupAssociationType::Strong
                        } else {
                            PackageGroupAssociationType::Weak
                        }),
                    },
                );
            }
        }
        let (packages, next_token) = page(
            seen.into_iter().collect(),
            input.next_token.as_deref(),
            size,
        )?;
        Ok(ListAssociatedPackagesResult {
            packages: Some(packages),
            next_token,
        })
    }
}
