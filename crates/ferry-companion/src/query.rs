//! The AWS Query protocol as IAM and STS speak it: form parameters in (`Tags.member.1.Key`),
//! XML out (`<XResponse><XResult>…</XResult><ResponseMetadata>…`), and the validation errors
//! both services answer with.

use ferry_wire::AwsError;

/// The decoded form parameters of one call.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body).replace('+', "%20");
        Self(ferry_wire::sigv4::query_pairs(&text))
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that must be present.
    pub fn required(&self, name: &str) -> Result<&str, AwsError> {
        self.get(name).ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(name)
            ))
        })
    }

    /// An integer parameter within `range`.
    pub fn int(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, AwsError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.parse::<i64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(validation(format!(
                "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: Member must have value between {} and {}",
                lower_first(name),
                range.start(),
                range.end()
            ))),
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// IAM's and STS's `ValidationError`.
pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationError", message)
}

/// Checks a value against a pattern-like rule, answering IAM's validation message.
pub fn check_name(param: &str, value: &str, max: usize) -> Result<(), AwsError> {
    let ok = !value.is_empty()
        && value.chars().count() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and {max}",
            lower_first(param)
        )))
    }
}

/// Checks an IAM path: `/` or `/segments/`.
pub fn check_path(param: &str, value: &str) -> Result<(), AwsError> {
    let ok = value.starts_with('/')
        && value.ends_with('/')
        && value.len() <= 512
        && value.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
            lower_first(param)
        )))
    }
}

/// Escapes XML text.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Appends `<name>text</name>`.
pub fn leaf(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&esc(text));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The whole response document; `result` is `None` for actions that return nothing.
pub fn response(action: &str, namespace: &str, result: Option<&str>, request_id: &str) -> String {
    let mut out = format!("<{action}Response xmlns=\"{namespace}\">");
    if let Some(r) = result {
        out.push_str(&format!("<{action}Result>{r}</{action}Result>"));
    }
    out.push_str(&format!(
        "<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    ));
    out
}

/// ISO 8601 in UTC with seconds, as IAM and STS print times.
pub fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_documents() {
        let p = Params::parse(b"Action=CreateUser&UserName=a+b&Path=%2Fx%2F&MaxItems=5");
        assert_eq!(p.get("UserName"), Some("a b"));
        assert_eq!(p.get("Path"), Some("/x/"));
        assert_eq!(p.int("MaxItems", 1..=1000).unwrap(), Some(5));
        assert_eq!(p.required("Nope").unwrap_err().code, "ValidationError");
        assert!(p.int("UserName", 1..=10).is_err());
        assert!(check_name("UserName", "dev.ops+ci@x", 64).is_ok());
        assert!(check_name("UserName", "bad/name", 64).is_err());
        assert!(check_path("Path", "/a/b/").is_ok());
        assert!(check_path("Path", "a/").is_err());
        let doc = response("GetUser", "ns", Some("<X>1</X>"), "rid");
        assert!(
            doc.starts_with(
                "<GetUserResponse xmlns=\"ns\"><GetUserResult><X>1</X></GetUserResult>"
            )
        );
    }
}
