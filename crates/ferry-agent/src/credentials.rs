//! The AWS credentials and region the agent signs with, found the way the AWS CLI finds them
//! (the subset an on-premises host uses): `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
//! `AWS_SESSION_TOKEN` from the environment, else the profile `AWS_PROFILE` (or `default`) of
//! the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, or `~/.aws/credentials`).
//! The region is `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`.
//!
//! Everything reads the environment through a lookup function so that tests need not touch
//! the process environment.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// The region used when the environment names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// An access key, with its session token for temporary credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put profile [{profile}] in {path}"
    )]
    NotFound { profile: String, path: PathBuf },
    #[error("cannot read the shared credentials file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("profile [{profile}] of {path} needs both aws_access_key_id and aws_secret_access_key")]
    Incomplete { profile: String, path: PathBuf },
    #[error("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")]
    IncompleteEnvironment,
}

/// The credentials from the process environment or the shared credentials file.
pub fn from_env() -> Result<Credentials, CredentialsError> {
    resolve(&|name| std::env::var(name).ok())
}

/// The region from the process environment.
pub fn region_from_env() -> String {
    region(&|name| std::env::var(name).ok())
}

/// [`from_env`] with `env` standing for the environment.
pub fn resolve(env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials, CredentialsError> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(access_key_id), Some(secret_access_key)) => {
            return Ok(Credentials {
                access_key_id,
                secret_access_key,
                session_token: var("AWS_SESSION_TOKEN"),
            });
        }
        (Some(_), None) => return Err(CredentialsError::IncompleteEnvironment),
        _ => {}
    }
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let path = match var("AWS_SHARED_CREDENTIALS_FILE") {
        Some(path) => expand_home(&path, var("HOME")),
        None => PathBuf::from(var("HOME").unwrap_or_default()).join(".aws/credentials"),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CredentialsError::NotFound { profile, path });
        }
        Err(source) => return Err(CredentialsError::Read { path, source }),
    };
    match parse_profile(&text, &profile) {
        None => Err(CredentialsError::NotFound { profile, path }),
        Some(found) => found.ok_or(CredentialsError::Incomplete { profile, path }),
    }
}

/// The region `env` names, or [`DEFAULT_REGION`].
pub fn region(env: &dyn Fn(&str) -> Option<String>) -> String {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|name| env(name).filter(|v| !v.is_empty()))
        .unwrap_or_else(|| DEFAULT_REGION.to_owned())
}

fn expand_home(path: &str, home: Option<String>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The credentials of `profile` in the text of a shared credentials file: `None` when the
/// file has no such section, `Some(None)` when the section lacks the key or the secret.
///
/// The format is INI: `[name]` sections (`[profile name]` is accepted too, as the config file
/// spells it), `key = value` lines, `#` and `;` comments. Keys are case-insensitive; when a
/// section appears twice, later values win.
pub fn parse_profile(text: &str, profile: &str) -> Option<Option<Credentials>> {
    let mut found = false;
    let mut in_profile = false;
    let (mut akid, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            let name = section.split(']').next().unwrap_or("").trim();
            let name = name.strip_prefix("profile ").map_or(name, str::trim);
            in_profile = name == profile;
            found |= in_profile;
            continue;
        }
        if !in_profile {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().to_owned();
        match key.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => akid = Some(value),
            "aws_secret_access_key" => secret = Some(value),
            "aws_session_token" | "aws_security_token" => token = Some(value),
            _ => {}
        }
    }
    if !found {
        return None;
    }
    Some(match (akid, secret) {
        (Some(access_key_id), Some(secret_access_key))
            if !access_key_id.is_empty() && !secret_access_key.is_empty() =>
        {
            Some(Credentials {
                access_key_id,
                secret_access_key,
                session_token: token.filter(|t| !t.is_empty()),
            })
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const FILE: &str = "\
# shared credentials
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key=secret/default+1

[profile ops]
AWS_ACCESS_KEY_ID = ASIAOPS
aws_secret_access_key = opssecret
aws_session_token = token==
; a comment
region = eu-west-1

[broken]
aws_access_key_id = AKIDBROKEN
";

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn parses_profiles() {
        let default = parse_profile(FILE, "default").unwrap().unwrap();
        assert_eq!(default.access_key_id, "AKIDDEFAULT");
        assert_eq!(default.secret_access_key, "secret/default+1");
        assert_eq!(default.session_token, None);
        let ops = parse_profile(FILE, "ops").unwrap().unwrap();
        assert_eq!(ops.access_key_id, "ASIAOPS");
        assert_eq!(ops.session_token.as_deref(), Some("token=="));
        assert_eq!(parse_profile(FILE, "broken"), Some(None));
        assert_eq!(parse_profile(FILE, "missing"), None);
        assert!(!format!("{ops:?}").contains("opssecret"));
    }

    #[test]
    fn environment_wins_over_the_file() {
        let env = env_of(&[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "envsecret"),
            ("AWS_SESSION_TOKEN", "tok"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ]);
        let c = resolve(&env).unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.session_token.as_deref()),
            ("AKIDENV", Some("tok"))
        );
        let half = env_of(&[("AWS_ACCESS_KEY_ID", "AKIDENV")]);
        assert!(matches!(
            resolve(&half),
            Err(CredentialsError::IncompleteEnvironment)
        ));
    }

    #[test]
    fn shared_file_by_profile() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("creds");
        std::fs::write(&file, FILE).unwrap();
        let path = file.to_str().unwrap();
        let c = resolve(&env_of(&[("AWS_SHARED_CREDENTIALS_FILE", path)])).unwrap();
        assert_eq!(c.access_key_id, "AKIDDEFAULT");
        let c = resolve(&env_of(&[
            ("AWS_SHARED_CREDENTIALS_FILE", path),
            ("AWS_PROFILE", "ops"),
        ]))
        .unwrap();
        assert_eq!(c.access_key_id, "ASIAOPS");
        assert!(matches!(
            resolve(&env_of(&[
                ("AWS_SHARED_CREDENTIALS_FILE", path),
                ("AWS_PROFILE", "nope"),
            ])),
            Err(CredentialsError::NotFound { .. })
        ));
        assert!(matches!(
            resolve(&env_of(&[
                ("AWS_SHARED_CREDENTIALS_FILE", path),
                ("AWS_PROFILE", "broken"),
            ])),
            Err(CredentialsError::Incomplete { .. })
        ));
        // ~/.aws/credentials under HOME.
        std::fs::create_dir(tmp.path().join(".aws")).unwrap();
        std::fs::copy(&file, tmp.path().join(".aws/credentials")).unwrap();
        let home = tmp.path().to_str().unwrap();
        let c = resolve(&env_of(&[("HOME", home), ("AWS_PROFILE", "ops")])).unwrap();
        assert_eq!(c.access_key_id, "ASIAOPS");
        let c = resolve(&env_of(&[
            ("HOME", home),
            ("AWS_SHARED_CREDENTIALS_FILE", "~/creds"),
        ]))
        .unwrap();
        assert_eq!(c.access_key_id, "AKIDDEFAULT");
    }

    #[test]
    fn region_order() {
        assert_eq!(region(&env_of(&[])), "us-east-1");
        assert_eq!(
            region(&env_of(&[("AWS_DEFAULT_REGION", "eu-west-1")])),
            "eu-west-1"
        );
        assert_eq!(
            region(&env_of(&[
                ("AWS_DEFAULT_REGION", "eu-west-1"),
                ("AWS_REGION", "ap-south-1")
            ])),
            "ap-south-1"
        );
    }
}
