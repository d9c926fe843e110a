//! The agent's typed calls to the server, all to one endpoint and signed with SigV4:
//!
//! - STS `GetCallerIdentity` (Query protocol, XML answer): who the agent's credentials are;
//! - CodeDeploy (JSON 1.1, `CodeDeploy_20141006`): on-premises registration and tags (§4.9);
//! - the command plane (JSON 1.1, `CodeDeployCommandService_v20141006`, signed for
//!   `codedeploy-commands`): poll, deployment specification, acknowledge, update, complete
//!   (§4.8);
//! - S3 `GetObject`, path-style, streamed to a file: the revision bundle.
//!
//! Errors keep the service's exception name (`__type` of a JSON 1.1 error, `<Code>` of an XML
//! one) so that callers can tell "already registered" from "unreachable".

use crate::credentials::Credentials;
use crate::diagnostics::Diagnostics;
use crate::http::{Buffered, Endpoint, HttpClient, HttpError, Request};
use crate::sign::{self, PayloadHash, SignError, SigningParams};
use crate::spec::DeploymentSpec;
use hyper::body::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// `X-Amz-Target` prefix of the CodeDeploy API.
pub const CODEDEPLOY_TARGET: &str = "CodeDeploy_20141006";
/// `X-Amz-Target` prefix of the agent command plane.
pub const COMMANDS_TARGET: &str = "CodeDeployCommandService_v20141006";
/// SigV4 service name of the agent command plane.
pub const COMMANDS_SERVICE: &str = "codedeploy-commands";
/// The read timeout the stock agent uses; the server may hold a poll open for a while.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(80);

const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// The largest API answer read.
const MAX_ANSWER_BYTES: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{operation}: {source}")]
    Http {
        operation: &'static str,
        source: HttpError,
    },
    #[error("{operation} failed ({code}): {message}")]
    Service {
        operation: &'static str,
        status: u16,
        code: String,
        message: String,
    },
    #[error("{operation}: unexpected answer: {message}")]
    Decode {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: {source}")]
    Sign {
        operation: &'static str,
        source: SignError,
    },
    #[error("cannot write {path}: {source}")]
    File { path: PathBuf, source: io::Error },
}

impl ClientError {
    /// The service's exception name, for errors the service answered with.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether trying again later may help: the server could not be reached or answered with
    /// a fault or a throttle, as opposed to refusing the request.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http { .. } => true,
            Self::Service { status, code, .. } => {
                *status >= 500
                    || *status == 429
                    || matches!(
                        code.as_str(),
                        "Throttling"
                            | "ThrottlingException"
                            | "ThrottledException"
                            | "RequestThrottledException"
                            | "ServerException"
                    )
            }
            Self::Decode { .. } | Self::Sign { .. } | Self::File { .. } => false,
        }
    }
}

/// How the client reaches and signs for the server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    pub region: String,
    /// The time an answer may take (and, for downloads, the longest wait for more bytes).
    pub timeout: Duration,
}

/// The identity a host registers with: the ARN `GetCallerIdentity` answers, as a user or as
/// a session (an assumed role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IamIdentity {
    User(String),
    Session(String),
}

impl IamIdentity {
    pub fn from_caller_arn(arn: &str) -> Self {
        if arn.contains(":assumed-role/") {
            Self::Session(arn.to_owned())
        } else {
            Self::User(arn.to_owned())
        }
    }

    pub fn arn(&self) -> &str {
        match self {
            Self::User(arn) | Self::Session(arn) => arn,
        }
    }
}

/// An on-premises instance tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value", default)]
    pub value: String,
}

/// What `GetOnPremisesInstance` says about an instance (the fields the agent reads).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceInfo {
    #[serde(default)]
    pub instance_name: Option<String>,
    #[serde(default)]
    pub iam_user_arn: Option<String>,
    #[serde(default)]
    pub iam_session_arn: Option<String>,
    #[serde(default)]
    pub instance_arn: Option<String>,
    /// Set once the instance is deregistered (epoch seconds).
    #[serde(default)]
    pub deregister_time: Option<serde_json::Value>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl InstanceInfo {
    /// The ARN the instance is registered with.
    pub fn arn(&self) -> Option<&str> {
        self.iam_session_arn
            .as_deref()
            .or(self.iam_user_arn.as_deref())
            .filter(|arn| !arn.is_empty())
    }

    pub fn is_deregistered(&self) -> bool {
        self.deregister_time.as_ref().is_some_and(|t| !t.is_null())
    }
}

/// A command the service hands the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostCommand {
    pub host_command_identifier: String,
    #[serde(default)]
    pub host_identifier: String,
    pub deployment_execution_id: String,
    #[serde(default)]
    pub command_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<i64>,
}

/// The status the service gives a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandStatus {
    Pending,
    InProgress,
    Succeeded,
    Failed,
    #[serde(other)]
    Unknown,
}

/// The deployment specification as the service sends it, not yet decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecificationEnvelope {
    pub deployment_system: String,
    pub format: String,
    pub payload: String,
}

/// Why a deployment specification cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("the deployment system is {0:?}, not \"CodeDeploy\"")]
    DeploymentSystem(String),
    #[error(
        "the deployment specification is signed (PKCS7/JSON), which this agent does not read yet: the server must send TEXT/JSON"
    )]
    Signed,
    #[error("the deployment specification has the unsupported format {0:?}")]
    Format(String),
    #[error("the deployment specification is not valid: {0}")]
    Invalid(String),
}

impl SpecificationEnvelope {
    /// The specification, if it is plain JSON (`TEXT/JSON`) for CodeDeploy.
    pub fn deployment_spec(&self) -> Result<DeploymentSpec, SpecError> {
        if self.deployment_system != "CodeDeploy" {
            return Err(SpecError::DeploymentSystem(self.deployment_system.clone()));
        }
        match self.format.as_str() {
            "TEXT/JSON" => DeploymentSpec::from_json(&self.payload)
                .map_err(|e| SpecError::Invalid(e.to_string())),
            "PKCS7/JSON" => Err(SpecError::Signed),
            other => Err(SpecError::Format(other.to_owned())),
        }
    }
}

/// What a bundle download fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The object's ETag without its quotes.
    pub etag: Option<String>,
    pub bytes: u64,
}

/// The agent's client.
#[derive(Debug, Clone)]
pub struct Client {
    http: HttpClient,
    credentials: Credentials,
    region: String,
    timeout: Duration,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegisterInput<'a> {
    instance_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    iam_user_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iam_session_arn: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetInstanceOutput {
    instance_info: Option<InstanceInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PollOutput {
    #[serde(default)]
    host_command: Option<HostCommand>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SpecOutput {
    #[serde(default)]
    deployment_system: String,
    deployment_specification: SpecBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SpecBody {
    generic_envelope: GenericEnvelope,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GenericEnvelope {
    #[serde(default)]
    format: String,
    #[serde(default)]
    payload: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StatusOutput {
    command_status: Option<CommandStatus>,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, HttpError> {
        Ok(Self {
            http: HttpClient::new(config.endpoint)?,
            credentials: config.credentials,
            region: config.region,
            timeout: config.timeout,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        self.http.endpoint()
    }

    /// The ARN of the caller (STS `GetCallerIdentity`).
    pub async fn get_caller_identity(&self) -> Result<String, ClientError> {
        const OP: &str = "GetCallerIdentity";
        let body = Bytes::from_static(b"Action=GetCallerIdentity&Version=2011-06-15");
        let answer = self
            .call(OP, "sts", "POST", "/", "", FORM_CONTENT_TYPE, None, body)
            .await?;
        let text = String::from_utf8_lossy(&answer.body);
        if answer.status != 200 {
            return Err(xml_error(OP, answer.status, &text));
        }
        xml_text(&text, "Arn")
            .filter(|arn| !arn.is_empty())
            .ok_or_else(|| ClientError::Decode {
                operation: OP,
                message: format!("no <Arn> in {}", preview(&text)),
            })
    }

    pub async fn register_on_premises_instance(
        &self,
        instance_name: &str,
        identity: &IamIdentity,
    ) -> Result<(), ClientError> {
        let (user, session) = match identity {
            IamIdentity::User(arn) => (Some(arn.as_str()), None),
            IamIdentity::Session(arn) => (None, Some(arn.as_str())),
        };
        let input = RegisterInput {
            instance_name,
            iam_user_arn: user,
            iam_session_arn: session,
        };
        self.codedeploy::<_, serde_json::Value>("RegisterOnPremisesInstance", &input)
            .await
            .map(drop)
    }

    pub async fn get_on_premises_instance(
        &self,
        instance_name: &str,
    ) -> Result<InstanceInfo, ClientError> {
        const OP: &str = "GetOnPremisesInstance";
        let out: GetInstanceOutput = self
            .codedeploy(OP, &json!({ "instanceName": instance_name }))
            .await?;
        out.instance_info.ok_or_else(|| ClientError::Decode {
            operation: OP,
            message: "no instanceInfo".into(),
        })
    }

    pub async fn add_tags_to_on_premises_instances(
        &self,
        tags: &[Tag],
        instance_names: &[&str],
    ) -> Result<(), ClientError> {
        let input = json!({ "tags": tags, "instanceNames": instance_names });
        self.codedeploy::<_, serde_json::Value>("AddTagsToOnPremisesInstances", &input)
            .await
            .map(drop)
    }

    pub async fn remove_tags_from_on_premises_instances(
        &self,
        tags: &[Tag],
        instance_names: &[&str],
    ) -> Result<(), ClientError> {
        let input = json!({ "tags": tags, "instanceNames": instance_names });
        self.codedeploy::<_, serde_json::Value>("RemoveTagsFromOnPremisesInstances", &input)
            .await
            .map(drop)
    }

    /// The next command for this host, if any (the server may hold the call open).
    pub async fn poll_host_command(
        &self,
        host_identifier: &str,
    ) -> Result<Option<HostCommand>, ClientError> {
        let out: PollOutput = self
            .commands(
                "PollHostCommand",
                &json!({ "HostIdentifier": host_identifier }),
            )
            .await?;
        Ok(out.host_command)
    }

    pub async fn get_deployment_specification(
        &self,
        deployment_execution_id: &str,
        host_identifier: &str,
    ) -> Result<SpecificationEnvelope, ClientError> {
        let out: SpecOutput = self
            .commands(
                "GetDeploymentSpecification",
                &json!({
                    "DeploymentExecutionId": deployment_execution_id,
                    "HostIdentifier": host_identifier,
                }),
            )
            .await?;
        let envelope = out.deployment_specification.generic_envelope;
        Ok(SpecificationEnvelope {
            deployment_system: out.deployment_system,
            format: envelope.format,
            payload: envelope.payload,
        })
    }

    /// Claim a command; the answer says whether to run it.
    pub async fn put_host_command_acknowledgement(
        &self,
        host_command_identifier: &str,
        is_command_noop: bool,
    ) -> Result<CommandStatus, ClientError> {
        const OP: &str = "PutHostCommandAcknowledgement";
        let payload = json!({ "IsCommandNoop": is_command_noop }).to_string();
        let out: StatusOutput = self
            .commands(
                OP,
                &json!({
                    "HostCommandIdentifier": host_command_identifier,
                    "Diagnostics": { "Format": "JSON", "Payload": payload },
                }),
            )
            .await?;
        out.command_status.ok_or_else(|| ClientError::Decode {
            operation: OP,
            message: "no CommandStatus".into(),
        })
    }

    /// Report the outcome of a command.
    pub async fn put_host_command_complete(
        &self,
        host_command_identifier: &str,
        succeeded: bool,
        diagnostics: &Diagnostics,
    ) -> Result<(), ClientError> {
        let status = if succeeded { "Succeeded" } else { "Failed" };
        self.commands::<_, serde_json::Value>(
            "PutHostCommandComplete",
            &json!({
                "HostCommandIdentifier": host_command_identifier,
                "CommandStatus": status,
                "Diagnostics": { "Format": "JSON", "Payload": diagnostics.to_json() },
            }),
        )
        .await
        .map(drop)
    }

    /// A progress report: a heartbeat, with a JSON diagnostics payload when there is news.
    pub async fn post_host_command_update(
        &self,
        host_command_identifier: &str,
        estimated_completion_time: Option<f64>,
        diagnostics_payload: Option<&str>,
    ) -> Result<Option<CommandStatus>, ClientError> {
        let mut input = json!({ "HostCommandIdentifier": host_command_identifier });
        if let Some(at) = estimated_completion_time {
            input["EstimatedCompletionTime"] = json!(at);
        }
        if let Some(payload) = diagnostics_payload {
            input["Diagnostics"] = json!({ "Format": "JSON", "Payload": payload });
        }
        let out: StatusOutput = self.commands("PostHostCommandUpdate", &input).await?;
        Ok(out.command_status)
    }

    /// S3 `GetObject` (path-style), the body streamed into `dest` (created or truncated; removed
    /// again on failure).
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        dest: &Path,
    ) -> Result<ObjectInfo, ClientError> {
        const OP: &str = "GetObject";
        let mut path = format!("/{}", sign::encode_segment(bucket));
        for segment in key.split('/') {
            path.push('/');
            path.push_str(&sign::encode_segment(segment));
        }
        let query = version
            .map(|v| format!("versionId={}", sign::encode_segment(v)))
            .unwrap_or_default();
        let req = self.signed(OP, "s3", "GET", &path, &query, &[], Bytes::new())?;
        let response =
            self.http
                .send(req, self.timeout)
                .await
                .map_err(|source| ClientError::Http {
                    operation: OP,
                    source,
                })?;
        if response.status != 200 {
            let status = response.status;
            let body = response.bytes(64 * 1024).await.unwrap_or_default();
            return Err(xml_error(OP, status, &String::from_utf8_lossy(&body)));
        }
        let etag = response
            .header("etag")
            .map(|e| e.trim().trim_matches('"').to_owned());
        let file_err = |source| ClientError::File {
            path: dest.to_owned(),
            source,
        };
        let mut file = tokio::fs::File::create(dest).await.map_err(file_err)?;
        match response.write_to(&mut file, dest, self.timeout).await {
            Ok(bytes) => Ok(ObjectInfo { etag, bytes }),
            Err(source) => {
                drop(file);
                let _ = tokio::fs::remove_file(dest).await;
                Err(ClientError::Http {
                    operation: OP,
                    source,
                })
            }
        }
    }

    async fn codedeploy<I: Serialize, O: DeserializeOwned>(
        &self,
        operation: &'static str,
        input: &I,
    ) -> Result<O, ClientError> {
        self.json_call(operation, "codedeploy", CODEDEPLOY_TARGET, input)
            .await
    }

    async fn commands<I: Serialize, O: DeserializeOwned>(
        &self,
        operation: &'static str,
        input: &I,
    ) -> Result<O, ClientError> {
        self.json_call(operation, COMMANDS_SERVICE, COMMANDS_TARGET, input)
            .await
    }

    async fn json_call<I: Serialize, O: DeserializeOwned>(
        &self,
        operation: &'static str,
        service: &'static str,
        target_prefix: &str,
        input: &I,
    ) -> Result<O, ClientError> {
        let body = serde_json::to_vec(input).map_err(|e| ClientError::Decode {
            operation,
            message: format!("cannot encode the request: {e}"),
        })?;
        let target = format!("{target_prefix}.{operation}");
        let answer = self
            .call(
                operation,
                service,
                "POST",
                "/",
                "",
                JSON_CONTENT_TYPE,
                Some(&target),
                Bytes::from(body),
            )
            .await?;
        if answer.status != 200 {
            return Err(json_error(operation, answer.status, &answer.body));
        }
        let body: &[u8] = if answer.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &answer.body
        };
        serde_json::from_slice(body).map_err(|e| ClientError::Decode {
            operation,
            message: format!("{e} in {}", preview(&String::from_utf8_lossy(body))),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn call(
        &self,
        operation: &'static str,
        service: &str,
        method: &'static str,
        path: &str,
        query: &str,
        content_type: &str,
        target: Option<&str>,
        body: Bytes,
    ) -> Result<Buffered, ClientError> {
        let mut extra = vec![("content-type", content_type)];
        if let Some(target) = target {
            extra.push(("x-amz-target", target));
        }
        let req = self.signed(operation, service, method, path, query, &extra, body)?;
        self.http
            .send_buffered(req, self.timeout, MAX_ANSWER_BYTES)
            .await
            .map_err(|source| ClientError::Http { operation, source })
    }

    #[allow(clippy::too_many_arguments)]
    fn signed(
        &self,
        operation: &'static str,
        service: &str,
        method: &'static str,
        path: &str,
        query: &str,
        extra_headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Request, ClientError> {
        let endpoint = self.http.endpoint();
        let path = endpoint.path(path);
        let mut headers = vec![("host".to_owned(), endpoint.authority.clone())];
        headers.extend(
            extra_headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
        let params = SigningParams {
            credentials: &self.credentials,
            region: &self.region,
            service,
            now: now_secs(),
        };
        sign::sign(
            &params,
            method,
            &path,
            query,
            &mut headers,
            PayloadHash::Body(&body),
        )
        .map_err(|source| ClientError::Sign { operation, source })?;
        Ok(Request {
            method,
            path,
            query: query.to_owned(),
            headers,
            body,
        })
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A JSON 1.1 error answer: the exception name from `__type` (without a `namespace#` prefix or
/// a `:detail` suffix), the message from `message` or `Message`.
pub(crate) fn json_error(operation: &'static str, status: u16, body: &[u8]) -> ClientError {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let code = field("__type")
        .or_else(|| field("code"))
        .map(|t| {
            let t = t.rsplit('#').next().unwrap_or_default();
            t.split(':').next().unwrap_or_default().to_owned()
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = field("message")
        .or_else(|| field("Message"))
        .unwrap_or_else(|| preview(&String::from_utf8_lossy(body)));
    ClientError::Service {
        operation,
        status,
        code,
        message,
    }
}

/// An XML error answer (STS's `<ErrorResponse><Error>` or S3's `<Error>`).
fn xml_error(operation: &'static str, status: u16, body: &str) -> ClientError {
    ClientError::Service {
        operation,
        status,
        code: xml_text(body, "Code")
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| format!("HTTP {status}")),
        message: xml_text(body, "Message").unwrap_or_else(|| preview(body)),
    }
}

/// The text of the first `<tag>…</tag>` element of a document, entities decoded.
pub fn xml_text(doc: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = doc.find(&open)? + open.len();
    let len = doc[start..].find(&close)?;
    Some(xml_unescape(doc[start..start + len].trim()))
}

fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The start of a body, for error messages.
fn preview(text: &str) -> String {
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_from_the_sts_answer() {
        let doc = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::123456789012:assumed-role/deploy&amp;ops/host-1</Arn>
    <UserId>AROAEXAMPLE:host-1</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;
        let arn = xml_text(doc, "Arn").unwrap();
        assert_eq!(
            arn,
            "arn:aws:sts::123456789012:assumed-role/deploy&ops/host-1"
        );
        assert_eq!(xml_text(doc, "Account").unwrap(), "123456789012");
        assert_eq!(xml_text(doc, "Missing"), None);
        assert!(matches!(
            IamIdentity::from_caller_arn(&arn),
            IamIdentity::Session(_)
        ));
        assert_eq!(
            IamIdentity::from_caller_arn("arn:aws:iam::123456789012:user/host"),
            IamIdentity::User("arn:aws:iam::123456789012:user/host".into())
        );
        assert_eq!(xml_unescape("a&lt;b&#62;&#x41;&bogus; &"), "a<b>A&bogus; &");
    }

    #[test]
    fn error_answers_keep_the_exception_name() {
        let e = json_error(
            "RegisterOnPremisesInstance",
            400,
            br#"{"__type":"com.amazonaws.codedeploy#InstanceNameAlreadyRegisteredException","message":"taken"}"#,
        );
        assert_eq!(e.code(), Some("InstanceNameAlreadyRegisteredException"));
        assert!(!e.is_transient());
        assert_eq!(
            e.to_string(),
            "RegisterOnPremisesInstance failed (InstanceNameAlreadyRegisteredException): taken"
        );
        let e = json_error(
            "PollHostCommand",
            400,
            br#"{"__type":"ThrottlingException:x","Message":"slow"}"#,
        );
        assert_eq!(e.code(), Some("ThrottlingException"));
        assert!(e.is_transient());
        let e = json_error("PollHostCommand", 502, b"<html>bad gateway</html>");
        assert_eq!(e.code(), Some("HTTP 502"));
        assert!(e.is_transient());
        let e = xml_error(
            "GetObject",
            404,
            "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
        );
        assert_eq!(e.code(), Some("NoSuchKey"));
        assert!(e.to_string().contains("The specified key does not exist."));
        let e = xml_error(
            "GetCallerIdentity",
            403,
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>bad key</Message></Error></ErrorResponse>",
        );
        assert_eq!(e.code(), Some("InvalidClientTokenId"));
    }

    #[test]
    fn specification_envelopes() {
        let payload = r#"{"DeploymentId":"d-1","DeploymentGroupId":"g","DeploymentGroupName":"n","ApplicationName":"a","Revision":{"RevisionType":"S3","S3Revision":{"Bucket":"b","Key":"k","BundleType":"zip"}}}"#;
        let envelope = SpecificationEnvelope {
            deployment_system: "CodeDeploy".into(),
            format: "TEXT/JSON".into(),
            payload: payload.into(),
        };
        assert_eq!(envelope.deployment_spec().unwrap().deployment_id, "d-1");
        let signed = SpecificationEnvelope {
            format: "PKCS7/JSON".into(),
            ..envelope.clone()
        };
        assert_eq!(signed.deployment_spec(), Err(SpecError::Signed));
        assert!(SpecError::Signed.to_string().contains("TEXT/JSON"));
        let other = SpecificationEnvelope {
            deployment_system: "Other".into(),
            ..envelope.clone()
        };
        assert!(matches!(
            other.deployment_spec(),
            Err(SpecError::DeploymentSystem(_))
        ));
        let broken = SpecificationEnvelope {
            payload: "{".into(),
            ..envelope
        };
        assert!(matches!(
            broken.deployment_spec(),
            Err(SpecError::Invalid(_))
        ));
    }

    #[test]
    fn wire_shapes() {
        let out: PollOutput = serde_json::from_str(
            r#"{"HostCommand":{"HostCommandIdentifier":"c1","HostIdentifier":"arn:h","DeploymentExecutionId":"r/d-1/i/1","CommandName":"BeforeInstall","Nonce":7}}"#,
        )
        .unwrap();
        let cmd = out.host_command.unwrap();
        assert_eq!(
            (cmd.command_name.as_str(), cmd.nonce),
            ("BeforeInstall", Some(7))
        );
        let out: PollOutput = serde_json::from_str("{}").unwrap();
        assert!(out.host_command.is_none());
        let out: StatusOutput = serde_json::from_str(r#"{"CommandStatus":"InProgress"}"#).unwrap();
        assert_eq!(out.command_status, Some(CommandStatus::InProgress));
        let out: StatusOutput = serde_json::from_str(r#"{"CommandStatus":"Weird"}"#).unwrap();
        assert_eq!(out.command_status, Some(CommandStatus::Unknown));
        let info: GetInstanceOutput = serde_json::from_str(
            r#"{"instanceInfo":{"instanceName":"web-1","iamUserArn":"arn:u","registerTime":1.5,"tags":[{"Key":"env","Value":"prod"}]}}"#,
        )
        .unwrap();
        let info = info.instance_info.unwrap();
        assert_eq!(info.arn(), Some("arn:u"));
        assert!(!info.is_deregistered());
        assert_eq!(
            info.tags,
            vec![Tag {
                key: "env".into(),
                value: "prod".into()
            }]
        );
        assert_eq!(
            serde_json::to_string(&Tag {
                key: "k".into(),
                value: "v".into()
            })
            .unwrap(),
            r#"{"Key":"k","Value":"v"}"#
        );
    }
}
