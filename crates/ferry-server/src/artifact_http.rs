//! The package managers' endpoints: `/codeartifact/<domain>-<owner>/<format>/<repository>/…`,
//! the base of every URL GetRepositoryEndpoint returns. The request is handed to
//! `ferry_artifact::native` — a package file upload as a stream, anything else read whole (up
//! to [`MAX_BODY`]) — which authenticates it with a
//! CodeArtifact token and speaks the format's protocol. Package files are streamed from the
//! blob store, never read into memory.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use ferry_artifact::native::{BodyStream, NativeRequest, NativeResponse, streams_body};
use futures_util::TryStreamExt;
use tokio_util::io::{ReaderStream, StreamReader};

use crate::state::SharedState;

/// The path every repository endpoint starts with.
pub const PREFIX: &str = "/codeartifact/";

/// Package files up to this size are read whole to answer; larger ones are streamed.
const WHOLE_READ: u64 = 4 << 20;
/// The pieces a streamed package file is read in.
const STREAM_PIECE: usize = 256 << 10;

/// The largest request body read (an npm publish carries its tarball in base64).
const MAX_BODY: usize = 512 * 1024 * 1024;

fn answer(r: NativeResponse, head: bool) -> Response {
    answer_with(r, head, None)
}

/// The response, its body `stream` when it is a stored content being streamed.
fn answer_with(r: NativeResponse, head: bool, stream: Option<Body>) -> Response {
    let len = r.file.as_ref().map_or(r.body.len() as u64, |f| f.size);
    let mut resp = Response::new(match stream {
        _ if head => Body::empty(),
        Some(s) => s,
        None => Body::from(r.body),
    });
    *resp.status_mut() =
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(r.content_type),
    );
    if (head || r.file.is_some())
        && let Ok(v) = HeaderValue::from_str(&len.to_string())
    {
        resp.headers_mut().insert(header::CONTENT_LENGTH, v);
    }
    for (k, v) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(HeaderName::from_static(k), v);
        }
    }
    resp
}

pub async fn handle(State(st): State<SharedState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let rest = path.strip_prefix(PREFIX).unwrap_or_default();
    let mut segs = rest.splitn(4, '/');
    let (Some(endpoint), Some(format), Some(repository)) = (segs.next(), segs.next(), segs.next())
    else {
        return answer(
            NativeResponse::error(404, "Not a repository endpoint"),
            false,
        );
    };
    let rest = segs.next().unwrap_or_default().to_owned();
    // A package file upload is handed over as it arrives; anything else is read whole.
    let (body, stream) = if streams_body(format, parts.method.as_str(), &rest) {
        let reader = StreamReader::new(body.into_data_stream().map_err(std::io::Error::other));
        (Vec::new(), BodyStream::new(Box::pin(reader)))
    } else {
        match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => (b.to_vec(), BodyStream::default()),
            Err(_) => {
                return answer(
                    NativeResponse::error(413, "The request body is too large"),
                    false,
                );
            }
        }
    };
    let head = parts.method == axum::http::Method::HEAD;
    let native = NativeRequest {
        method: if head {
            "GET".into()
        } else {
            parts.method.as_str().to_owned()
        },
        endpoint: endpoint.to_owned(),
        format: format.to_owned(),
        repository: repository.to_owned(),
        rest,
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_owned(), v.to_owned()))
            })
            .collect(),
        body,
        stream,
    };
    let r = st.artifacts.0.native(native).await;
    let stream = match &r.file {
        // A small file in one read (each read of a file is a trip to a blocking thread), a
        // large one streamed in large pieces.
        Some(f) if !head && f.size <= WHOLE_READ => match st.artifacts.0.content_of(f).await {
            Ok(bytes) => Some(Body::from(bytes)),
            Err(e) => return answer(NativeResponse::error(500, e.message), false),
        },
        Some(f) if !head => match st.artifacts.0.open_content(f).await {
            Ok(reader) => Some(Body::from_stream(ReaderStream::with_capacity(
                reader,
                STREAM_PIECE,
            ))),
            Err(e) => return answer(NativeResponse::error(500, e.message), false),
        },
        _ => None,
    };
    answer_with(r, head, stream)
}
