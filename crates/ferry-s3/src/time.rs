//! The two time formats of S3: ISO 8601 with milliseconds in XML, RFC 7231 in headers.

/// `2026-11-26T12:00:00.000Z`.
pub fn iso(ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!(
        "{}.{:03}Z",
        ts.strftime("%Y-%m-%dT%H:%M:%S"),
        ms.rem_euclid(1000)
    )
}

/// `Thu, 26 Nov 2026 12:00:00 GMT`.
pub fn http_date(ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Parses an RFC 7231 date into epoch milliseconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let dt = jiff::civil::DateTime::strptime("%a, %d %b %Y %H:%M:%S GMT", s).ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let ms = 1_795_694_400_123;
        assert_eq!(iso(ms), "2026-11-26T12:00:00.123Z");
        assert_eq!(http_date(ms), "Thu, 26 Nov 2026 12:00:00 GMT");
        assert_eq!(parse_http_date(&http_date(ms)), Some(ms - 123));
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
