//! CloudWatch Logs filter patterns for unstructured events, as `aws logs filter-log-events
//! --filter-pattern` users type them: plain terms (all must occur), `"quoted phrases"`,
//! `?term` (at least one of the `?` terms must occur), `-term` (must not occur) and
//! `%regex%` terms. Matching is case-sensitive. JSON (`{...}`) and space-delimited (`[...]`)
//! patterns are refused as not supported.

use regex::Regex;

/// A parsed filter pattern.
#[derive(Debug, Clone, Default)]
pub struct FilterPattern {
    all: Vec<Term>,
    any: Vec<Term>,
    none: Vec<Term>,
}

#[derive(Debug, Clone)]
enum Term {
    Text(String),
    Regex(Regex),
}

impl Term {
    fn matches(&self, message: &str) -> bool {
        match self {
            Self::Text(t) => message.contains(t.as_str()),
            Self::Regex(r) => r.is_match(message),
        }
    }
}

/// Why a pattern was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PatternError {
    /// A JSON or space-delimited pattern.
    Unsupported,
    /// Unbalanced quotes or a bad regular expression.
    Invalid,
}

impl FilterPattern {
    /// Parses a pattern; the empty pattern matches everything.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let trimmed = pattern.trim();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            return Err(PatternError::Unsupported);
        }
        let mut out = Self::default();
        let mut chars = trimmed.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let Some(&first) = chars.peek() else { break };
            let list = match first {
                '?' => {
                    chars.next();
                    &mut out.any
                }
                '-' => {
                    chars.next();
                    &mut out.none
                }
                _ => &mut out.all,
            };
            let term = match chars.peek() {
                Some('"') => {
                    chars.next();
                    let mut s = String::new();
                    loop {
                        match chars.next() {
                            None => return Err(PatternError::Invalid),
                            Some('\\') => match chars.next() {
                                Some(c) => s.push(c),
                                None => return Err(PatternError::Invalid),
                            },
                            Some('"') => break,
                            Some(c) => s.push(c),
                        }
                    }
                    Term::Text(s)
                }
                Some('%') => {
                    chars.next();
                    let mut s = String::new();
                    loop {
                        match chars.next() {
                            None => return Err(PatternError::Invalid),
                            Some('%') => break,
                            Some(c) => s.push(c),
                        }
                    }
                    Term::Regex(Regex::new(&s).map_err(|_| PatternError::Invalid)?)
                }
                _ => {
                    let mut s = String::new();
                    while let Some(&c) = chars.peek() {
                        if c.is_whitespace() {
                            break;
                        }
                        s.push(c);
                        chars.next();
                    }
                    if s.is_empty() {
                        return Err(PatternError::Invalid);
                    }
                    Term::Text(s)
                }
            };
            list.push(term);
        }
        Ok(out)
    }

    /// Whether an event message matches.
    pub fn matches(&self, message: &str) -> bool {
        self.all.iter().all(|t| t.matches(message))
            && (self.any.is_empty() || self.any.iter().any(|t| t.matches(message)))
            && !self.none.iter().any(|t| t.matches(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, msg: &str) -> bool {
        FilterPattern::parse(p).unwrap().matches(msg)
    }

    #[test]
    fn terms_phrases_options_and_exclusions() {
        assert!(m("", "anything"));
        assert!(m("ERROR", "an ERROR here"));
        assert!(!m("ERROR", "an error here"));
        assert!(m("ERROR db", "ERROR in db"));
        assert!(!m("ERROR db", "ERROR in cache"));
        assert!(m("\"in db\"", "ERROR in db"));
        assert!(!m("\"in db\"", "in the db"));
        assert!(m("?ERROR ?WARN", "a WARN"));
        assert!(!m("?ERROR ?WARN", "an INFO"));
        assert!(m("ERROR -timeout", "ERROR refused"));
        assert!(!m("ERROR -timeout", "ERROR timeout"));
        assert!(m("%user [0-9]+%", "user 42 logged in"));
        assert_eq!(
            FilterPattern::parse("{ $.a = 1 }").unwrap_err(),
            PatternError::Unsupported
        );
        assert_eq!(
            FilterPattern::parse("\"open").unwrap_err(),
            PatternError::Invalid
        );
    }
}
