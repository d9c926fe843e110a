//! A build's environment variables: the `CODEBUILD_*` set, credentials and endpoint, then the
//! buildspec's `env`, the project's variables and the StartBuild overrides, in AWS's
//! precedence (override > project > buildspec), with `PARAMETER_STORE` and `SECRETS_MANAGER`
//! values resolved from Ferry's own SSM and Secrets Manager (and remembered for masking).

use ferry_store::Store;
use ferry_store::secrets::SecretValue;

use crate::buildspec::SecretRef;

/// Why a variable could not be resolved (a `CLIENT_ERROR` in DOWNLOAD_SOURCE).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EnvError(pub String);

/// Variables being assembled, later ones replacing earlier ones of the same name.
#[derive(Debug, Default, Clone)]
pub struct EnvSet {
    pub vars: Vec<(String, String)>,
    /// Values that must never appear in logs.
    pub secrets: Vec<String>,
}

impl EnvSet {
    /// Sets a variable, replacing an earlier value.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((name.to_owned(), value)),
        }
    }

    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a value that is masked in logs.
    pub fn set_secret(&mut self, name: &str, value: String) {
        if !value.is_empty() {
            self.secrets.push(value.clone());
        }
        self.set(name, value);
    }
}

/// The value of an SSM parameter (decrypted).
pub async fn parameter(store: &Store, name: &str) -> Result<String, EnvError> {
    let row = store
        .parameter(name)
        .await
        .map_err(|e| EnvError(format!("Error retrieving parameter {name}: {e}")))?
        .ok_or_else(|| {
            EnvError(format!(
                "Parameter does not exist: {name}. Check that the parameter exists and that the service role has access to it."
            ))
        })?;
    if row.secure() {
        store
            .open_parameter_value(&row.value)
            .map_err(|e| EnvError(format!("Error decrypting parameter {name}: {e}")))
    } else {
        Ok(row.value)
    }
}

/// The value a `secret-id[:json-key[:version-stage[:version-id]]]` reference names.
pub async fn secret(store: &Store, r: &SecretRef) -> Result<String, EnvError> {
    let not_found = || {
        EnvError(format!(
            "Secrets Manager can't find the specified secret: {}",
            r.secret_id
        ))
    };
    let row = if r.secret_id.starts_with("arn:") {
        match store.secret_by_arn(&r.secret_id).await {
            Ok(Some(s)) => Some(s),
            _ => {
                // A partial ARN (without the random suffix) names the secret too.
                let name = r
                    .secret_id
                    .split(":secret:")
                    .nth(1)
                    .unwrap_or(&r.secret_id)
                    .to_owned();
                store.secret_by_name(&name).await.ok().flatten()
            }
        }
    } else {
        store
            .secret_by_name(&r.secret_id)
            .await
            .map_err(|e| EnvError(e.to_string()))?
    }
    .filter(|s| s.deleted_ms.is_none())
    .ok_or_else(not_found)?;
    let stage = if r.version_id.is_none() {
        Some(r.version_stage.as_deref().unwrap_or("AWSCURRENT"))
    } else {
        None
    };
    let version = store
        .secret_version(&row.arn, r.version_id.as_deref(), stage)
        .await
        .map_err(|e| EnvError(e.to_string()))?
        .ok_or_else(|| {
            EnvError(format!(
                "Secrets Manager can't find the specified secret value for staging label: {}",
                stage.unwrap_or_default()
            ))
        })?;
    let text = match version.value {
        SecretValue::Text(t) => t,
        SecretValue::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
    };
    match &r.json_key {
        None => Ok(text),
        Some(key) => {
            let doc: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
                EnvError(format!(
                    "Secret {} is not a JSON document; cannot select key {key}",
                    r.secret_id
                ))
            })?;
            match doc.get(key) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(other) => Ok(other.to_string()),
                None => Err(EnvError(format!(
                    "Secret {} does not contain the JSON key {key}",
                    r.secret_id
                ))),
            }
        }
    }
}

/// Parses a `secret-id[:json-key[:version-stage[:version-id]]]` reference as project
/// variables of type `SECRETS_MANAGER` give it.
pub fn secret_ref(text: &str) -> SecretRef {
    // A full ARN carries six ':'-separated fields of its own and a name that may not contain ':'.
    let (id, rest) = if text.starts_with("arn:") {
        let parts: Vec<&str> = text.splitn(8, ':').collect();
        if parts.len() > 7 {
            let id_len = parts[..7].iter().map(|p| p.len()).sum::<usize>() + 6;
            (&text[..id_len], text.get(id_len + 1..).unwrap_or(""))
        } else {
            (text, "")
        }
    } else {
        text.split_once(':').unwrap_or((text, ""))
    };
    let mut fields = rest
        .split(':')
        .map(|s| (!s.is_empty()).then(|| s.to_owned()));
    SecretRef {
        secret_id: id.to_owned(),
        json_key: fields.next().flatten(),
        version_stage: fields.next().flatten(),
        version_id: fields.next().flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_masking() {
        let mut e = EnvSet::default();
        e.set("A", "buildspec");
        e.set("A", "project");
        e.set_secret("S", "hunter2".into());
        assert_eq!(e.get("A"), Some("project"));
        assert_eq!(e.secrets, vec!["hunter2".to_owned()]);
    }

    #[test]
    fn secret_references() {
        let r = secret_ref("prod/db:password:AWSPREVIOUS");
        assert_eq!(
            (
                r.secret_id.as_str(),
                r.json_key.as_deref(),
                r.version_stage.as_deref()
            ),
            ("prod/db", Some("password"), Some("AWSPREVIOUS"))
        );
        let r =
            secret_ref("arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:user::v-1");
        assert_eq!(
            r.secret_id,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
        );
        assert_eq!(r.json_key.as_deref(), Some("user"));
        assert_eq!(r.version_stage, None);
        assert_eq!(r.version_id.as_deref(), Some("v-1"));
        assert_eq!(secret_ref("plain").secret_id, "plain");
    }
}
