//! Authentication at the edge: SigV4 for the AWS APIs, and for git either the SigV4-derived
//! password of `aws codecommit credential-helper` or HTTPS git credentials. Access keys are
//! cached briefly in memory so a signed request costs no database round trip; a key created
//! or deactivated elsewhere is seen within [`KEY_TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::Engine;
use ferry_store::Store;
use ferry_store::identity::{AccessKey, Principal};
use ferry_wire::AwsError;
use ferry_wire::sigv4::{self, AuthError, Payload};

/// How long a found access key is trusted without asking the database again.
pub const KEY_TTL: Duration = Duration::from_secs(30);
/// How long an unknown access key is remembered as unknown.
pub const UNKNOWN_KEY_TTL: Duration = Duration::from_secs(2);

/// Regions a git password is also checked against when the server's own region does not
/// match (the credential helper signs with the user's profile region).
const KNOWN_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-east-1",
    "ca-central-1",
    "ca-west-1",
    "sa-east-1",
    "me-south-1",
    "me-central-1",
    "af-south-1",
    "il-central-1",
    "mx-central-1",
    "us-gov-west-1",
    "us-gov-east-1",
    "cn-north-1",
    "cn-northwest-1",
];

/// A short-lived cache of access keys.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (Option<AccessKey>, Instant)>>,
}

impl KeyCache {
    /// Drops a key from the cache, so a change to it is seen by the next request.
    pub fn forget(&self, akid: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(akid);
    }

    /// The key with id `akid`, from the cache or the store.
    pub async fn get(&self, store: &Store, akid: &str) -> Result<Option<AccessKey>, AwsError> {
        if let Some((key, at)) = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(akid)
        {
            let ttl = if key.is_some() {
                KEY_TTL
            } else {
                UNKNOWN_KEY_TTL
            };
            if at.elapsed() < ttl {
                return Ok(key.clone());
            }
        }
        let key = store.access_key(akid).await.map_err(AwsError::internal)?;
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.clear();
        }
        map.insert(akid.to_owned(), (key.clone(), Instant::now()));
        Ok(key)
    }
}

fn now_secs() -> i64 {
    ferry_types::Timestamp::now().seconds()
}

/// Checks the session token a request carries against the key: long-term keys take none,
/// temporary credentials exactly theirs, and only until they expire.
pub fn check_session(key: &AccessKey, token: Option<&str>) -> Result<(), AuthError> {
    if !key.token_matches(token) {
        return Err(AuthError::UnknownKey);
    }
    if key.expired(ferry_types::Timestamp::now().millis()) {
        return Err(AuthError::ExpiredToken);
    }
    Ok(())
}

/// A verified API caller.
pub struct ApiCaller {
    pub key: AccessKey,
    pub region: String,
    /// The service of the credential scope.
    pub service: String,
}

/// Verifies the SigV4 signature of an API request: over its whole body (`Payload::Bytes`),
/// or over the hash it declares, which the operation then checks (`Payload::Declared`).
pub async fn verify_api(
    store: &Store,
    keys: &KeyCache,
    parts: &axum::http::request::Parts,
    payload: Payload<'_>,
    services: &[&str],
) -> Result<ApiCaller, AwsError> {
    let (method, path, query, headers) = (
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &parts.headers,
    );
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    let req = sigv4::Request {
        method,
        path,
        query,
        headers: &pairs,
    };
    let cred = sigv4::parse(&req)?;
    let key = keys
        .get(store, &cred.access_key_id)
        .await?
        .filter(|k| k.active)
        .ok_or(AuthError::UnknownKey)?;
    let opts = sigv4::Options {
        services,
        double_encode_path: true,
        now: now_secs(),
    };
    sigv4::verify(&req, &cred, &key.secret_access_key, payload, &opts)?;
    check_session(&key, cred.session_token.as_deref())?;
    Ok(ApiCaller {
        key,
        region: cred.region,
        service: cred.service,
    })
}

/// Why a git request was not let in.
#[derive(Debug, PartialEq, Eq)]
pub enum GitAuthError {
    /// No credentials: ask for them (401 with `WWW-Authenticate`).
    Missing,
    /// Credentials that do not match.
    Rejected,
    /// The store failed.
    Internal(String),
}

/// Authenticates a git request for the repository at one of `repo_paths` (`/v1/repos/<name>`;
/// Git LFS signs its own endpoint path, `/v1/repos/<name>.git/info/lfs`).
pub async fn verify_git(
    store: &Store,
    keys: &KeyCache,
    server_region: &str,
    headers: &HeaderMap,
    repo_paths: &[&str],
) -> Result<Principal, GitAuthError> {
    let (user, password) = basic_credentials(headers).ok_or(GitAuthError::Missing)?;
    if sigv4::is_git_sigv4_password(&password) {
        // Temporary credentials append their session token: `<akid>%<token>`.
        let (akid, token) = match user.split_once('%') {
            Some((a, t)) => (a, Some(t)),
            None => (user.as_str(), None),
        };
        let key = keys
            .get(store, akid)
            .await
            .map_err(|e| GitAuthError::Internal(e.to_string()))?
            .filter(|k| k.active)
            .ok_or(GitAuthError::Rejected)?;
        check_session(&key, token).map_err(|_| GitAuthError::Rejected)?;
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(strip_port)
            .unwrap_or_default();
        let now = now_secs();
        let first = [server_region];
        let ok = repo_paths.iter().any(|repo_path| {
            let check = |regions: &[&str]| {
                sigv4::verify_git_password(
                    &key.secret_access_key,
                    regions,
                    host,
                    repo_path,
                    &password,
                    now,
                )
                .is_ok()
            };
            check(&first) || check(KNOWN_REGIONS)
        });
        return if ok {
            Ok(key.principal)
        } else {
            Err(GitAuthError::Rejected)
        };
    }
    match store.verify_git_credential(&user, &password).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(GitAuthError::Rejected),
        Err(e) => Err(GitAuthError::Internal(e.to_string())),
    }
}

/// `host` without a `:port` (IPv6 literals keep their brackets).
pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map(|(h, _)| &host[..h.len() + 1])
            .unwrap_or(host);
    }
    host.rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_and_expiry() {
        use ferry_store::identity::Session;
        use sha2::{Digest, Sha256};
        let mut key = AccessKey {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "s".into(),
            principal: Principal {
                user_name: "build".into(),
                arn: "arn:aws:sts::1:assumed-role/r/build".into(),
            },
            active: true,
            session: Some(Session {
                token_sha256: hex::encode(Sha256::digest(b"tok")),
                expires_ms: ferry_types::Timestamp::now().millis() + 60_000,
            }),
        };
        assert_eq!(check_session(&key, Some("tok")), Ok(()));
        assert_eq!(
            check_session(&key, Some("other")),
            Err(AuthError::UnknownKey)
        );
        assert_eq!(check_session(&key, None), Err(AuthError::UnknownKey));
        key.session.as_mut().unwrap().expires_ms = 0;
        assert_eq!(
            check_session(&key, Some("tok")),
            Err(AuthError::ExpiredToken)
        );
        key.session = None;
        assert_eq!(check_session(&key, None), Ok(()));
        assert_eq!(check_session(&key, Some("tok")), Err(AuthError::UnknownKey));
    }

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("127.0.0.1:4590"), "127.0.0.1");
        assert_eq!(strip_port("git.example.internal"), "git.example.internal");
        assert_eq!(strip_port("[::1]:8080"), "[::1]");
    }

    #[test]
    fn basic_header_parsing() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Basic dXNlcjpwYTpzcw==".parse().unwrap());
        assert_eq!(basic_credentials(&h), Some(("user".into(), "pa:ss".into())));
        h.insert("authorization", "Bearer x".parse().unwrap());
        assert_eq!(basic_credentials(&h), None);
    }
}
