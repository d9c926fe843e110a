//! Offset pagination tokens shared by the companion listings, and the page sizes.

use ferry_wire::AwsError;

/// Where a page starts, from a token made by [`slice`]; `bad` is the error for a bad token.
pub(crate) fn offset(token: Option<&str>, bad: impl Fn() -> AwsError) -> Result<usize, AwsError> {
    match token {
        None => Ok(0),
        Some(t) => ferry_types::page::decode(t)
            .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
            .ok_or_else(bad),
    }
}

/// One page of `items` from `offset` and the token of the next, if any.
pub(crate) fn slice<T>(items: Vec<T>, offset: usize, limit: usize) -> (Vec<T>, Option<String>) {
    let next = (offset + limit < items.len())
        .then(|| ferry_types::page::encode(&format!("o:{}", offset + limit)));
    (items.into_iter().skip(offset).take(limit).collect(), next)
}

/// The page size: `max` when given (the model bounds it), else `default`.
pub(crate) fn size(max: Option<i32>, default: usize) -> usize {
    max.and_then(|m| usize::try_from(m).ok())
        .filter(|m| *m > 0)
        .unwrap_or(default)
}
