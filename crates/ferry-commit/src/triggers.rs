//! Repository triggers: which ref changes a trigger fires on, the event it delivers (the
//! `Records` document AWS sends to SNS/Lambda), and delivery. Destinations that are `http://`
//! URLs get a JSON POST signed with the installation's trigger key (header
//! `X-Ferry-Signature-256: sha256=<hex HMAC-SHA256 of the body>`), retried three times with
//! back-off; `https://` URLs the same over TLS, verified against the system's trusted roots
//! (`SSL_CERT_FILE` / `SSL_CERT_DIR` are honoured). SNS topic and Lambda function ARNs are stored
//! but Ferry cannot deliver to them, and says so when tested.

use std::time::Duration;

use ferry_model::codecommit::{RepositoryTrigger, RepositoryTriggerEventEnum};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The most triggers a repository may have.
pub const MAX_TRIGGERS: usize = 10;
/// Delivery attempts per event.
pub const ATTEMPTS: u32 = 3;

/// One changed ref, as triggers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefEvent {
    pub ref_name: String,
    pub commit: Option<String>,
    pub created: bool,
    pub deleted: bool,
}

/// Checks a trigger as PutRepositoryTriggers does; the error is `(exception, message)`.
pub fn validate(t: &RepositoryTrigger) -> Result<(), (&'static str, String)> {
    if t.name.is_empty() {
        return Err((
            "RepositoryTriggerNameRequiredException",
            "A name for the trigger is required.".into(),
        ));
    }
    if t.destination_arn.is_empty() {
        return Err((
            "RepositoryTriggerDestinationArnRequiredException",
            "A destination ARN is required.".into(),
        ));
    }
    let arn_ok = ferry_types::arn::parse(&t.destination_arn)
        .is_some_and(|a| a.service == "sns" || a.service == "lambda");
    let url_ok =
        t.destination_arn.starts_with("http://") || t.destination_arn.starts_with("https://");
    if !arn_ok && !url_ok {
        return Err((
            "InvalidRepositoryTriggerDestinationArnException",
            format!(
                "{} is not an SNS topic or Lambda function ARN, nor an http(s) URL.",
                t.destination_arn
            ),
        ));
    }
    if t.events.is_empty() {
        return Err((
            "RepositoryTriggerEventsListRequiredException",
            "At least one event is required.".into(),
        ));
    }
    if t.events.len() > 1 && t.events.contains(&RepositoryTriggerEventEnum::All) {
        return Err((
            "InvalidRepositoryTriggerEventsException",
            "The event 'all' cannot be combined with others.".into(),
        ));
    }
    let branches = t.branches.as_deref().unwrap_or_default();
    if branches.len() > 100 {
        return Err((
            "MaximumBranchesExceededException",
            "A trigger can name at most 100 branches.".into(),
        ));
    }
    if let Some(b) = branches
        .iter()
        .find(|b| !crate::names::valid_branch_name(b))
    {
        return Err((
            "InvalidRepositoryTriggerBranchNameException",
            format!("The branch name {b} is not valid."),
        ));
    }
    if t.custom_data.as_deref().is_some_and(|c| c.len() > 1000) {
        return Err((
            "InvalidRepositoryTriggerCustomDataException",
            "Custom data is limited to 1000 characters.".into(),
        ));
    }
    Ok(())
}

/// Whether trigger `t` fires for a ref change.
pub fn fires(t: &RepositoryTrigger, e: &RefEvent) -> bool {
    let Some(branch) = e.ref_name.strip_prefix("refs/heads/") else {
        return false;
    };
    let branches = t.branches.as_deref().unwrap_or_default();
    if !branches.is_empty() && !branches.iter().any(|b| b == branch) {
        return false;
    }
    t.events.iter().any(|ev| match ev {
        RepositoryTriggerEventEnum::All => true,
        RepositoryTriggerEventEnum::CreateReference => e.created,
        RepositoryTriggerEventEnum::DeleteReference => e.deleted,
        RepositoryTriggerEventEnum::UpdateReference => !e.created && !e.deleted,
    })
}

/// Where an event goes.
pub struct Destination<'a> {
    pub trigger: &'a RepositoryTrigger,
    pub configuration_id: &'a str,
    pub repository_arn: &'a str,
    pub region: &'a str,
    pub actor_arn: &'a str,
}

/// The event document for `refs` (`test` for TestRepositoryTriggers).
pub fn event(d: &Destination<'_>, refs: &[RefEvent], test: bool) -> serde_json::Value {
    let references: Vec<serde_json::Value> = refs
        .iter()
        .map(|r| {
            let mut v = json!({ "ref": r.ref_name });
            if let Some(c) = &r.commit {
                v["commit"] = json!(c);
            }
            if r.created {
                v["created"] = json!(true);
            }
            if r.deleted {
                v["deleted"] = json!(true);
            }
            v
        })
        .collect();
    let time = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string();
    json!({ "Records": [{
        "awsRegion": d.region,
        "codecommit": { "references": references },
        "customData": d.trigger.custom_data,
        "eventId": uuid::Uuid::new_v4().to_string(),
        "eventName": if test { "TriggerEventTest" } else { "ReferenceChanges" },
        "eventPartNumber": 1,
        "eventSource": "aws:codecommit",
        "eventSourceARN": d.repository_arn,
        "eventTime": time,
        "eventTotalParts": 1,
        "eventTriggerConfigId": d.configuration_id,
        "eventTriggerName": d.trigger.name,
        "eventVersion": "1.0",
        "userIdentityARN": d.actor_arn,
    }]})
}

/// TLS settings for https destinations, made once.
fn tls() -> Result<tokio_rustls::TlsConnector, String> {
    static CONFIG: std::sync::OnceLock<
        Result<std::sync::Arc<tokio_rustls::rustls::ClientConfig>, String>,
    > = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "trusted certificates: skipped a source");
        }
        for cert in found.certs {
            let _ = roots.add(cert);
        }
        let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| std::sync::Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|e| e.to_string())
    });
    config.clone().map(tokio_rustls::TlsConnector::from)
}

/// Delivers one event once; `Err` says why it failed.
pub async fn deliver_once(destination: &str, body: &[u8], secret: &str) -> Result<(), String> {
    let (tls_on, rest) = match (
        destination.strip_prefix("http://"),
        destination.strip_prefix("https://"),
    ) {
        (Some(rest), _) => (false, rest),
        (_, Some(rest)) => (true, rest),
        _ => {
            return Err(format!(
                "Ferry cannot deliver to {destination} (SNS and Lambda destinations are stored only)"
            ));
        }
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let default_port = if tls_on { 443 } else { 80 };
    let (host, addr) = match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => {
            (h.to_owned(), authority.to_owned())
        }
        _ => (authority.to_owned(), format!("{authority}:{default_port}")),
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(body);
    let signature = hex::encode(mac.finalize().into_bytes());
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         User-Agent: ferry-trigger/1\r\nX-Ferry-Signature-256: sha256={signature}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| e.to_string())?;
        if tls_on {
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(
                host.trim_matches(['[', ']']).to_owned(),
            )
            .map_err(|e| e.to_string())?;
            let stream = tls()?
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            exchange_over(stream, &head, body).await
        } else {
            exchange_over(tcp, &head, body).await
        }
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| "timed out".to_owned())?
}

/// Sends the request and reads the status line.
async fn exchange_over<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    head: &str,
    body: &[u8],
) -> Result<(), String> {
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    stream.write_all(body).await.map_err(|e| e.to_string())?;
    stream.flush().await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 512];
    let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
    let status_line = String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    let code: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    if (200..300).contains(&code) {
        Ok(())
    } else {
        Err(format!("the destination answered {status_line:?}"))
    }
}

/// Delivers with retries (1 s, then 2 s between attempts); logs the outcome.
pub async fn deliver(destination: String, body: Vec<u8>, secret: String) {
    let mut wait = Duration::from_secs(1);
    for attempt in 1..=ATTEMPTS {
        match deliver_once(&destination, &body, &secret).await {
            Ok(()) => return,
            Err(e) if attempt == ATTEMPTS => {
                tracing::warn!(destination, error = %e, "trigger delivery failed");
            }
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(events: Vec<RepositoryTriggerEventEnum>, branches: Vec<&str>) -> RepositoryTrigger {
        RepositoryTrigger {
            name: "t".into(),
            destination_arn: "http://127.0.0.1:9/hook".into(),
            custom_data: None,
            branches: Some(branches.into_iter().map(str::to_owned).collect()),
            events,
        }
    }

    #[test]
    fn which_changes_fire() {
        let update = RefEvent {
            ref_name: "refs/heads/main".into(),
            commit: Some("a".into()),
            created: false,
            deleted: false,
        };
        let create = RefEvent {
            created: true,
            ..update.clone()
        };
        let tag = RefEvent {
            ref_name: "refs/tags/v1".into(),
            ..update.clone()
        };
        let all = trigger(vec![RepositoryTriggerEventEnum::All], vec![]);
        assert!(fires(&all, &update) && fires(&all, &create) && !fires(&all, &tag));
        let only_create = trigger(
            vec![RepositoryTriggerEventEnum::CreateReference],
            vec!["main"],
        );
        assert!(fires(&only_create, &create) && !fires(&only_create, &update));
        let other_branch = trigger(vec![RepositoryTriggerEventEnum::All], vec!["dev"]);
        assert!(!fires(&other_branch, &update));
    }

    #[test]
    fn validation() {
        assert!(validate(&trigger(vec![RepositoryTriggerEventEnum::All], vec![])).is_ok());
        let mut t = trigger(vec![], vec![]);
        assert_eq!(
            validate(&t).unwrap_err().0,
            "RepositoryTriggerEventsListRequiredException"
        );
        t.events = vec![
            RepositoryTriggerEventEnum::All,
            RepositoryTriggerEventEnum::CreateReference,
        ];
        assert_eq!(
            validate(&t).unwrap_err().0,
            "InvalidRepositoryTriggerEventsException"
        );
        t.events = vec![RepositoryTriggerEventEnum::All];
        t.destination_arn = "ftp://x".into();
        assert_eq!(
            validate(&t).unwrap_err().0,
            "InvalidRepositoryTriggerDestinationArnException"
        );
        t.destination_arn = "arn:aws:sns:us-east-1:123456789012:topic".into();
        assert!(validate(&t).is_ok());
    }
}
