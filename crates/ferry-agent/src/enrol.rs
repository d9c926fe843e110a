//! Registration with a token (a Ferry extension): an agent started with a registration token
//! and no credentials of its own posts `{token, instanceName}` to `/ferry/agent/register`
//! (unsigned: the token is the proof), gets an access key for the IAM user Ferry made for the
//! instance, and keeps it in `<root>/agent-credentials` (mode 0600, shared-credentials format)
//! so that later starts sign with it and never spend a token again.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper::body::Bytes;
use serde::Deserialize;
use serde_json::json;

use crate::client::{ClientError, json_error};
use crate::credentials::{Credentials, parse_profile};
use crate::http::{Endpoint, HttpClient, Request};

/// The server path of the registration.
pub const REGISTER_PATH: &str = "/ferry/agent/register";
/// The file under the agent root that keeps the credentials a token bought.
pub const CREDENTIALS_FILE: &str = "agent-credentials";

const OPERATION: &str = "RegisterWithToken";

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{path}: {source}")]
    File { path: PathBuf, source: io::Error },
    #[error("{0} is not a credentials file with a [default] key and secret")]
    Malformed(PathBuf),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Enrolled {
    iam_user_arn: String,
    access_key_id: String,
    secret_access_key: String,
}

fn file(root: &Path) -> PathBuf {
    root.join(CREDENTIALS_FILE)
}

/// The credentials an earlier registration with a token left in `root`, if any.
pub fn stored(root: &Path) -> Result<Option<Credentials>, EnrolError> {
    let path = file(root);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(EnrolError::File { path, source }),
    };
    match parse_profile(&text, "default") {
        Some(Some(c)) => Ok(Some(c)),
        _ => Err(EnrolError::Malformed(path)),
    }
}

/// Registers `instance_name` with `token` and keeps the credentials it bought in `root`.
pub async fn register(
    endpoint: &Endpoint,
    timeout: Duration,
    token: &str,
    instance_name: &str,
    root: &Path,
) -> Result<Credentials, EnrolError> {
    let http = HttpClient::new(endpoint.clone()).map_err(|source| ClientError::Http {
        operation: OPERATION,
        source,
    })?;
    let body = json!({"token": token, "instanceName": instance_name}).to_string();
    let req = Request {
        method: "POST",
        path: endpoint.path(REGISTER_PATH),
        query: String::new(),
        headers: vec![
            ("host".to_owned(), endpoint.authority.clone()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ],
        body: Bytes::from(body),
    };
    let answer = http
        .send_buffered(req, timeout, 64 * 1024)
        .await
        .map_err(|source| ClientError::Http {
            operation: OPERATION,
            source,
        })?;
    if answer.status != 200 {
        return Err(json_error(OPERATION, answer.status, &answer.body).into());
    }
    let enrolled: Enrolled =
        serde_json::from_slice(&answer.body).map_err(|e| ClientError::Decode {
            operation: OPERATION,
            message: e.to_string(),
        })?;
    let credentials = Credentials {
        access_key_id: enrolled.access_key_id,
        secret_access_key: enrolled.secret_access_key,
        session_token: None,
    };
    keep(root, &credentials, &enrolled.iam_user_arn)?;
    Ok(credentials)
}

/// Writes the credentials file whole (a temporary file renamed over it), readable only by
/// the agent's user.
fn keep(root: &Path, c: &Credentials, arn: &str) -> Result<(), EnrolError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = file(root);
    let temp = root.join(format!(".{CREDENTIALS_FILE}.tmp"));
    let text = format!(
        "# Written by ferry agent when it registered with a token as {arn}\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        c.access_key_id, c.secret_access_key
    );
    let write = || -> io::Result<()> {
        let _ = std::fs::remove_file(&temp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&temp, &path)
    };
    write().map_err(|source| EnrolError::File { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_credentials_read_back_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        assert!(stored(dir.path()).unwrap().is_none());
        let c = Credentials {
            access_key_id: "AKIDTOKEN".into(),
            secret_access_key: "s3cret".into(),
            session_token: None,
        };
        keep(dir.path(), &c, "arn:aws:iam::1:user/codedeploy-web").unwrap();
        assert_eq!(stored(dir.path()).unwrap(), Some(c));
        let mode = std::fs::metadata(dir.path().join(CREDENTIALS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(dir.path().join(CREDENTIALS_FILE), "[other]\n").unwrap();
        assert!(matches!(stored(dir.path()), Err(EnrolError::Malformed(_))));
    }
}
