//! Event positions and the tokens that carry them: `(timestamp, seq)` orders a group's events;
//! GetLogEvents hands out `f/<position>` (events after it) and `b/<position>` (events before
//! it) with the position as 40 digits, and FilterLogEvents an opaque token of the last
//! position it scanned.

/// A position in a group's event order.
pub(crate) type Position = (i64, i64);

/// A GetLogEvents token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamToken {
    Forward(Position),
    Backward(Position),
}

impl StreamToken {
    pub(crate) fn parse(token: &str) -> Option<Self> {
        let (dir, digits) = token.split_at_checked(2)?;
        if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let ts = digits[..20].parse().ok()?;
        let seq = digits[20..].parse().ok()?;
        match dir {
            "f/" => Some(Self::Forward((ts, seq))),
            "b/" => Some(Self::Backward((ts, seq))),
            _ => None,
        }
    }

    pub(crate) fn render(self) -> String {
        let (dir, (ts, seq)) = match self {
            Self::Forward(p) => ("f", p),
            Self::Backward(p) => ("b", p),
        };
        format!("{dir}/{:020}{:020}", ts.max(0), seq.max(0))
    }
}

/// The token FilterLogEvents answers to continue after `p`.
pub(crate) fn filter_token(p: Position) -> String {
    ferry_types::page::encode(&format!("e:{}:{}", p.0, p.1))
}

/// The position a FilterLogEvents token continues after.
pub(crate) fn parse_filter_token(token: &str) -> Option<Position> {
    let s = ferry_types::page::decode(token)?;
    let (ts, seq) = s.strip_prefix("e:")?.split_once(':')?;
    Some((ts.parse().ok()?, seq.parse().ok()?))
}

/// The event id FilterLogEvents answers for an event.
pub(crate) fn event_id(p: Position) -> String {
    format!("{:020}{:020}", p.0.max(0), p.1.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let f = StreamToken::Forward((1_700_000_000_123, 42));
        assert_eq!(StreamToken::parse(&f.render()), Some(f));
        let b = StreamToken::Backward((0, 0));
        assert_eq!(StreamToken::parse(&b.render()), Some(b));
        assert_eq!(StreamToken::parse("x/123"), None);
        assert_eq!(StreamToken::parse("f/12"), None);
        assert_eq!(parse_filter_token(&filter_token((5, 6))), Some((5, 6)));
        assert_eq!(parse_filter_token("garbage"), None);
    }
}
