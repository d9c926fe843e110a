//! `multipart/form-data` bodies (RFC 7578), as twine uploads them: the boundary from the
//! content type, then each part's name, file name and bytes. The body is in memory already.

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

/// The parts of `body`; `None` when it is not a well-formed form with that boundary.
pub fn parse(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut at = find(body, delim.as_bytes(), 0)? + delim.len();
    loop {
        if body[at..].starts_with(b"--") {
            return Some(parts);
        }
        at = find(body, b"\r\n", at)? + 2;
        let head_end = find(body, b"\r\n\r\n", at)?;
        let head = std::str::from_utf8(&body[at..head_end]).ok()?;
        let data_start = head_end + 4;
        let next = find(body, format!("\r\n{delim}").as_bytes(), data_start)?;
        let disposition = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then(|| v.trim().to_owned())
        })?;
        parts.push(Part {
            name: param(&disposition, "name")?,
            filename: param(&disposition, "filename"),
            data: body[data_start..next].to_vec(),
        });
        at = next + 2 + delim.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_twine_style_form() {
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\":action\"\r\n\r\nfile_upload\r\n--xyz\r\nContent-Disposition: form-data; name=\"requires_dist\"\r\n\r\nrequests>=2\r\n--xyz\r\nContent-Disposition: form-data; name=\"requires_dist\"\r\n\r\nclick\r\n--xyz\r\nContent-Disposition: form-data; name=\"content\"; filename=\"demo-1.0.tar.gz\"\r\nContent-Type: application/octet-stream\r\n\r\n\x1f\x8b\r\n--x\r\n--xyz--\r\n";
        let b = boundary("multipart/form-data; boundary=xyz").unwrap();
        let parts = parse(body, &b).unwrap();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0].name, ":action");
        assert_eq!(parts[0].data, b"file_upload");
        assert_eq!(parts[2].data, b"click");
        assert_eq!(parts[3].filename.as_deref(), Some("demo-1.0.tar.gz"));
        assert_eq!(parts[3].data, b"\x1f\x8b\r\n--x");
    }

    #[test]
    fn refusals() {
        assert_eq!(boundary("application/json"), None);
        assert_eq!(
            boundary("multipart/form-data; boundary=\"q\"").as_deref(),
            Some("q")
        );
        assert!(parse(b"--xyz\r\nno end", "xyz").is_none());
        assert!(parse(b"garbage", "xyz").is_none());
    }
}
