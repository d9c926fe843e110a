//! The CodeArtifact API for domains, repositories (upstreams, external connections),
//! authorization tokens, repository endpoints, permission policies and tags. Packages and
//! versions are in `packages_api.rs` and `bulk.rs`, package groups in `groups_api.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ferry_model::codeartifact::*;
use ferry_store::StoreError;
use ferry_types::Timestamp;
use ferry_wire::{AwsError, RequestContext};

use crate::names;
use crate::records::{DomainDoc, Policy, RepositoryDoc};
use crate::service::{ArtifactService, conflict, internal, invalid, not_found, now_ms};

/// The most direct upstreams a repository may have.
const MAX_UPSTREAMS: usize = 10;
/// The most tags a resource may carry.
const MAX_TAGS: usize = 200;

/// CodeArtifact's API over the service.
pub struct ArtifactApi(pub Arc<ArtifactService>);

fn domain_missing(name: &str) -> AwsError {
    not_found(format!("Domain not found: {name}"))
}

fn repository_missing(domain: &str, name: &str) -> AwsError {
    not_found(format!("Repository not found: {name} in domain {domain}"))
}

/// Page size from `maxResults` (1–1000, default 100).
pub(crate) fn page_size(max: Option<i32>) -> Result<usize, AwsError> {
    match max {
        None => Ok(100),
        Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
        Some(n) => Err(invalid(format!(
            "maxResults {n} must be between 1 and 1000"
        ))),
    }
}

/// One page of `items` keyed by their sort keys.
pub(crate) fn page<T>(
    items: Vec<(String, T)>,
    token: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    ferry_types::page::after_key(items, token, size)
        .ok_or_else(|| invalid("The nextToken is not valid"))
}

fn tags_of(tags: Option<Vec<Tag>>) -> BTreeMap<String, String> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

impl ArtifactService {
    /// The domain `name`, checking `owner` when the caller names one.
    pub(crate) async fn domain(
        &self,
        name: &str,
        owner: Option<&str>,
    ) -> Result<DomainDoc, AwsError> {
        if owner.is_some_and(|o| o != self.settings.account_id) {
            return Err(domain_missing(name));
        }
        let doc = self
            .store
            .ca_domain(name)
            .await
            .map_err(internal)?
            .ok_or_else(|| domain_missing(name))?;
        serde_json::from_str(&doc).map_err(internal)
    }

    /// The repository `name` of `domain`.
    pub(crate) async fn repository(
        &self,
        domain: &str,
        owner: Option<&str>,
        name: &str,
    ) -> Result<RepositoryDoc, AwsError> {
        self.domain(domain, owner).await?;
        let doc = self
            .store
            .ca_repository(domain, name)
            .await
            .map_err(internal)?
            .ok_or_else(|| repository_missing(domain, name))?;
        serde_json::from_str(&doc).map_err(internal)
    }

    fn domain_arn(&self, name: &str) -> String {
        self.arn(&format!("domain/{name}"))
    }

    fn repository_arn(&self, domain: &str, name: &str) -> String {
        self.arn(&format!("repository/{domain}/{name}"))
    }

    async fn domain_view(&self, name: &str, d: &DomainDoc) -> Result<DomainDescription, AwsError> {
        let (repos, bytes) = self.store.ca_domain_usage(name).await.map_err(internal)?;
        Ok(DomainDescription {
            name: Some(name.to_owned()),
            owner: Some(d.owner.clone()),
            arn: Some(self.domain_arn(name)),
            status: Some(DomainStatus::Active),
            created_time: Some(Timestamp::from_millis(d.created_ms)),
            encryption_key: Some(d.encryption_key.clone()),
            repository_count: Some(repos as i32),
            asset_size_bytes: Some(bytes),
            s3_bucket_arn: None,
        })
    }

    fn repository_view(
        &self,
        domain: &str,
        name: &str,
        r: &RepositoryDoc,
    ) -> RepositoryDescription {
        RepositoryDescription {
            name: Some(name.to_owned()),
            administrator_account: Some(self.settings.account_id.clone()),
            domain_name: Some(domain.to_owned()),
            domain_owner: Some(self.settings.account_id.clone()),
            arn: Some(self.repository_arn(domain, name)),
            description: r.description.clone(),
            upstreams: Some(
                r.upstreams
                    .iter()
                    .map(|u| UpstreamRepositoryInfo {
                        repository_name: Some(u.clone()),
                    })
                    .collect(),
            ),
            external_connections: Some(
                r.external_connections
                    .iter()
                    .map(|c| RepositoryExternalConnectionInfo {
                        external_connection_name: Some(c.clone()),
                        package_format: names::external_format(c),
                        status: Some(ExternalConnectionStatus::Available),
                    })
                    .collect(),
            ),
            created_time: Some(Timestamp::from_millis(r.created_ms)),
        }
    }

    fn repository_summary(&self, domain: &str, name: &str, r: &RepositoryDoc) -> RepositorySummary {
        RepositorySummary {
            name: Some(name.to_owned()),
            administrator_account: Some(self.settings.account_id.clone()),
            domain_name: Some(domain.to_owned()),
            domain_owner: Some(self.settings.account_id.clone()),
            arn: Some(self.repository_arn(domain, name)),
            description: r.description.clone(),
            created_time: Some(Timestamp::from_millis(r.created_ms)),
        }
    }

    /// Checks a new upstream list for `repo` of `domain`: at most ten, each an existing
    /// repository of the domain, no repeats, and no cycle through `repo`.
    async fn check_upstreams(
        &self,
        domain: &str,
        repo: &str,
        upstreams: &[String],
    ) -> Result<(), AwsError> {
        if upstreams.len() > MAX_UPSTREAMS {
            return Err(invalid(format!(
                "A repository has at most {MAX_UPSTREAMS} upstream repositories"
            )));
        }
        let mut seen = BTreeSet::new();
        for u in upstreams {
            if !seen.insert(u) {
                return Err(invalid(format!("The upstream {u} is listed twice")));
            }
            if u == repo {
                return Err(invalid("A repository cannot be its own upstream"));
            }
        }
        let all: BTreeMap<String, RepositoryDoc> = self
            .store
            .ca_repositories(Some(domain))
            .await
            .map_err(internal)?
            .into_iter()
            .filter_map(|(_, n, d)| Some((n, serde_json::from_str(&d).ok()?)))
            .collect();
        for u in upstreams {
            if !all.contains_key(u) {
                return Err(repository_missing(domain, u));
            }
        }
        // Walk everything reachable from the new upstreams; reaching `repo` is a cycle.
        let mut stack: Vec<&String> = upstreams.iter().collect();
        let mut visited = BTreeSet::new();
        while let Some(r) = stack.pop() {
            if r == repo {
                return Err(invalid(format!(
                    "The upstreams of {repo} would form a cycle through it"
                )));
            }
            if visited.insert(r.clone())
                && let Some(d) = all.get(r)
            {
                stack.extend(d.upstreams.iter());
            }
        }
        Ok(())
    }

    async fn save_domain(&self, name: &str, d: &DomainDoc) -> Result<(), AwsError> {
        let doc = serde_json::to_string(d).map_err(internal)?;
        self.store
            .update_ca_domain(name, &doc)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => domain_missing(name),
                e => internal(e),
            })
    }

    async fn save_repository(
        &self,
        domain: &str,
        name: &str,
        r: &RepositoryDoc,
    ) -> Result<(), AwsError> {
        let doc = serde_json::to_string(r).map_err(internal)?;
        self.store
            .update_ca_repository(domain, name, &doc)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => repository_missing(domain, name),
                e => internal(e),
            })
    }

    /// The stored id tags hang on: the resource's ARN when it exists.
    async fn tagged(&self, arn: &str) -> Result<String, AwsError> {
        let prefix = self.arn("");
        let rest = arn
            .strip_prefix(&prefix)
            .ok_or_else(|| not_found(format!("Resource not found: {arn}")))?;
        let exists = match rest.split_once('/') {
            Some(("domain", d)) => self.store.ca_domain(d).await.map_err(internal)?.is_some(),
            Some(("package-group", g)) => match Self::group_of_arn(g) {
                Some((d, pattern)) => {
                    self.groups(&d).await.get(&pattern).is_some()
                        && self.store.ca_domain(&d).await.map_err(internal)?.is_some()
                }
                None => false,
            },
            Some(("repository", r)) => match r.split_once('/') {
                Some((d, n)) => self
                    .store
                    .ca_repository(d, n)
                    .await
                    .map_err(internal)?
                    .is_some(),
                None => false,
            },
            _ => false,
        };
        if !exists {
            return Err(not_found(format!("Resource not found: {arn}")));
        }
        Ok(arn.to_owned())
    }

    fn policy_view(arn: String, p: &Policy) -> ResourcePolicy {
        ResourcePolicy {
            resource_arn: Some(arn),
            revision: Some(p.revision.clone()),
            document: Some(p.document.clone()),
        }
    }
}

/// A policy replacing `current` when `revision` (if given) names it.
fn next_policy(
    current: Option<&Policy>,
    revision: Option<&str>,
    document: String,
) -> Result<Policy, AwsError> {
    if serde_json::from_str::<serde_json::Value>(&document).is_err() {
        return Err(invalid("The policy document is not JSON"));
    }
    if let Some(want) = revision
        && current.is_none_or(|c| c.revision != want)
    {
        return Err(conflict(format!(
            "The policy revision {want} is not the current one"
        )));
    }
    let revision = crate::records::revision_of([(document.as_str(), "")]);
    Ok(Policy { revision, document })
}

fn take_policy(current: Option<Policy>, revision: Option<&str>) -> Result<Policy, AwsError> {
    let p = current.ok_or_else(|| not_found("No resource policy is set"))?;
    if revision.is_some_and(|r| r != p.revision) {
        return Err(conflict("The policy revision is not the current one"));
    }
    Ok(p)
}

impl CodeArtifact for ArtifactApi {
    async fn create_domain(
        &self,
        _ctx: &RequestContext,
        input: CreateDomainRequest,
    ) -> Result<CreateDomainResult, AwsError> {
        let svc = &self.0;
        if !names::valid_domain(&input.domain) {
            return Err(invalid(format!(
                "The domain name {:?} must be 2 to 50 of a-z 0-9 -, starting with a letter",
                input.domain
            )));
        }
        let tags = tags_of(input.tags);
        if tags.len() > MAX_TAGS {
            return Err(invalid("A resource has at most 200 tags"));
        }
        let doc = DomainDoc {
            owner: svc.settings.account_id.clone(),
            encryption_key: input.encryption_key.unwrap_or_else(|| {
                format!(
                    "arn:aws:kms:{}:{}:alias/aws/codeartifact",
                    svc.settings.region, svc.settings.account_id
                )
            }),
            created_ms: now_ms(),
            policy: None,
        };
        let text = serde_json::to_string(&doc).map_err(internal)?;
        match svc
            .store
            .create_ca_domain(&input.domain, &text, doc.created_ms)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(conflict(format!("Domain already exists: {}", input.domain)));
            }
            Err(e) => return Err(internal(e)),
        }
        if !tags.is_empty() {
            svc.store
                .put_tags(&svc.domain_arn(&input.domain), &tags, MAX_TAGS)
                .await
                .map_err(internal)?;
        }
        Ok(CreateDomainResult {
            domain: Some(svc.domain_view(&input.domain, &doc).await?),
        })
    }

    async fn describe_domain(
        &self,
        _ctx: &RequestContext,
        input: DescribeDomainRequest,
    ) -> Result<DescribeDomainResult, AwsError> {
        let d = self
            .0
            .domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        Ok(DescribeDomainResult {
            domain: Some(self.0.domain_view(&input.domain, &d).await?),
        })
    }

    async fn delete_domain(
        &self,
        _ctx: &RequestContext,
        input: DeleteDomainRequest,
    ) -> Result<DeleteDomainResult, AwsError> {
        let svc = &self.0;
        let d = svc
            .domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        let mut view = svc.domain_view(&input.domain, &d).await?;
        match svc.store.delete_ca_domain(&input.domain).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(conflict(format!(
                    "Domain {} has repositories: delete them first",
                    input.domain
                )));
            }
            Err(StoreError::NotFound) => return Err(domain_missing(&input.domain)),
            Err(e) => return Err(internal(e)),
        }
        let arn = svc.domain_arn(&input.domain);
        let keys: Vec<String> = svc
            .store
            .tags(&arn)
            .await
            .map_err(internal)?
            .into_keys()
            .collect();
        svc.store.remove_tags(&arn, &keys).await.map_err(internal)?;
        view.status = Some(DomainStatus::Deleted);
        Ok(DeleteDomainResult { domain: Some(view) })
    }

    async fn list_domains(
        &self,
        _ctx: &RequestContext,
        input: ListDomainsRequest,
    ) -> Result<ListDomainsResult, AwsError> {
        let svc = &self.0;
        let size = page_size(input.max_results)?;
        let items = svc
            .store
            .ca_domains()
            .await
            .map_err(internal)?
            .into_iter()
            .filter_map(|(name, doc)| {
                let d: DomainDoc = serde_json::from_str(&doc).ok()?;
                Some((
                    name.clone(),
                    DomainSummary {
                        arn: Some(svc.domain_arn(&name)),
                        name: Some(name),
                        owner: Some(d.owner),
                        status: Some(DomainStatus::Active),
                        created_time: Some(Timestamp::from_millis(d.created_ms)),
                        encryption_key: Some(d.encryption_key),
                    },
                ))
            })
            .collect();
        let (domains, next_token) = page(items, input.next_token.as_deref(), size)?;
        Ok(ListDomainsResult {
            domains: Some(domains),
            next_token,
        })
    }

    async fn create_repository(
        &self,
        _ctx: &RequestContext,
        input: CreateRepositoryRequest,
    ) -> Result<CreateRepositoryResult, AwsError> {
        let svc = &self.0;
        svc.domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        if !names::valid_repository(&input.repository) {
            return Err(invalid(format!(
                "The repository name {:?} must be 2 to 100 of A-Z a-z 0-9 . _ -, starting with a letter or digit",
                input.repository
            )));
        }
        if input.description.as_ref().is_some_and(|d| d.len() > 1000) {
            return Err(invalid("The description is at most 1000 characters"));
        }
        let upstreams: Vec<String> = input
            .upstreams
            .unwrap_or_default()
            .into_iter()
            .map(|u| u.repository_name)
            .collect();
        svc.check_upstreams(&input.domain, &input.repository, &upstreams)
            .await?;
        let tags = tags_of(input.tags);
        if tags.len() > MAX_TAGS {
            return Err(invalid("A resource has at most 200 tags"));
        }
        let doc = RepositoryDoc {
            description: input.description,
            upstreams,
            external_connections: Vec::new(),
            created_ms: now_ms(),
            policy: None,
        };
        let text = serde_json::to_string(&doc).map_err(internal)?;
        match svc
            .store
            .create_ca_repository(&input.domain, &input.repository, &text, doc.created_ms)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(conflict(format!(
                    "Repository already exists: {}",
                    input.repository
                )));
            }
            Err(e) => return Err(internal(e)),
        }
        if !tags.is_empty() {
            svc.store
                .put_tags(
                    &svc.repository_arn(&input.domain, &input.repository),
                    &tags,
                    MAX_TAGS,
                )
                .await
                .map_err(internal)?;
        }
        Ok(CreateRepositoryResult {
            repository: Some(svc.repository_view(&input.domain, &input.repository, &doc)),
        })
    }

    async fn describe_repository(
        &self,
        _ctx: &RequestContext,
        input: DescribeRepositoryRequest,
    ) -> Result<DescribeRepositoryResult, AwsError> {
        let r = self
            .0
            .repository(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.repository,
            )
            .await?;
        Ok(DescribeRepositoryResult {
            repository: Some(self.0.repository_view(&input.domain, &input.repository, &r)),
        })
    }

    async fn update_repository(
        &self,
        _ctx: &RequestContext,
        input: UpdateRepositoryRequest,
    ) -> Result<UpdateRepositoryResult, AwsError> {
        let svc = &self.0;
        let mut r = svc
            .repository(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.repository,
            )
            .await?;
        if let Some(d) = input.description {
            if d.len() > 1000 {
                return Err(invalid("The description is at most 1000 characters"));
            }
            r.description = Some(d);
        }
        if let Some(ups) = input.upstreams {
            let ups: Vec<String> = ups.into_iter().map(|u| u.repository_name).collect();
            svc.check_upstreams(&input.domain, &input.repository, &ups)
                .await?;
            r.upstreams = ups;
        }
        svc.save_repository(&input.domain, &input.repository, &r)
            .await?;
        Ok(UpdateRepositoryResult {
            repository: Some(svc.repository_view(&input.domain, &input.repository, &r)),
        })
    }

    async fn delete_repository(
        &self,
        _ctx: &RequestContext,
        input: DeleteRepositoryRequest,
    ) -> Result<DeleteRepositoryResult, AwsError> {
        let svc = &self.0;
        let r = svc
            .repository(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.repository,
            )
            .await?;
        let users: Vec<String> = svc
            .store
            .ca_repositories(Some(&input.domain))
            .await
            .map_err(internal)?
            .into_iter()
            .filter(|(_, _, d)| {
                serde_json::from_str::<RepositoryDoc>(d)
                    .is_ok_and(|d| d.upstreams.contains(&input.repository))
            })
            .map(|(_, n, _)| n)
            .collect();
        if !users.is_empty() {
            return Err(conflict(format!(
                "Repository {} is an upstream of {}",
                input.repository,
                users.join(", ")
            )));
        }
        let gone = svc
            .store
            .delete_ca_repository(&input.domain, &input.repository)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => repository_missing(&input.domain, &input.repository),
                e => internal(e),
            })?;
        svc.drop_contents(&gone).await;
        let arn = svc.repository_arn(&input.domain, &input.repository);
        let keys: Vec<String> = svc
            .store
            .tags(&arn)
            .await
            .map_err(internal)?
            .into_keys()
            .collect();
        svc.store.remove_tags(&arn, &keys).await.map_err(internal)?;
        Ok(DeleteRepositoryResult {
            repository: Some(svc.repository_view(&input.domain, &input.repository, &r)),
        })
    }

    async fn list_repositories(
        &self,
        _ctx: &RequestContext,
        input: ListRepositoriesRequest,
    ) -> Result<ListRepositoriesResult, AwsError> {
        let (repositories, next_token) = self
            .0
            .list_repositories(
                None,
                input.repository_prefix.as_deref(),
                input.max_results,
                input.next_token.as_deref(),
            )
            .await?;
        Ok(ListRepositoriesResult {
            repositories: Some(repositories),
            next_token,
        })
    }

    async fn list_repositories_in_domain(
        &self,
        _ctx: &RequestContext,
        input: ListRepositoriesInDomainRequest,
    ) -> Result<ListRepositoriesInDomainResult, AwsError> {
        self.0
            .domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        let admin_ok = input
            .administrator_account
            .as_ref()
            .is_none_or(|a| *a == self.0.settings.account_id);
        let (repositories, next_token) = if admin_ok {
            self.0
                .list_repositories(
                    Some(&input.domain),
                    input.repository_prefix.as_deref(),
                    input.max_results,
                    input.next_token.as_deref(),
                )
                .await?
        } else {
            (Vec::new(), None)
        };
        Ok(ListRepositoriesInDomainResult {
            repositories: Some(repositories),
            next_token,
        })
    }

    async fn associate_external_connection(
        &self,
        _ctx: &RequestContext,
        input: AssociateExternalConnectionRequest,
    ) -> Result<AssociateExternalConnectionResult, AwsError> {
        let svc = &self.0;
        let mut r = svc
            .repository(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.repository,
            )
            .await?;
        if names::external_format(&input.external_connection).is_none() {
            return Err(invalid(format!(
                "Unknown external connection: {}",
                input.external_connection
            )));
        }
        if !r.external_connections.is_empty() {
            return Err(invalid(
                "ExternalConnections for repositories are currently limited to 1",
            ));
        }
        r.external_connections.push(input.external_connection);
        svc.save_repository(&input.domain, &input.repository, &r)
            .await?;
        Ok(AssociateExternalConnectionResult {
            repository: Some(svc.repository_view(&input.domain, &input.repository, &r)),
        })
    }

    async fn disassociate_external_connection(
        &self,
        _ctx: &RequestContext,
        input: DisassociateExternalConnectionRequest,
    ) -> Result<DisassociateExternalConnectionResult, AwsError> {
        let svc = &self.0;
        let mut r = svc
            .repository(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.repository,
            )
            .await?;
        let before = r.external_connections.len();
        r.external_connections
            .retain(|c| *c != input.external_connection);
        if r.external_connections.len() == before {
            return Err(not_found(format!(
                "Repository {} has no external connection {}",
                input.repository, input.external_connection
            )));
        }
        svc.save_repository(&input.domain, &input.repository, &r)
            .await?;
        Ok(DisassociateExternalConnectionResult {
            repository: Some(svc.repository_view(&input.domain, &input.repository, &r)),
        })
    }

    async fn get_authorization_token(
        &self,
        ctx: &RequestContext,
        input: GetAuthorizationTokenRequest,
    ) -> Result<GetAuthorizationTokenResult, AwsError> {
        self.0
            .domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        let (token, expires_ms) = self
            .0
            .mint_token(ctx, &input.domain, input.duration_seconds)
            .await?;
        Ok(GetAuthorizationTokenResult {
            authorization_token: Some(token),
            expiration: Some(Timestamp::from_millis(expires_ms)),
        })
    }

    async fn get_repository_endpoint(
        &self,
        _ctx: &RequestContext,
        input: GetRepositoryEndpointRequest,
    ) -> Result<GetRepositoryEndpointResult, AwsError> {
        self.0
            .repository(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.repository,
            )
            .await?;
        Ok(GetRepositoryEndpointResult {
            repository_endpoint: Some(self.0.endpoint(
                &input.domain,
                input.format,
                &input.repository,
            )),
        })
    }

    async fn put_domain_permissions_policy(
        &self,
        _ctx: &RequestContext,
        input: PutDomainPermissionsPolicyRequest,
    ) -> Result<PutDomainPermissionsPolicyResult, AwsError> {
        let svc = &self.0;
        let mut d = svc
            .domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        let p = next_policy(
            d.policy.as_ref(),
            input.policy_revision.as_deref(),
            input.policy_document,
        )?;
        d.policy = Some(p.clone());
        svc.save_domain(&input.domain, &d).await?;
        Ok(PutDomainPermissionsPolicyResult {
            policy: Some(ArtifactService::policy_view(
                svc.domain_arn(&input.domain),
                &p,
            )),
        })
    }

    async fn get_domain_permissions_policy(
        &self,
        _ctx: &RequestContext,
        input: GetDomainPermissionsPolicyRequest,
    ) -> Result<GetDomainPermissionsPolicyResult, AwsError> {
        let svc = &self.0;
        let d = svc
            .domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        let p = take_policy(d.policy, None)?;
        Ok(GetDomainPermissionsPolicyResult {
            policy: Some(ArtifactService::policy_view(
                svc.domain_arn(&input.domain),
                &p,
            )),
        })
    }

    async fn delete_domain_permissions_policy(
        &self,
        _ctx: &RequestContext,
        input: DeleteDomainPermissionsPolicyRequest,
    ) -> Result<DeleteDomainPermissionsPolicyResult, AwsError> {
        let svc = &self.0;
        let mut d = svc
            .domain(&input.domain, input.domain_owner.as_deref())
            .await?;
        let p = take_policy(d.policy.take(), input.policy_revision.as_deref())?;
        svc.save_domain(&input.domain, &d).await?;
        Ok(DeleteDomainPermissionsPolicyResult {
            policy: Some(ArtifactService::policy_view(
                svc.domain_arn(&input.domain),
                &p,
            )),
        })
    }

    async fn put_repository_permissions_policy(
        &self,
        _ctx: &RequestContext,
        input: PutRepositoryPermissionsPolicyRequest,
    ) -> Result<PutRepositoryPermissionsPolicyResult, AwsError> {
        let svc = &self.0;
        let mut r = svc
            .repository(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.repository,
            )
            .await?;
        let p = next_policy(
            r.policy.as_ref(),
            input.policy_revision.as_deref(),
            input.policy_document,
        )?;
        r.policy = Some(p.clone());
        svc.save_repository(&input.domain, &input.repository, &r)
            .await?;
        Ok(PutRepositoryPermissionsPolicyResult {
            policy: Some(ArtifactService::policy_view(
                svc.repository_arn(&input.domain, &input.repository),
                &p,
            )),
        })
    }

    async fn get_repository_permissions_policy(
        &self,
        _ctx: &RequestContext,
        input: GetRepositoryPermissionsPolicyRequest,
    ) -> Result<GetRepositoryPermissionsPolicyResult, AwsError> {
        let svc = &self.0;
        let r = svc
            .repository(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.repository,
            )
            .await?;
        let p = take_policy(r.policy, None)?;
        Ok(GetRepositoryPermissionsPolicyResult {
            policy: Some(ArtifactService::policy_view(
                svc.repository_arn(&input.domain, &input.repository),
                &p,
            )),
        })
    }

    async fn delete_repository_permissions_policy(
        &self,
        _ctx: &RequestContext,
        input: DeleteRepositoryPermissionsPolicyRequest,
    ) -> Result<DeleteRepositoryPermissionsPolicyResult, AwsError> {
        let svc = &self.0;
        let mut r = svc
            .repository(
                &input.domain,
                input.domain_owner.as_deref(),
                &input.repository,
            )
            .await?;
        let p = take_policy(r.policy.take(), input.policy_revision.as_deref())?;
        svc.save_repository(&input.domain, &input.repository, &r)
            .await?;
        Ok(DeleteRepositoryPermissionsPolicyResult {
            policy: Some(ArtifactService::policy_view(
                svc.repository_arn(&input.domain, &input.repository),
                &p,
            )),
        })
    }

    async fn list_tags_for_resource(
        &self,
        _ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResult, AwsError> {
        let id = self.0.tagged(&input.resource_arn).await?;
        let tags = self.0.store.tags(&id).await.map_err(internal)?;
        Ok(ListTagsForResourceResult {
            tags: Some(
                tags.into_iter()
                    .map(|(key, value)| Tag { key, value })
                    .collect(),
            ),
        })
    }

    async fn tag_resource(
        &self,
        _ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResult, AwsError> {
        let id = self.0.tagged(&input.resource_arn).await?;
        let tags = tags_of(Some(input.tags));
        self.0
            .store
            .put_tags(&id, &tags, MAX_TAGS)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => AwsError::new(
                    "ServiceQuotaExceededException",
                    "A resource has at most 200 tags",
                ),
                e => internal(e),
            })?;
        Ok(TagResourceResult::default())
    }

    async fn untag_resource(
        &self,
        _ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResult, AwsError> {
        let id = self.0.tagged(&input.resource_arn).await?;
        self.0
            .store
            .remove_tags(&id, &input.tag_keys)
            .await
            .map_err(internal)?;
        Ok(UntagResourceResult::default())
    }

    async fn create_package_group(
        &self,
        _ctx: &RequestContext,
        input: CreatePackageGroupRequest,
    ) -> Result<CreatePackageGroupResult, AwsError> {
        self.0.create_package_group(input).await
    }

    async fn describe_package_group(
        &self,
        _ctx: &RequestContext,
        input: DescribePackageGroupRequest,
    ) -> Result<DescribePackageGroupResult, AwsError> {
        self.0.describe_package_group(input).await
    }

    async fn update_package_group(
        &self,
        _ctx: &RequestContext,
        input: UpdatePackageGroupRequest,
    ) -> Result<UpdatePackageGroupResult, AwsError> {
        self.0.update_package_group(input).await
    }

    async fn delete_package_group(
        &self,
        _ctx: &RequestContext,
        input: DeletePackageGroupRequest,
    ) -> Result<DeletePackageGroupResult, AwsError> {
        self.0.delete_package_group(input).await
    }

    async fn list_package_groups(
        &self,
        _ctx: &RequestContext,
        input: ListPackageGroupsRequest,
    ) -> Result<ListPackageGroupsResult, AwsError> {
        self.0.list_package_groups(input).await
    }

    async fn list_sub_package_groups(
        &self,
        _ctx: &RequestContext,
        input: ListSubPackageGroupsRequest,
    ) -> Result<ListSubPackageGroupsResult, AwsError> {
        self.0.list_sub_package_groups(input).await
    }

    async fn update_package_group_origin_configuration(
        &self,
        _ctx: &RequestContext,
        input: UpdatePackageGroupOriginConfigurationRequest,
    ) -> Result<UpdatePackageGroupOriginConfigurationResult, AwsError> {
        self.0
            .update_package_group_origin_configuration(input)
            .await
    }

    async fn list_allowed_repositories_for_group(
        &self,
        _ctx: &RequestContext,
        input: ListAllowedRepositoriesForGroupRequest,
    ) -> Result<ListAllowedRepositoriesForGroupResult, AwsError> {
        self.0.list_allowed_repositories_for_group(input).await
    }

    async fn get_associated_package_group(
        &self,
        _ctx: &RequestContext,
        input: GetAssociatedPackageGroupRequest,
    ) -> Result<GetAssociatedPackageGroupResult, AwsError> {
        self.0.get_associated_package_group(input).await
    }

    async fn list_associated_packages(
        &self,
        _ctx: &RequestContext,
        input: ListAssociatedPackagesRequest,
    ) -> Result<ListAssociatedPackagesResult, AwsError> {
        self.0.list_associated_packages(input).await
    }

    async fn publish_package_version(
        &self,
        ctx: &RequestContext,
        input: PublishPackageVersionRequest,
    ) -> Result<PublishPackageVersionResult, AwsError> {
        self.0.publish_generic(ctx, input).await
    }

    async fn get_package_version_asset(
        &self,
        _ctx: &RequestContext,
        input: GetPackageVersionAssetRequest,
    ) -> Result<GetPackageVersionAssetResult, AwsError> {
        self.0.get_asset(input).await
    }

    async fn list_packages(
        &self,
        _ctx: &RequestContext,
        input: ListPackagesRequest,
    ) -> Result<ListPackagesResult, AwsError> {
        self.0.list_packages(input).await
    }

    async fn describe_package(
        &self,
        _ctx: &RequestContext,
        input: DescribePackageRequest,
    ) -> Result<DescribePackageResult, AwsError> {
        self.0.describe_package(input).await
    }

    async fn delete_package(
        &self,
        _ctx: &RequestContext,
        input: DeletePackageRequest,
    ) -> Result<DeletePackageResult, AwsError> {
        self.0.delete_package(input).await
    }

    async fn put_package_origin_configuration(
        &self,
        _ctx: &RequestContext,
        input: PutPackageOriginConfigurationRequest,
    ) -> Result<PutPackageOriginConfigurationResult, AwsError> {
        self.0.put_origin_configuration(input).await
    }

    async fn list_package_versions(
        &self,
        _ctx: &RequestContext,
        input: ListPackageVersionsRequest,
    ) -> Result<ListPackageVersionsResult, AwsError> {
        self.0.list_versions(input).await
    }

    async fn describe_package_version(
        &self,
        _ctx: &RequestContext,
        input: DescribePackageVersionRequest,
    ) -> Result<DescribePackageVersionResult, AwsError> {
        self.0.describe_version(input).await
    }

    async fn list_package_version_assets(
        &self,
        _ctx: &RequestContext,
        input: ListPackageVersionAssetsRequest,
    ) -> Result<ListPackageVersionAssetsResult, AwsError> {
        self.0.list_assets(input).await
    }

    async fn get_package_version_readme(
        &self,
        _ctx: &RequestContext,
        input: GetPackageVersionReadmeRequest,
    ) -> Result<GetPackageVersionReadmeResult, AwsError> {
        self.0.readme(input).await
    }

    async fn list_package_version_dependencies(
        &self,
        _ctx: &RequestContext,
        input: ListPackageVersionDependenciesRequest,
    ) -> Result<ListPackageVersionDependenciesResult, AwsError> {
        self.0.dependencies(input).await
    }

    async fn update_package_versions_status(
        &self,
        _ctx: &RequestContext,
        input: UpdatePackageVersionsStatusRequest,
    ) -> Result<UpdatePackageVersionsStatusResult, AwsError> {
        self.0.update_status(input).await
    }

    async fn delete_package_versions(
        &self,
        _ctx: &RequestContext,
        input: DeletePackageVersionsRequest,
    ) -> Result<DeletePackageVersionsResult, AwsError> {
        self.0.delete_versions(input).await
    }

    async fn dispose_package_versions(
        &self,
        _ctx: &RequestContext,
        input: DisposePackageVersionsRequest,
    ) -> Result<DisposePackageVersionsResult, AwsError> {
        self.0.dispose_versions(input).await
    }

    async fn copy_package_versions(
        &self,
        _ctx: &RequestContext,
        input: CopyPackageVersionsRequest,
    ) -> Result<CopyPackageVersionsResult, AwsError> {
        self.0.copy_versions(input).await
    }
}

impl ArtifactService {
    /// The native endpoint of `repository` for `format`, ending in `/`.
    pub fn endpoint(&self, domain: &str, format: PackageFormat, repository: &str) -> String {
        format!(
            "{}/codeartifact/{domain}-{}/{}/{repository}/",
            self.settings.public_url,
            self.settings.account_id,
            format.as_str()
        )
    }

    async fn list_repositories(
        &self,
        domain: Option<&str>,
        prefix: Option<&str>,
        max: Option<i32>,
        token: Option<&str>,
    ) -> Result<(Vec<RepositorySummary>, Option<String>), AwsError> {
        let size = page_size(max)?;
        let items = self
            .store
            .ca_repositories(domain)
            .await
            .map_err(internal)?
            .into_iter()
            .filter(|(_, n, _)| prefix.is_none_or(|p| n.starts_with(p)))
            .filter_map(|(d, n, doc)| {
                let r: RepositoryDoc = serde_json::from_str(&doc).ok()?;
                Some((format!("{d}/{n}"), self.repository_summary(&d, &n, &r)))
            })
            .collect();
        page(items, token, size)
    }
}
