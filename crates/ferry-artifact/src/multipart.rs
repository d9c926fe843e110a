//! `multipart/form-data` bodies (RFC 7578), as twine uploads them, read as they arrive: the
//! boundary from the content type, each part's name and file name, the small parts into
//! memory and the file part streamed into a sink (a spool that hashes it), never whole in
//! memory.

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A parameter of a `Content-Disposition` value (`name="…"`, `filename="…"`).
fn param(disposition: &str, key: &str) -> Option<String> {
    let mut rest = disposition;
    while let Some(at) = rest.find(key) {
        let before = rest[..at].chars().last();
        let after = &rest[at + key.len()..];
        if before.is_none_or(|c| c == ';' || c.is_whitespace())
            && let Some(v) = after.strip_prefix("=\"")
        {
            return v.find('"').map(|end| v[..end].to_owned());
        }
        rest = after;
    }
    None
}

/// Where a streamed file part goes as it arrives.
pub trait FileSink {
    fn write(&mut self, data: &[u8]) -> impl std::future::Future<Output = Result<(), String>>;
}

impl FileSink for Vec<u8> {
    async fn write(&mut self, data: &[u8]) -> Result<(), String> {
        self.extend_from_slice(data);
        Ok(())
    }
}

impl FileSink for crate::assets::Spool {
    async fn write(&mut self, data: &[u8]) -> Result<(), String> {
        crate::assets::Spool::write(self, data).await
    }
}

/// The most bytes of a field (or of a part's headers, or before the first boundary).
const MAX_FIELD: usize = 1 << 20;
/// The most bytes of all fields together.
const MAX_FIELDS: usize = 8 << 20;

/// A form read from a stream: its parts held in memory, and the part named `file_field`
/// with a file name (its `data` empty) with its content in the sink it was streamed into.
pub struct StreamedForm<S> {
    pub parts: Vec<Part>,
    pub file: Option<(Part, S)>,
}

/// The unread bytes of a stream, refilled as needed.
struct Scan<R> {
    reader: R,
    buf: Vec<u8>,
    at: usize,
}

impl<R: tokio::io::AsyncRead + Unpin> Scan<R> {
    fn data(&self) -> &[u8] {
        &self.buf[self.at..]
    }

    fn consume(&mut self, n: usize) {
        self.at += n;
        if self.at > 64 * 1024 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
    }

    /// Reads more; `false` at the end of the stream.
    async fn fill(&mut self) -> Result<bool, String> {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 64 * 1024];
        let n = self
            .reader
            .read(&mut chunk)
            .await
            .map_err(|e| format!("the upload was cut off: {e}"))?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Reads until `needle` is in the unread bytes within `limit` of them; its position.
    async fn find(&mut self, needle: &[u8], limit: usize) -> Result<usize, String> {
        loop {
            if let Some(p) = find(self.data(), needle, 0) {
                return Ok(p);
            }
            if self.data().len() > limit || !self.fill().await? {
                return Err(MALFORMED.into());
            }
        }
    }

    /// Hands everything before `close` to `sink`, and consumes `close`.
    async fn stream_to(&mut self, close: &[u8], sink: &mut impl FileSink) -> Result<(), String> {
        loop {
            if let Some(p) = find(self.data(), close, 0) {
                sink.write(&self.data()[..p]).await?;
                self.consume(p + close.len());
                return Ok(());
            }
            // All but what could be the start of `close` is file content.
            let safe = self.data().len().saturating_sub(close.len() - 1);
            if safe > 0 {
                sink.write(&self.data()[..safe]).await?;
                self.consume(safe);
            }
            if !self.fill().await? {
                return Err("the upload was cut off before the end of the form".into());
            }
        }
    }
}

const MALFORMED: &str = "The upload is not a well-formed multipart/form-data form";

/// Reads a form from `reader` as it arrives: the part named `file_field` that carries a file
/// goes to the sink `new_sink` makes, every other part into memory (within limits).
pub async fn parse_stream<S, F, Fut>(
    reader: impl tokio::io::AsyncRead + Unpin,
    boundary: &str,
    file_field: &str,
    new_sink: F,
) -> Result<StreamedForm<S>, String>
where
    S: FileSink,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<S, String>>,
{
    let delim = format!("--{boundary}");
    let close = format!("\r\n{delim}");
    let mut scan = Scan {
        reader,
        buf: Vec::new(),
        at: 0,
    };
    let mut form = StreamedForm {
        parts: Vec::new(),
        file: None,
    };
    let mut new_sink = Some(new_sink);
    let mut held = 0usize;
    let first = scan.find(delim.as_bytes(), MAX_FIELD).await?;
    scan.consume(first + delim.len());
    loop {
        while scan.data().len() < 2 {
            if !scan.fill().await? {
                return Err(MALFORMED.into());
            }
        }
        if scan.data().starts_with(b"--") {
            return Ok(form);
        }
        let line_end = scan.find(b"\r\n", 256).await?;
        scan.consume(line_end + 2);
        let head_end = scan.find(b"\r\n\r\n", MAX_FIELD).await?;
        let head = std::str::from_utf8(&scan.data()[..head_end])
            .map_err(|_| MALFORMED.to_owned())?
            .to_owned();
        scan.consume(head_end + 4);
        let disposition = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-disposition")
                    .then(|| v.trim().to_owned())
            })
            .ok_or(MALFORMED)?;
        let part = Part {
            name: param(&disposition, "name").ok_or(MALFORMED)?,
            filename: param(&disposition, "filename"),
            data: Vec::new(),
        };
        if part.name == file_field && part.filename.is_some() {
            let Some(make) = new_sink.take() else {
                return Err(format!("The form has more than one {file_field} file"));
            };
            let mut sink = make().await?;
            scan.stream_to(close.as_bytes(), &mut sink).await?;
            form.file = Some((part, sink));
        } else {
            let end = scan.find(close.as_bytes(), MAX_FIELD).await?;
            held += end;
            if held > MAX_FIELDS {
                return Err("The form's fields are too large".into());
            }
            let mut part = part;
            part.data = scan.data()[..end].to_vec();
            scan.consume(end + close.len());
            form.parts.push(part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(body: &[u8], chunked: bool) -> Result<StreamedForm<Vec<u8>>, String> {
        // A reader that hands over one byte at a time exercises every refill path.
        struct Trickle<'a>(&'a [u8]);
        impl tokio::io::AsyncRead for Trickle<'_> {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                if let Some((first, rest)) = self.0.split_first() {
                    buf.put_slice(&[*first]);
                    self.0 = rest;
                }
                std::task::Poll::Ready(Ok(()))
            }
        }
        if chunked {
            parse_stream(Trickle(body), "xyz", "content", || async { Ok(Vec::new()) }).await
        } else {
            parse_stream(body, "xyz", "content", || async { Ok(Vec::new()) }).await
        }
    }

    #[tokio::test]
    async fn a_twine_style_form() {
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\":action\"\r\n\r\nfile_upload\r\n--xyz\r\nContent-Disposition: form-data; name=\"requires_dist\"\r\n\r\nrequests>=2\r\n--xyz\r\nContent-Disposition: form-data; name=\"requires_dist\"\r\n\r\nclick\r\n--xyz\r\nContent-Disposition: form-data; name=\"content\"; filename=\"demo-1.0.tar.gz\"\r\nContent-Type: application/octet-stream\r\n\r\n\x1f\x8b\r\n--x\r\n--xyz--\r\n";
        assert_eq!(
            boundary("multipart/form-data; boundary=xyz").as_deref(),
            Some("xyz")
        );
        for chunked in [false, true] {
            let form = read(body, chunked).await.unwrap();
            assert_eq!(form.parts.len(), 3);
            assert_eq!(form.parts[0].name, ":action");
            assert_eq!(form.parts[0].data, b"file_upload");
            assert_eq!(form.parts[2].data, b"click");
            let (part, data) = form.file.unwrap();
            assert_eq!(part.filename.as_deref(), Some("demo-1.0.tar.gz"));
            assert_eq!(data, b"\x1f\x8b\r\n--x");
        }
    }

    #[tokio::test]
    async fn refusals() {
        assert_eq!(boundary("application/json"), None);
        assert_eq!(
            boundary("multipart/form-data; boundary=\"q\"").as_deref(),
            Some("q")
        );
        assert!(read(b"--xyz\r\nno end", true).await.is_err());
        assert!(read(b"garbage", false).await.is_err());
        let cut = b"--xyz\r\nContent-Disposition: form-data; name=\"content\"; filename=\"a.whl\"\r\n\r\nhalf a fi";
        let e = read(cut, true).await.err().unwrap();
        assert!(e.contains("cut off"), "{e}");
    }
}
