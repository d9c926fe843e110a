//! A minimal HTTP/1.1 client for the agent's few calls: hyper's connection-level client over a
//! tokio `TcpStream`, or over rustls for `https` endpoints (roots from the system store, which
//! honours `SSL_CERT_FILE` / `SSL_CERT_DIR`). One connection per request: the agent makes a
//! request every few seconds at most, so a pool would cost more memory than it saves.
//!
//! Bodies are either collected under a size limit (API answers) or streamed to a file frame by
//! frame (bundles), with an idle timeout between frames instead of a total one.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

/// The `user-agent` of every request.
pub const USER_AGENT: &str = concat!("ferry-agent/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid endpoint {url:?}: {reason}")]
    InvalidEndpoint { url: String, reason: &'static str },
    #[error("cannot connect to {address}: {source}")]
    Connect { address: String, source: io::Error },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("HTTP: {0}")]
    Protocol(#[from] hyper::Error),
    #[error("invalid request: {0}")]
    Request(String),
    #[error("the response body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// Where the server is: `http(s)://host[:port][/base/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub tls: bool,
    /// The host name or address, IPv6 without brackets.
    pub host: String,
    pub port: u16,
    /// The `Host` header: the authority as written in the URL.
    pub authority: String,
    /// A path prefix without a trailing `/` (empty for `/`).
    pub base_path: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        let invalid = |reason| HttpError::InvalidEndpoint {
            url: url.to_owned(),
            reason,
        };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(invalid("it must start with http:// or https://"));
        };
        if rest.contains(['?', '#']) {
            return Err(invalid("it may not have a query or a fragment"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(invalid("it needs a host (and no user info)"));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| invalid("unclosed '[' in the host"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| invalid("bad port"))?,
                None if after.is_empty() => default_port,
                None => return Err(invalid("bad host")),
            };
            (host.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, p)) => (host.to_owned(), p.parse().map_err(|_| invalid("bad port"))?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(invalid("it needs a host"));
        }
        Ok(Self {
            tls,
            host,
            port,
            authority: authority.to_owned(),
            base_path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// `base_path` + `path` (`path` starts with `/`).
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.base_path)
    }
}

/// A request: `path` already percent-encoded and prefixed with the endpoint's base path,
/// `query` raw without `?`, headers with lower-case names (`host` included).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// A response whose body has not been read yet.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    body: Incoming,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The whole body, refused past `limit` bytes.
    pub async fn bytes(self, limit: usize) -> Result<Bytes, HttpError> {
        collect(self.body, limit).await
    }

    /// Stream the body into `file` (at `path`, for errors), waiting at most `idle` for each
    /// frame. Returns the bytes written.
    pub async fn write_to(
        self,
        file: &mut tokio::fs::File,
        path: &std::path::Path,
        idle: Duration,
    ) -> Result<u64, HttpError> {
        let mut body = self.body;
        let mut written = 0u64;
        let write_err = |source| HttpError::Write {
            path: path.to_owned(),
            source,
        };
        loop {
            let frame = tokio::time::timeout(idle, body.frame())
                .await
                .map_err(|_| HttpError::Timeout(idle))?;
            let Some(frame) = frame else { break };
            if let Ok(data) = frame?.into_data() {
                file.write_all(&data).await.map_err(write_err)?;
                written += data.len() as u64;
            }
        }
        file.flush().await.map_err(write_err)?;
        Ok(written)
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct Buffered {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Buffered {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn collect(body: Incoming, limit: usize) -> Result<Bytes, HttpError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => match e.downcast::<hyper::Error>() {
            Ok(e) => Err(HttpError::Protocol(*e)),
            Err(_) => Err(HttpError::TooLarge(limit)),
        },
    }
}

/// Sends requests to one endpoint.
#[derive(Clone)]
pub struct HttpClient {
    endpoint: Endpoint,
    tls: Option<TlsConnector>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `endpoint`; for https, the system's trusted roots are loaded now.
    pub fn new(endpoint: Endpoint) -> Result<Self, HttpError> {
        let tls = if endpoint.tls {
            Some(TlsConnector::from(tls_config()?))
        } else {
            None
        };
        Ok(Self { endpoint, tls })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Send `req` and wait for the response head, all within `timeout`.
    pub async fn send(&self, req: Request, timeout: Duration) -> Result<Response, HttpError> {
        tokio::time::timeout(timeout, self.send_untimed(req))
            .await
            .map_err(|_| HttpError::Timeout(timeout))?
    }

    /// Send `req` and read the whole answer (up to `limit` bytes), all within `timeout`.
    pub async fn send_buffered(
        &self,
        req: Request,
        timeout: Duration,
        limit: usize,
    ) -> Result<Buffered, HttpError> {
        let exchange = async {
            let Response {
                status,
                headers,
                body,
            } = self.send_untimed(req).await?;
            let body = collect(body, limit).await?;
            Ok(Buffered {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| HttpError::Timeout(timeout))?
    }

    async fn send_untimed(&self, req: Request) -> Result<Response, HttpError> {
        let address = format!("{}:{}", self.endpoint.authority_host(), self.endpoint.port);
        let tcp = TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port))
            .await
            .map_err(|source| HttpError::Connect { address, source })?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => exchange(tcp, req).await,
            Some(connector) => {
                let name = rustls::pki_types::ServerName::try_from(self.endpoint.host.clone())
                    .map_err(|e| HttpError::Tls(e.to_string()))?;
                let stream = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| HttpError::Tls(e.to_string()))?;
                exchange(stream, req).await
            }
        }
    }
}

impl Endpoint {
    fn authority_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

async fn exchange<IO>(io: IO, req: Request) -> Result<Response, HttpError>
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(io)).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "HTTP connection ended with an error");
        }
    });
    let uri = if req.query.is_empty() {
        req.path.clone()
    } else {
        format!("{}?{}", req.path, req.query)
    };
    let mut builder = hyper::Request::builder().method(req.method).uri(uri);
    let mut has_agent = false;
    for (name, value) in &req.headers {
        has_agent |= name == "user-agent";
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !has_agent {
        builder = builder.header("user-agent", USER_AGENT);
    }
    let request = builder
        .body(Full::new(req.body))
        .map_err(|e| HttpError::Request(e.to_string()))?;
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    Ok(Response {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// TLS settings for https endpoints, made once per process.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, HttpError> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(error = %e, "trusted certificates: skipped a source");
            }
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err("no trusted root certificates found (set SSL_CERT_FILE)".to_owned());
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(HttpError::Tls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    #[test]
    fn parses_endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:4590").unwrap();
        assert_eq!(
            (e.tls, e.host.as_str(), e.port, e.authority.as_str()),
            (false, "127.0.0.1", 4590, "127.0.0.1:4590")
        );
        assert_eq!(e.path("/"), "/");
        let e = Endpoint::parse("https://ferry.example/api/").unwrap();
        assert_eq!((e.tls, e.port, e.base_path.as_str()), (true, 443, "/api"));
        assert_eq!(e.path("/b/k"), "/api/b/k");
        let e = Endpoint::parse("http://[::1]:8080").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.authority.as_str()),
            ("::1", 8080, "[::1]:8080")
        );
        assert_eq!(e.authority_host(), "[::1]");
        for bad in [
            "ftp://x",
            "http://",
            "http://h:port",
            "http://u@h",
            "http://h/?q",
            "127.0.0.1:80",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    /// A one-shot server: reads one request head (and its body), answers `answer`.
    async fn one_shot(answer: &'static [u8]) -> (Endpoint, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
            }
            sock.write_all(answer).await.unwrap();
            sock.shutdown().await.unwrap();
            String::from_utf8_lossy(&seen).into_owned()
        });
        (
            Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
            task,
        )
    }

    fn get(endpoint: &Endpoint, path: &str) -> Request {
        Request {
            method: "GET",
            path: endpoint.path(path),
            query: "versionId=1".into(),
            headers: vec![("host".into(), endpoint.authority.clone())],
            body: Bytes::new(),
        }
    }

    #[tokio::test]
    async fn buffered_and_streamed_bodies() {
        let (endpoint, server) =
            one_shot(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"abc\"\r\n\r\nhello").await;
        let client = HttpClient::new(endpoint.clone()).unwrap();
        let resp = client
            .send_buffered(get(&endpoint, "/b/k"), Duration::from_secs(5), 100)
            .await
            .unwrap();
        assert_eq!((resp.status, &resp.body[..]), (200, &b"hello"[..]));
        assert_eq!(resp.header("etag"), Some("\"abc\""));
        let head = server.await.unwrap();
        assert!(
            head.starts_with("GET /b/k?versionId=1 HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(head.contains(USER_AGENT), "{head}");

        let (endpoint, _server) =
            one_shot(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").await;
        let client = HttpClient::new(endpoint.clone()).unwrap();
        let resp = client
            .send(get(&endpoint, "/"), Duration::from_secs(5))
            .await
            .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out");
        let mut file = tokio::fs::File::create(&path).await.unwrap();
        let n = resp
            .write_to(&mut file, &path, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(n, 5);
        assert_eq!(std::fs::read(&path).unwrap(), b"abcde");
    }

    #[tokio::test]
    async fn limits_and_timeouts() {
        let (endpoint, _server) =
            one_shot(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789").await;
        let client = HttpClient::new(endpoint.clone()).unwrap();
        let err = client
            .send_buffered(get(&endpoint, "/"), Duration::from_secs(5), 4)
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::TooLarge(4)), "{err}");

        // A server that accepts but never answers.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _hold = tokio::spawn(async move {
            let (_sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let client = HttpClient::new(endpoint.clone()).unwrap();
        let err = client
            .send(get(&endpoint, "/"), Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Timeout(_)), "{err}");

        // Nobody listening.
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = HttpClient::new(endpoint.clone())
            .unwrap()
            .send(get(&endpoint, "/"), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Connect { .. }), "{err}");
    }
}
