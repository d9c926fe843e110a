//! IAM basics over the Query protocol: users (with paths), access keys, HTTPS git
//! credentials as service-specific credentials for `codecommit.amazonaws.com`, SSH public
//! keys, and roles with their trust policies. Policies are not evaluated yet: every
//! authenticated principal of the account may call everything (see the README).

use base64::Engine;
use ferry_store::StoreError;
use ferry_store::iam::{IamUser, Role};
use ferry_wire::{AwsError, RequestContext};
use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::query::{Params, check_name, check_path, iso, leaf, response, validation};
use crate::{CompanionService, now_ms, store_err};

/// IAM's response namespace.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// Access keys a user may hold, as in IAM.
const MAX_ACCESS_KEYS: usize = 2;
const CODECOMMIT: &str = "codecommit.amazonaws.com";

/// A role's id: stable, and derivable from an assumed-role ARN (which omits the path).
pub fn role_id(name: &str) -> String {
    stable_id("AROA", &format!("role:{name}"))
}

/// A stable IAM-style id (`AIDA…`, `AROA…`, `ACCA…`) derived from what it names.
pub fn stable_id(prefix: &str, of: &str) -> String {
    let digest = hex::encode(Sha256::digest(of.as_bytes())).to_ascii_uppercase();
    format!("{prefix}{}", &digest[..17])
}

fn no_such(kind: &str, name: &str) -> AwsError {
    AwsError::new(
        "NoSuchEntity",
        format!("The {kind} with name {name} cannot be found."),
    )
    .with_status(404)
}

fn exists(kind: &str, name: &str) -> AwsError {
    AwsError::new(
        "EntityAlreadyExists",
        format!("{kind} with name {name} already exists."),
    )
    .with_status(409)
}

/// The user an action is about: `UserName`, or the calling user.
fn target_user<'a>(p: &'a Params, ctx: &'a RequestContext) -> Result<&'a str, AwsError> {
    if let Some(u) = p.get("UserName") {
        return Ok(u);
    }
    if ctx.principal_arn.contains(":assumed-role/") {
        return Err(validation(
            "Must specify userName when calling with non-User credentials",
        ));
    }
    Ok(&ctx.user_name)
}

fn user_xml(u: &IamUser, out: &mut String) {
    leaf(out, "Path", &u.path);
    leaf(out, "UserName", &u.name);
    leaf(out, "UserId", &stable_id("AIDA", &u.arn));
    leaf(out, "Arn", &u.arn);
    leaf(out, "CreateDate", &iso(u.created_ms));
}

fn role_xml(r: &Role, out: &mut String) {
    leaf(out, "Path", &r.path);
    leaf(out, "RoleName", &r.name);
    leaf(out, "RoleId", &role_id(&r.name));
    leaf(out, "Arn", &r.arn);
    leaf(out, "CreateDate", &iso(r.created_ms));
    // IAM returns the trust policy URL-encoded.
    leaf(
        out,
        "AssumeRolePolicyDocument",
        &ferry_wire::sigv4::uri_encode(&r.trust_policy, true),
    );
    if let Some(d) = &r.description {
        leaf(out, "Description", d);
    }
    leaf(out, "MaxSessionDuration", &r.max_session_s.to_string());
}

/// MD5 fingerprint (`aa:bb:…`) of an OpenSSH public key's blob.
fn ssh_fingerprint(public_key: &str) -> Option<String> {
    let blob = public_key.split_whitespace().nth(1)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .ok()?;
    let d = Md5::digest(&raw);
    Some(
        d.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// Where a listing resumes, and how many it returns.
fn paging(p: &Params) -> Result<(String, i64), AwsError> {
    let marker = p.get("Marker").unwrap_or("").to_owned();
    let max = p.int("MaxItems", 1..=1000)?.unwrap_or(100);
    Ok((marker, max))
}

/// Appends `IsTruncated` (and `Marker` when there is more).
fn page_end(out: &mut String, truncated: bool, last: Option<&str>) {
    leaf(out, "IsTruncated", if truncated { "true" } else { "false" });
    if truncated && let Some(l) = last {
        leaf(out, "Marker", l);
    }
}

fn member_list<T>(out: &mut String, wrapper: &str, items: &[T], f: impl Fn(&T, &mut String)) {
    out.push_str(&format!("<{wrapper}>"));
    for i in items {
        out.push_str("<member>");
        f(i, out);
        out.push_str("</member>");
    }
    out.push_str(&format!("</{wrapper}>"));
}

impl CompanionService {
    /// Answers one IAM action with its XML document.
    pub async fn iam(
        &self,
        ctx: &RequestContext,
        action: &str,
        p: &Params,
    ) -> Result<String, AwsError> {
        let result = match action {
            "CreateUser" => Some(self.create_user(p).await?),
            "GetUser" => Some(self.get_user(p, ctx).await?),
            "ListUsers" => Some(self.list_users(p).await?),
            "DeleteUser" => {
                let name = p.required("UserName")?;
                match self.store.delete_user(name).await {
                    Ok(()) => None,
                    Err(StoreError::NotFound) => return Err(no_such("user", name)),
                    Err(StoreError::Conflict(_)) => {
                        return Err(AwsError::new(
                            "DeleteConflict",
                            "Cannot delete entity, must delete access keys, service-specific credentials and SSH public keys first.",
                        )
                        .with_status(409));
                    }
                    Err(e) => return Err(store_err(e)),
                }
            }
            "CreateAccessKey" => Some(self.create_access_key(p, ctx).await?),
            "ListAccessKeys" => Some(self.list_access_keys(p, ctx).await?),
            "UpdateAccessKey" => {
                let user = target_user(p, ctx)?;
                let akid = p.required("AccessKeyId")?;
                let status = p.required("Status")?;
                if status != "Active" && status != "Inactive" {
                    return Err(validation(format!(
                        "1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
                    )));
                }
                match self.store.set_access_key_status(user, akid, status).await {
                    Ok(()) => None,
                    Err(StoreError::NotFound) => return Err(no_key(akid)),
                    Err(e) => return Err(store_err(e)),
                }
            }
            "DeleteAccessKey" => {
                let user = target_user(p, ctx)?;
                let akid = p.required("AccessKeyId")?;
                match self.store.delete_access_key(user, akid).await {
                    Ok(()) => None,
                    Err(StoreError::NotFound) => return Err(no_key(akid)),
                    Err(e) => return Err(store_err(e)),
                }
            }
            "CreateServiceSpecificCredential" => Some(self.create_git_credential(p).await?),
            "ListServiceSpecificCredentials" => Some(self.list_git_credentials(p, ctx).await?),
            "ResetServiceSpecificCredential" => Some(self.reset_git_credential(p, ctx).await?),
            "DeleteServiceSpecificCredential" => {
                let user = target_user(p, ctx)?;
                let id = p.required("ServiceSpecificCredentialId")?;
                let name = self.git_credential_by_id(user, id).await?;
                self.store
                    .delete_git_credential(user, &name)
                    .await
                    .map_err(store_err)?;
                None
            }
            "UploadSSHPublicKey" => Some(self.upload_ssh_key(p).await?),
            "ListSSHPublicKeys" => Some(self.list_ssh_keys(p, ctx).await?),
            "GetSSHPublicKey" => Some(self.get_ssh_key(p).await?),
            "DeleteSSHPublicKey" => {
                let user = p.required("UserName")?;
                let id = p.required("SSHPublicKeyId")?;
                match self.store.delete_ssh_key(user, id).await {
                    Ok(()) => None,
                    Err(StoreError::NotFound) => return Err(no_ssh_key(id)),
                    Err(e) => return Err(store_err(e)),
                }
            }
            "CreateRole" => Some(self.create_role(p, ctx).await?),
            "GetRole" => {
                let name = p.required("RoleName")?;
                let r = self
                    .store
                    .role(name)
                    .await
                    .map_err(store_err)?
                    .ok_or_else(|| no_such("role", name))?;
                let mut out = String::from("<Role>");
                role_xml(&r, &mut out);
                out.push_str("</Role>");
                Some(out)
            }
            "ListRoles" => {
                let prefix = p.get("PathPrefix").unwrap_or("/");
                let (marker, max) = paging(p)?;
                let mut roles = self
                    .store
                    .roles(prefix, &marker, max + 1)
                    .await
                    .map_err(store_err)?;
                let truncated = roles.len() as i64 > max;
                roles.truncate(max as usize);
                let mut out = String::new();
                member_list(&mut out, "Roles", &roles, role_xml);
                page_end(&mut out, truncated, roles.last().map(|r| r.name.as_str()));
                Some(out)
            }
            "DeleteRole" => {
                let name = p.required("RoleName")?;
                match self.store.delete_role(name).await {
                    Ok(()) => None,
                    Err(StoreError::NotFound) => return Err(no_such("role", name)),
                    Err(e) => return Err(store_err(e)),
                }
            }
            other => return Err(AwsError::not_implemented("iam", other)),
        };
        Ok(response(
            action,
            NAMESPACE,
            result.as_deref(),
            &ctx.request_id,
        ))
    }

    async fn create_user(&self, p: &Params) -> Result<String, AwsError> {
        let name = p.required("UserName")?;
        check_name("UserName", name, 64)?;
        let path = p.get("Path").unwrap_or("/");
        check_path("Path", path)?;
        let u = match self.store.create_user_at(name, path).await {
            Ok(u) => u,
            Err(StoreError::Conflict(_)) => return Err(exists("User", name)),
            Err(e) => return Err(store_err(e)),
        };
        let mut out = String::from("<User>");
        user_xml(&u, &mut out);
        out.push_str("</User>");
        Ok(out)
    }

    async fn get_user(&self, p: &Params, ctx: &RequestContext) -> Result<String, AwsError> {
        let name = target_user(p, ctx)?;
        let u = match self.store.iam_user(name).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => return Err(no_such("user", name)),
            Err(e) => return Err(store_err(e)),
        };
        let mut out = String::from("<User>");
        user_xml(&u, &mut out);
        out.push_str("</User>");
        Ok(out)
    }

    async fn list_users(&self, p: &Params) -> Result<String, AwsError> {
        let prefix = p.get("PathPrefix").unwrap_or("/");
        let (marker, max) = paging(p)?;
        let mut users = self
            .store
            .iam_users(prefix, &marker, max + 1)
            .await
            .map_err(store_err)?;
        let truncated = users.len() as i64 > max;
        users.truncate(max as usize);
        let mut out = String::new();
        member_list(&mut out, "Users", &users, user_xml);
        page_end(&mut out, truncated, users.last().map(|u| u.name.as_str()));
        Ok(out)
    }

    async fn existing_user(&self, name: &str) -> Result<(), AwsError> {
        match self.store.user(name).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound) => Err(no_such("user", name)),
            Err(e) => Err(store_err(e)),
        }
    }

    async fn create_access_key(
        &self,
        p: &Params,
        ctx: &RequestContext,
    ) -> Result<String, AwsError> {
        let user = target_user(p, ctx)?;
        self.existing_user(user).await?;
        let held = self.store.access_keys_of(user).await.map_err(store_err)?;
        if held.len() >= MAX_ACCESS_KEYS {
            return Err(AwsError::new(
                "LimitExceeded",
                format!("Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}"),
            )
            .with_status(409));
        }
        let (akid, secret) = self
            .store
            .create_access_key(user)
            .await
            .map_err(store_err)?;
        let mut out = String::from("<AccessKey>");
        leaf(&mut out, "UserName", user);
        leaf(&mut out, "AccessKeyId", &akid);
        leaf(&mut out, "Status", "Active");
        leaf(&mut out, "SecretAccessKey", &secret);
        leaf(&mut out, "CreateDate", &iso(now_ms()));
        out.push_str("</AccessKey>");
        Ok(out)
    }

    async fn list_access_keys(&self, p: &Params, ctx: &RequestContext) -> Result<String, AwsError> {
        let user = target_user(p, ctx)?;
        self.existing_user(user).await?;
        let keys = self.store.access_keys_of(user).await.map_err(store_err)?;
        let mut out = String::new();
        member_list(&mut out, "AccessKeyMetadata", &keys, |k, out| {
            leaf(out, "UserName", user);
            leaf(out, "AccessKeyId", &k.access_key_id);
            leaf(out, "Status", &k.status);
            leaf(out, "CreateDate", &iso(k.created_ms));
        });
        page_end(&mut out, false, None);
        Ok(out)
    }

    fn git_credential_xml(
        user: &str,
        name: &str,
        created_ms: i64,
        password: Option<&str>,
        out: &mut String,
    ) {
        leaf(out, "CreateDate", &iso(created_ms));
        leaf(out, "ServiceName", CODECOMMIT);
        leaf(out, "ServiceUserName", name);
        if let Some(pw) = password {
            leaf(out, "ServicePassword", pw);
        }
        leaf(out, "ServiceSpecificCredentialId", &stable_id("ACCA", name));
        leaf(out, "UserName", user);
        leaf(out, "Status", "Active");
    }

    async fn create_git_credential(&self, p: &Params) -> Result<String, AwsError> {
        let user = p.required("UserName")?;
        let service = p.required("ServiceName")?;
        if service != CODECOMMIT {
            return Err(AwsError::new(
                "ServiceNotSupported",
                format!(
                    "The specified service {service} is not supported by Ferry; use {CODECOMMIT}."
                ),
            )
            .with_status(404));
        }
        self.existing_user(user).await?;
        let (name, password) = match self.store.create_git_credential(user).await {
            Ok(c) => c,
            Err(StoreError::Conflict(_)) => {
                return Err(AwsError::new(
                    "LimitExceeded",
                    "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2",
                )
                .with_status(409));
            }
            Err(e) => return Err(store_err(e)),
        };
        let mut out = String::from("<ServiceSpecificCredential>");
        Self::git_credential_xml(user, &name, now_ms(), Some(&password), &mut out);
        out.push_str("</ServiceSpecificCredential>");
        Ok(out)
    }

    async fn list_git_credentials(
        &self,
        p: &Params,
        ctx: &RequestContext,
    ) -> Result<String, AwsError> {
        let user = target_user(p, ctx)?;
        self.existing_user(user).await?;
        let creds = if p.get("ServiceName").is_some_and(|s| s != CODECOMMIT) {
            Vec::new()
        } else {
            self.store
                .git_credentials_of(user)
                .await
                .map_err(store_err)?
        };
        let mut out = String::new();
        member_list(
            &mut out,
            "ServiceSpecificCredentials",
            &creds,
            |(name, created), out| Self::git_credential_xml(user, name, *created, None, out),
        );
        Ok(out)
    }

    async fn git_credential_by_id(&self, user: &str, id: &str) -> Result<String, AwsError> {
        self.existing_user(user).await?;
        self.store
            .git_credentials_of(user)
            .await
            .map_err(store_err)?
            .into_iter()
            .map(|(n, _)| n)
            .find(|n| stable_id("ACCA", n) == id)
            .ok_or_else(|| {
                AwsError::new(
                    "NoSuchEntity",
                    format!("No such credential {id} exists for user {user}."),
                )
                .with_status(404)
            })
    }

    async fn reset_git_credential(
        &self,
        p: &Params,
        ctx: &RequestContext,
    ) -> Result<String, AwsError> {
        let user = target_user(p, ctx)?;
        let id = p.required("ServiceSpecificCredentialId")?;
        let name = self.git_credential_by_id(user, id).await?;
        let password = self
            .store
            .reset_git_credential(user, &name)
            .await
            .map_err(store_err)?;
        let created = self
            .store
            .git_credentials_of(user)
            .await
            .map_err(store_err)?
            .into_iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, c)| c);
        let mut out = String::from("<ServiceSpecificCredential>");
        Self::git_credential_xml(user, &name, created, Some(&password), &mut out);
        out.push_str("</ServiceSpecificCredential>");
        Ok(out)
    }

    fn ssh_key_xml(
        user: &str,
        id: &str,
        body: Option<&str>,
        fp: Option<&str>,
        uploaded_ms: i64,
        out: &mut String,
    ) {
        leaf(out, "UserName", user);
        leaf(out, "SSHPublicKeyId", id);
        if let Some(f) = fp {
            leaf(out, "Fingerprint", f);
        }
        if let Some(b) = body {
            leaf(out, "SSHPublicKeyBody", b);
        }
        leaf(out, "Status", "Active");
        leaf(out, "UploadDate", &iso(uploaded_ms));
    }

    async fn upload_ssh_key(&self, p: &Params) -> Result<String, AwsError> {
        let user = p.required("UserName")?;
        let body = p.required("SSHPublicKeyBody")?.trim();
        let fp = ssh_fingerprint(body).ok_or_else(|| {
            AwsError::new(
                "InvalidPublicKey",
                "The provided public key is not in OpenSSH format.",
            )
        })?;
        self.existing_user(user).await?;
        let id = self
            .store
            .add_ssh_key(user, body)
            .await
            .map_err(store_err)?;
        let mut out = String::from("<SSHPublicKey>");
        Self::ssh_key_xml(user, &id, Some(body), Some(&fp), now_ms(), &mut out);
        out.push_str("</SSHPublicKey>");
        Ok(out)
    }

    async fn list_ssh_keys(&self, p: &Params, ctx: &RequestContext) -> Result<String, AwsError> {
        let user = target_user(p, ctx)?;
        self.existing_user(user).await?;
        let keys = self.store.ssh_keys_of(user).await.map_err(store_err)?;
        let mut out = String::new();
        member_list(&mut out, "SSHPublicKeys", &keys, |(id, _, at), out| {
            leaf(out, "UserName", user);
            leaf(out, "SSHPublicKeyId", id);
            leaf(out, "Status", "Active");
            leaf(out, "UploadDate", &iso(*at));
        });
        page_end(&mut out, false, None);
        Ok(out)
    }

    async fn get_ssh_key(&self, p: &Params) -> Result<String, AwsError> {
        let user = p.required("UserName")?;
        let id = p.required("SSHPublicKeyId")?;
        match p.required("Encoding")? {
            "SSH" => {}
            "PEM" => {
                return Err(AwsError::not_implemented(
                    "iam",
                    "GetSSHPublicKey with PEM encoding",
                ));
            }
            other => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{other}' at 'encoding' failed to satisfy constraint: Member must satisfy enum value set: [SSH, PEM]"
                )));
            }
        }
        self.existing_user(user).await?;
        let (id, body, at) = self
            .store
            .ssh_keys_of(user)
            .await
            .map_err(store_err)?
            .into_iter()
            .find(|(k, _, _)| k == id)
            .ok_or_else(|| no_ssh_key(id))?;
        let fp = ssh_fingerprint(&body);
        let mut out = String::from("<SSHPublicKey>");
        Self::ssh_key_xml(user, &id, Some(&body), fp.as_deref(), at, &mut out);
        out.push_str("</SSHPublicKey>");
        Ok(out)
    }

    async fn create_role(&self, p: &Params, ctx: &RequestContext) -> Result<String, AwsError> {
        let name = p.required("RoleName")?;
        check_name("RoleName", name, 64)?;
        let path = p.get("Path").unwrap_or("/");
        check_path("Path", path)?;
        let policy = p.required("AssumeRolePolicyDocument")?;
        if serde_json::from_str::<serde_json::Value>(policy).is_err() {
            return Err(AwsError::new(
                "MalformedPolicyDocument",
                "This policy contains invalid Json",
            ));
        }
        let max_session_s = p.int("MaxSessionDuration", 3600..=43200)?.unwrap_or(3600);
        let role = Role {
            name: name.to_owned(),
            arn: format!("arn:aws:iam::{}:role{path}{name}", ctx.account_id),
            path: path.to_owned(),
            trust_policy: policy.to_owned(),
            description: p.get("Description").map(str::to_owned),
            max_session_s,
            created_ms: now_ms(),
        };
        match self.store.create_role(&role).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(exists("Role", name)),
            Err(e) => return Err(store_err(e)),
        }
        let mut out = String::from("<Role>");
        role_xml(&role, &mut out);
        out.push_str("</Role>");
        Ok(out)
    }
}

fn no_key(akid: &str) -> AwsError {
    AwsError::new(
        "NoSuchEntity",
        format!("The Access Key with id {akid} cannot be found."),
    )
    .with_status(404)
}

fn no_ssh_key(id: &str) -> AwsError {
    AwsError::new(
        "NoSuchEntity",
        format!("The Public Key with id {id} cannot be found."),
    )
    .with_status(404)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_fingerprints() {
        let id = stable_id("AIDA", "arn:aws:iam::123456789012:user/bob");
        assert!(id.starts_with("AIDA") && id.len() == 21);
        assert_eq!(id, stable_id("AIDA", "arn:aws:iam::123456789012:user/bob"));
        // `ssh-keygen -l -E md5` of this key's blob.
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1Y1Jj5tS2hV8m0D0LxU4Kz3WQvx2vV9Rk7f5fA2iG test";
        let fp = ssh_fingerprint(key).unwrap();
        assert_eq!(fp.split(':').count(), 16);
        assert_eq!(ssh_fingerprint("not a key"), None);
    }
}
