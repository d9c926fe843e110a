//! Paging shared by the CodeCommit listings: page sizes from `maxResults`, opaque offset tokens,
//! and the errors AWS answers for bad ones.

use ferry_wire::AwsError;

pub(crate) fn invalid_token() -> AwsError {
    AwsError::new(
        "InvalidContinuationTokenException",
        "The specified continuation token is not valid.",
    )
}

/// The page size: `max` capped at `cap`, `cap` when absent; a value below 1 is refused with
/// `InvalidMaxResultsException`.
pub(crate) fn limit(max: Option<i32>, cap: usize) -> Result<usize, AwsError> {
    match max {
        None => Ok(cap),
        Some(n) if n >= 1 => Ok((n as usize).min(cap)),
        Some(n) => Err(AwsError::new(
            "InvalidMaxResultsException",
            format!("{n} is not a valid maximum number of results."),
        )),
    }
}

/// Where a page starts, from an offset token made by [`slice`].
pub(crate) fn offset(token: Option<&str>) -> Result<usize, AwsError> {
    match token {
        None => Ok(0),
        Some(t) => ferry_types::page::decode(t)
            .and_then(|s| s.parse().ok())
            .ok_or_else(invalid_token),
    }
}

/// One page of `items` and the token of the next, if any.
pub(crate) fn slice<T>(items: Vec<T>, offset: usize, limit: usize) -> (Vec<T>, Option<String>) {
    let next = (offset + limit < items.len())
        .then(|| ferry_types::page::encode(&(offset + limit).to_string()));
    (items.into_iter().skip(offset).take(limit).collect(), next)
}

/// [`limit`], [`offset`] and [`slice`] in one call.
pub(crate) fn page<T>(
    items: Vec<T>,
    token: Option<&str>,
    max: Option<i32>,
    cap: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    Ok(slice(items, offset(token)?, limit(max, cap)?))
}
