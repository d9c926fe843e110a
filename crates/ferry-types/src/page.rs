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

/// The page of `items` (in order of their sort keys) that follows the position `token` names,
/// at most `size` long, with the token of the next page; `None` when `token` is not a token.
pub fn after_key<T>(
    items: Vec<(String, T)>,
    token: Option<&str>,
    size: usize,
) -> Option<(Vec<T>, Option<String>)> {
    let start = match token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => {
            let after = decode(t)?;
            items
                .iter()
                .position(|(k, _)| *k > after)
                .unwrap_or(items.len())
        }
    };
    let mut rest: Vec<(String, T)> = items.into_iter().skip(start).collect();
    let next = (rest.len() > size).then(|| encode(&rest[size - 1].0));
    rest.truncate(size);
    Some((rest.into_iter().map(|(_, v)| v).collect(), next))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_after_a_key() {
        let items = |n: usize| (0..n).map(|i| (format!("k{i}"), i)).collect::<Vec<_>>();
        let (first, next) = super::after_key(items(5), None, 2).unwrap();
        assert_eq!(first, [0, 1]);
        let (second, next) = super::after_key(items(5), next.as_deref(), 2).unwrap();
        assert_eq!(second, [2, 3]);
        let (last, next) = super::after_key(items(5), next.as_deref(), 2).unwrap();
        assert_eq!((last, next), (vec![4], None));
        assert!(super::after_key(items(5), Some("garbage!"), 2).is_none());
    }

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
