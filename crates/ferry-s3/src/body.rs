//! Taking in an object's bytes: decode `aws-chunked` bodies (checking chunk signatures),
//! stream into a new blob while computing MD5 (the ETag) and whatever the client asked to be
//! checked (`Content-MD5`, the signed SHA-256, `x-amz-checksum-*` headers or trailers).
//! Nothing becomes visible unless every check passes: on any failure the blob is discarded.

use axum::body::Body;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ferry_store::blob::{BlobWriter, LocalBlobStore};
use ferry_wire::chunked::{ChunkDecoder, ChunkSigner};
use http_body_util::BodyExt;
use md5::Md5;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::S3Error;

/// What the signature says about the payload.
#[derive(Debug, Clone)]
pub enum PayloadMode {
    /// The SHA-256 (hex) the signature covers; the body must hash to it.
    Sha256(String),
    /// `UNSIGNED-PAYLOAD` (and presigned URLs).
    Unsigned,
    /// `aws-chunked`: signed chunks when `signer` is set, trailing headers when `trailer`.
    Chunked {
        signer: Option<ChunkSigner>,
        trailer: bool,
    },
}

/// Checksum algorithms Ferry verifies and stores.
pub const CHECKSUMS: [&str; 3] = ["crc32", "sha1", "sha256"];
/// Checksum algorithms clients may name that Ferry does not compute.
const UNSUPPORTED_CHECKSUMS: [&str; 2] = ["crc32c", "crc64nvme"];

/// An object's bytes, written and checked.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub blob_key: String,
    pub size: u64,
    pub md5: [u8; 16],
    /// Verified `x-amz-checksum-<alg>` header names and base64 values.
    pub checksums: Vec<(String, String)>,
}

impl Ingested {
    /// The ETag of a single-part object (hex MD5, no quotes).
    pub fn etag(&self) -> String {
        hex::encode(self.md5)
    }
}

/// A fresh, opaque blob key for object bytes (never derived from the object's name).
pub fn new_blob_key() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("s3/{}/{id}", &id[..2])
}

/// Running digests of a body.
pub struct Digests {
    md5: Md5,
    sha256: Option<Sha256>,
    sha1: Option<sha1::Sha1>,
    crc32: Option<crc32fast::Hasher>,
}

impl Digests {
    pub fn new(sha256: bool, checks: &[String]) -> Self {
        let wants = |a: &str| checks.iter().any(|c| c == a);
        Self {
            md5: Md5::new(),
            sha256: (sha256 || wants("sha256")).then(Sha256::new),
            sha1: wants("sha1").then(sha1::Sha1::new),
            crc32: wants("crc32").then(crc32fast::Hasher::new),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.crc32 {
            h.update(data);
        }
    }

    /// `(md5, sha256 hex, checksum values by algorithm (base64))`.
    fn finish(self) -> ([u8; 16], Option<String>, Vec<(&'static str, String)>) {
        let mut sums = Vec::new();
        let sha = self.sha256.map(|h| h.finalize());
        if let Some(s) = &sha {
            sums.push(("sha256", B64.encode(s)));
        }
        if let Some(h) = self.sha1 {
            sums.push(("sha1", B64.encode(h.finalize())));
        }
        if let Some(h) = self.crc32 {
            sums.push(("crc32", B64.encode(h.finalize().to_be_bytes())));
        }
        (self.md5.finalize().into(), sha.map(hex::encode), sums)
    }
}

/// The checksum algorithms a request asks to have verified, from its headers and its
/// declared trailer.
fn requested_checksums(headers: &HeaderMap) -> Result<Vec<String>, S3Error> {
    let mut names: Vec<String> = headers
        .keys()
        .filter_map(|k| k.as_str().strip_prefix("x-amz-checksum-"))
        .filter(|a| *a != "type" && *a != "mode" && *a != "algorithm")
        .map(str::to_owned)
        .collect();
    if let Some(t) = headers.get("x-amz-trailer").and_then(|v| v.to_str().ok()) {
        for t in t.split(',') {
            let t = t.trim().to_ascii_lowercase();
            match t.strip_prefix("x-amz-checksum-") {
                Some(a) => names.push(a.to_owned()),
                None => {
                    return Err(S3Error::new(
                        "InvalidRequest",
                        400,
                        format!("Unsupported trailer {t}"),
                    ));
                }
            }
        }
    }
    for n in &names {
        check_algorithm(n)?;
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// Checks that Ferry computes the checksum algorithm `name` (lower case).
pub fn check_algorithm(name: &str) -> Result<(), S3Error> {
    if UNSUPPORTED_CHECKSUMS.contains(&name) {
        return Err(S3Error::new(
            "InvalidRequest",
            400,
            format!(
                "Ferry does not support the {} checksum algorithm yet; use CRC32, SHA1 or SHA256.",
                name.to_ascii_uppercase()
            ),
        ));
    }
    if !CHECKSUMS.contains(&name) {
        return Err(S3Error::invalid_argument(format!(
            "Invalid checksum algorithm: {name}"
        )));
    }
    Ok(())
}

/// The checksum (base64) of `data` with the algorithm `alg` (one of [`CHECKSUMS`]).
pub fn checksum_of(alg: &str, data: &[u8]) -> Option<String> {
    let mut d = Digests::new(false, &[alg.to_owned()]);
    d.update(data);
    let (_, _, sums) = d.finish();
    sums.into_iter().find(|(a, _)| *a == alg).map(|(_, v)| v)
}

fn content_md5(headers: &HeaderMap) -> Result<Option<[u8; 16]>, S3Error> {
    let Some(v) = headers.get("content-md5") else {
        return Ok(None);
    };
    let invalid = || {
        S3Error::new(
            "InvalidDigest",
            400,
            "The Content-MD5 you specified was invalid.",
        )
    };
    let raw = B64
        .decode(v.to_str().map_err(|_| invalid())?.trim())
        .map_err(|_| invalid())?;
    raw.try_into().map(Some).map_err(|_| invalid())
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Streams a request body into a new blob and checks it. `compute` names a checksum
/// algorithm to record even when the client sent no value for it (a multipart upload's).
pub async fn ingest(
    blobs: &LocalBlobStore,
    headers: &HeaderMap,
    body: &mut Body,
    mode: &PayloadMode,
    max_size: u64,
    compute: Option<&str>,
) -> Result<Ingested, S3Error> {
    let checks = requested_checksums(headers)?;
    let computed: Vec<String> = checks
        .iter()
        .cloned()
        .chain(compute.map(str::to_owned))
        .collect();
    let md5_expected = content_md5(headers)?;
    let declared_len = match mode {
        PayloadMode::Chunked { .. } => Some(
            header_u64(headers, "x-amz-decoded-content-length").ok_or_else(|| {
                S3Error::new(
                    "MissingContentLength",
                    411,
                    "You must provide the Content-Length HTTP header.",
                )
            })?,
        ),
        _ => header_u64(headers, "content-length"),
    };
    if declared_len.is_some_and(|l| l > max_size) {
        return Err(S3Error::new(
            "EntityTooLarge",
            400,
            "Your proposed upload exceeds the maximum allowed size",
        ));
    }
    let mut digests = Digests::new(matches!(mode, PayloadMode::Sha256(_)), &computed);
    let blob_key = new_blob_key();
    let mut writer = blobs.writer(&blob_key).await?;
    let result = pump(&mut writer, &mut digests, body, mode, max_size).await;
    let trailers = match result {
        Ok(t) => t,
        Err(e) => {
            writer.abort().await;
            return Err(e);
        }
    };
    let size = writer.size();
    let (md5, sha256, sums) = digests.finish();
    let verdict = verify(
        headers,
        mode,
        &checks,
        &trailers,
        md5_expected,
        md5,
        sha256,
        &sums,
        size,
        declared_len,
    );
    let mut checksums = match verdict {
        Ok(c) => c,
        Err(e) => {
            writer.abort().await;
            return Err(e);
        }
    };
    for (alg, v) in &sums {
        let name = format!("x-amz-checksum-{alg}");
        if compute == Some(*alg) && !checksums.iter().any(|(n, _)| *n == name) {
            checksums.push((name, v.clone()));
        }
    }
    writer.commit().await?;
    Ok(Ingested {
        blob_key,
        size,
        md5,
        checksums,
    })
}

async fn pump(
    writer: &mut BlobWriter,
    digests: &mut Digests,
    body: &mut Body,
    mode: &PayloadMode,
    max_size: u64,
) -> Result<Vec<(String, String)>, S3Error> {
    let mut decoder = match mode {
        PayloadMode::Chunked { signer, trailer } => {
            Some(ChunkDecoder::new(signer.clone(), *trailer))
        }
        _ => None,
    };
    let mut out = Vec::new();
    let chunk_error = |e: ferry_wire::chunked::ChunkError| match e {
        ferry_wire::chunked::ChunkError::BadSignature => S3Error::new(
            "SignatureDoesNotMatch",
            403,
            "The request signature we calculated does not match the signature you provided.",
        ),
        ferry_wire::chunked::ChunkError::Incomplete => incomplete(),
        other => S3Error::new("IncompleteBody", 400, other.to_string()),
    };
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| incomplete())?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let piece: &[u8] = match &mut decoder {
            Some(d) => {
                out.clear();
                d.feed(&data, &mut out).map_err(chunk_error)?;
                &out
            }
            None => &data,
        };
        if writer.size() + piece.len() as u64 > max_size {
            return Err(S3Error::new(
                "EntityTooLarge",
                400,
                "Your proposed upload exceeds the maximum allowed size",
            ));
        }
        digests.update(piece);
        writer.write(piece).await?;
    }
    match decoder {
        Some(d) => d.finish().map_err(chunk_error),
        None => Ok(Vec::new()),
    }
}

fn incomplete() -> S3Error {
    S3Error::new(
        "IncompleteBody",
        400,
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
    )
}

#[allow(clippy::too_many_arguments)]
fn verify(
    headers: &HeaderMap,
    mode: &PayloadMode,
    checks: &[String],
    trailers: &[(String, String)],
    md5_expected: Option<[u8; 16]>,
    md5: [u8; 16],
    sha256: Option<String>,
    sums: &[(&'static str, String)],
    size: u64,
    declared_len: Option<u64>,
) -> Result<Vec<(String, String)>, S3Error> {
    if declared_len.is_some_and(|l| l != size) {
        return Err(incomplete());
    }
    if md5_expected.is_some_and(|m| m != md5) {
        return Err(S3Error::new(
            "BadDigest",
            400,
            "The Content-MD5 you specified did not match what we received.",
        ));
    }
    if let (PayloadMode::Sha256(claimed), Some(actual)) = (mode, &sha256)
        && !claimed.eq_ignore_ascii_case(actual)
    {
        return Err(S3Error::new(
            "XAmzContentSHA256Mismatch",
            400,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
        .with("ClientComputedContentSHA256", claimed.clone())
        .with("S3ComputedContentSHA256", actual.clone()));
    }
    let mut verified = Vec::new();
    for alg in checks {
        let name = format!("x-amz-checksum-{alg}");
        let given = headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| {
                trailers
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
            })
            .ok_or_else(|| {
                S3Error::new(
                    "InvalidRequest",
                    400,
                    format!("The {name} trailer was declared but not sent."),
                )
            })?;
        let actual = sums
            .iter()
            .find(|(a, _)| a == alg)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        if given.trim() != actual {
            return Err(S3Error::new(
                "BadDigest",
                400,
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    alg.to_ascii_uppercase()
                ),
            ));
        }
        verified.push((name, actual.to_owned()));
    }
    Ok(verified)
}

/// Copies readers one after another into a new blob, computing the MD5 and the checksum
/// `compute` names, if any (for CopyObject and completing multipart uploads).
pub async fn assemble(
    blobs: &LocalBlobStore,
    sources: Vec<std::pin::Pin<Box<dyn AsyncRead + Send>>>,
    compute: Option<&str>,
) -> Result<Ingested, S3Error> {
    let blob_key = new_blob_key();
    let mut writer = blobs.writer(&blob_key).await?;
    let compute: Vec<String> = compute.map(str::to_owned).into_iter().collect();
    let mut digests = Digests::new(false, &compute);
    let mut buf = vec![0u8; 256 * 1024];
    let copied = async {
        for mut r in sources {
            loop {
                let n = r.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                digests.update(&buf[..n]);
                writer.write(&buf[..n]).await?;
            }
        }
        Ok::<_, ferry_store::StoreError>(())
    }
    .await;
    if let Err(e) = copied {
        writer.abort().await;
        return Err(e.into());
    }
    let size = writer.commit().await?;
    let (md5, _, sums) = digests.finish();
    Ok(Ingested {
        blob_key,
        size,
        md5,
        checksums: sums
            .into_iter()
            .filter(|(a, _)| compute.iter().any(|c| c == a))
            .map(|(a, v)| (format!("x-amz-checksum-{a}"), v))
            .collect(),
    })
}

/// Reads a small body (XML documents) whole, with the same checks as [`ingest`].
pub async fn small(
    headers: &HeaderMap,
    body: &mut Body,
    mode: &PayloadMode,
) -> Result<Vec<u8>, S3Error> {
    small_with(headers, body, mode, true).await
}

/// [`small`], where `x-amz-checksum-*` headers describe the body only when `body_checksums`
/// (on CompleteMultipartUpload they are the whole object's checksum, not the document's).
pub async fn small_with(
    headers: &HeaderMap,
    body: &mut Body,
    mode: &PayloadMode,
    body_checksums: bool,
) -> Result<Vec<u8>, S3Error> {
    let checks = if body_checksums {
        requested_checksums(headers)?
    } else {
        Vec::new()
    };
    let md5_expected = content_md5(headers)?;
    let bytes = axum::body::to_bytes(std::mem::take(body), crate::xml::MAX_XML_BODY)
        .await
        .map_err(|_| S3Error::new("MaxMessageLengthExceeded", 400, "Your request was too big."))?;
    let (bytes, trailers) = match mode {
        PayloadMode::Chunked { signer, trailer } => {
            let mut d = ChunkDecoder::new(signer.clone(), *trailer);
            let mut out = Vec::new();
            let trailers = d
                .feed(&bytes, &mut out)
                .and_then(|_| d.finish())
                .map_err(|e| S3Error::new("IncompleteBody", 400, e.to_string()))?;
            (out, trailers)
        }
        _ => (bytes.to_vec(), Vec::new()),
    };
    let mut digests = Digests::new(matches!(mode, PayloadMode::Sha256(_)), &checks);
    digests.update(&bytes);
    let (md5, sha256, sums) = digests.finish();
    verify(
        headers,
        mode,
        &checks,
        &trailers,
        md5_expected,
        md5,
        sha256,
        &sums,
        bytes.len() as u64,
        None,
    )?;
    Ok(bytes)
}

/// Reads and discards what is left of a request body, up to `limit` bytes or `within`;
/// `true` when the body was read to its end (so the connection can be reused).
pub async fn drain(body: &mut Body, limit: u64, within: std::time::Duration) -> bool {
    let read = async {
        let mut seen = 0u64;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            if let Ok(d) = frame.into_data() {
                seen += d.len() as u64;
                if seen > limit {
                    return false;
                }
            }
        }
        true
    };
    tokio::time::timeout(within, read).await.unwrap_or(false)
}
