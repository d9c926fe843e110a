//! Webhooks: PutWebhook, ListWebhooks, DeleteWebhook, and the trigger URL
//! (`<public url>/webhooks/trigger?t=<token>`) that starts an execution of the target pipeline
//! when a JSON event passes every filter. A filter is a JSON path (`$.a.b[0].c`) whose value
//! must equal `matchEquals`, in which `{Name}` stands for the target action's configuration
//! value `Name` (e.g. `refs/heads/{BranchName}`). Authentication: `GITHUB_HMAC` (the body's
//! HMAC-SHA256 under the secret token in `X-Hub-Signature-256`) or `UNAUTHENTICATED`.

use ferry_model::codepipeline::*;
use ferry_wire::AwsError;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::result::Result;

use crate::service::PipelineService;

/// The path webhook events are posted to.
pub const TRIGGER_PATH: &str = "/webhooks/trigger";

fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", message)
}

/// The value at a JSON path of the form `$.a.b[0].c` (`None` when absent or malformed).
pub fn at_path<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$')?;
    let mut cur = doc;
    let mut chars = rest;
    while !chars.is_empty() {
        if let Some(after) = chars.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            cur = cur.get(&after[..end])?;
            chars = &after[end..];
        } else if let Some(after) = chars.strip_prefix('[') {
            let end = after.find(']')?;
            let inner = after[..end].trim_matches(['\'', '"']);
            cur = match inner.parse::<usize>() {
                Ok(i) => cur.get(i)?,
                Err(_) => cur.get(inner)?,
            };
            chars = &after[end + 1..];
        } else {
            return None;
        }
    }
    Some(cur)
}

/// `matchEquals` with `{Name}` replaced by the action's configuration values.
fn expected(template: &str, config: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = template.to_owned();
    for (k, v) in config {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether the event passes every filter of the webhook.
pub fn passes(
    filters: &[WebhookFilterRule],
    event: &Value,
    config: &std::collections::BTreeMap<String, String>,
) -> bool {
    filters.iter().all(|f| match at_path(event, &f.json_path) {
        None => false,
        Some(v) => f
            .match_equals
            .as_ref()
            .is_none_or(|m| text(v) == expected(m, config)),
    })
}

impl PipelineService {
    fn webhook_url(&self, token: &str) -> String {
        format!(
            "{}{TRIGGER_PATH}?t={token}",
            self.settings.public_url.trim_end_matches('/')
        )
    }

    fn webhook_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:codepipeline:{}:{}:webhook:{name}",
            self.settings.region, self.settings.account_id
        )
    }

    pub(crate) async fn put_webhook(
        &self,
        input: PutWebhookInput,
    ) -> Result<PutWebhookOutput, AwsError> {
        let d = &input.webhook;
        if !crate::validate::valid_name(&d.name) {
            return Err(validation(
                "The webhook name is 1 to 100 of A-Z a-z 0-9 . @ - _",
            ));
        }
        let (_, stored) = self.stored(&d.target_pipeline).await?;
        let known = stored
            .pipeline
            .stages
            .first()
            .is_some_and(|s| s.actions.iter().any(|a| a.name == d.target_action));
        if !known {
            return Err(validation(format!(
                "The target action {} is not a source action of pipeline {}",
                d.target_action, d.target_pipeline
            )));
        }
        if d.filters.is_empty() || d.filters.len() > 5 {
            return Err(validation("A webhook has 1 to 5 filters"));
        }
        if d.filters.iter().any(|f| !f.json_path.starts_with('$')) {
            return Err(validation("A filter's jsonPath starts with $"));
        }
        match d.authentication {
            WebhookAuthenticationType::GithubHmac => {
                if d.authentication_configuration
                    .secret_token
                    .as_deref()
                    .is_none_or(str::is_empty)
                {
                    return Err(validation("GITHUB_HMAC needs a SecretToken"));
                }
            }
            WebhookAuthenticationType::Ip => {
                return Err(validation(
                    "Ferry does not check IP ranges yet: use GITHUB_HMAC or UNAUTHENTICATED",
                ));
            }
            WebhookAuthenticationType::Unauthenticated => {}
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        let doc = serde_json::to_string(&(d, &input.tags)).map_err(AwsError::internal)?;
        let token = self
            .store
            .put_webhook(&d.name, &token, &doc)
            .await
            .map_err(AwsError::internal)?;
        Ok(PutWebhookOutput {
            webhook: Some(ListWebhookItem {
                definition: d.clone(),
                url: self.webhook_url(&token),
                arn: Some(self.webhook_arn(&d.name)),
                tags: input.tags.clone(),
                ..Default::default()
            }),
        })
    }

    pub(crate) async fn list_webhooks(&self) -> Result<Vec<ListWebhookItem>, AwsError> {
        let rows = self.store.webhooks().await.map_err(AwsError::internal)?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, token, doc)| {
                let (definition, tags): (WebhookDefinition, Option<Vec<Tag>>) =
                    serde_json::from_str(&doc).ok()?;
                Some(ListWebhookItem {
                    definition,
                    url: self.webhook_url(&token),
                    arn: Some(self.webhook_arn(&name)),
                    tags,
                    ..Default::default()
                })
            })
            .collect())
    }

    /// An event posted to a webhook's URL: `Ok(Some(execution id))` when it started one,
    /// `Ok(None)` when the filters let it pass by.
    pub async fn webhook_event(
        &self,
        token: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Option<String>, AwsError> {
        let denied = || {
            AwsError::new(
                "AccessDeniedException",
                "The webhook or its signature is not valid",
            )
            .with_status(403)
        };
        let (name, doc) = self
            .store
            .webhook_by_token(token)
            .await
            .map_err(AwsError::internal)?
            .ok_or_else(denied)?;
        let (d, _): (WebhookDefinition, Option<Vec<Tag>>) =
            serde_json::from_str(&doc).map_err(AwsError::internal)?;
        if d.authentication == WebhookAuthenticationType::GithubHmac {
            let secret = d
                .authentication_configuration
                .secret_token
                .clone()
                .unwrap_or_default();
            let given = signature
                .and_then(|s| s.strip_prefix("sha256="))
                .and_then(|h| hex::decode(h).ok())
                .ok_or_else(denied)?;
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(AwsError::internal)?;
            mac.update(body);
            mac.verify_slice(&given).map_err(|_| denied())?;
        }
        let event: Value = serde_json::from_slice(body)
            .map_err(|_| AwsError::new("SerializationException", "The event is not JSON"))?;
        let (_, stored) = self.stored(&d.target_pipeline).await?;
        let config = stored
            .pipeline
            .stages
            .first()
            .and_then(|s| s.actions.iter().find(|a| a.name == d.target_action))
            .and_then(|a| a.configuration.clone())
            .unwrap_or_default();
        if !passes(&d.filters, &event, &config) {
            return Ok(None);
        }
        let id = self
            .start_execution(
                &d.target_pipeline,
                "Webhook",
                Some(self.webhook_arn(&name)),
                Default::default(),
                Default::default(),
            )
            .await?;
        Ok(Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_filters() {
        let event = serde_json::json!({"ref": "refs/heads/main", "commits": [{"id": "abc"}], "repo": {"name": "shop"}});
        assert_eq!(at_path(&event, "$.ref").unwrap(), "refs/heads/main");
        assert_eq!(at_path(&event, "$.commits[0].id").unwrap(), "abc");
        assert_eq!(at_path(&event, "$['repo'].name").unwrap(), "shop");
        assert!(at_path(&event, "$.nope").is_none() && at_path(&event, "ref").is_none());
        let config = [("BranchName".to_owned(), "main".to_owned())].into();
        let rule = |p: &str, m: Option<&str>| WebhookFilterRule {
            json_path: p.into(),
            match_equals: m.map(str::to_owned),
        };
        assert!(passes(
            &[rule("$.ref", Some("refs/heads/{BranchName}"))],
            &event,
            &config
        ));
        assert!(passes(&[rule("$.repo.name", None)], &event, &config));
        assert!(!passes(
            &[rule("$.ref", Some("refs/heads/dev"))],
            &event,
            &config
        ));
        assert!(!passes(
            &[
                rule("$.ref", Some("refs/heads/{BranchName}")),
                rule("$.missing", None)
            ],
            &event,
            &config
        ));
    }
}
