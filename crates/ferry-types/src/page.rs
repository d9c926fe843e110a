//! Opaque, URL-safe pagination tokens. A token carries the sort key of the last item a page
//! returned, so the next page starts after it even if items were added or removed meanwhile.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes the position after which the next page starts.
pub fn encode(after: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{after}"))
}

/// Decodes a token made by [`encode`]; `None` for anything else.
pub fn decode(token: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    s.strip_prefix("v1:").map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_reject_garbage() {
        let t = super::encode("repo-42");
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(super::decode(&t).as_deref(), Some("repo-42"));
        assert_eq!(super::decode("not a token"), None);
        assert_eq!(super::decode(&super::encode("")).as_deref(), Some(""));
    }
}
