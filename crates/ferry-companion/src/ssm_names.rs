//! Parameter Store names, selectors and labels: the hierarchy rules (`/a/b`, at most 15
//! levels, no `aws`/`ssm` prefix), `name:version` / `name:label` selectors and parameter ARNs,
//! and the exceptions AWS answers for each.

use ferry_wire::AwsError;

/// The deepest hierarchy a parameter name may have.
pub(crate) const MAX_LEVELS: usize = 15;

fn validation(msg: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", msg)
}

fn bad_name() -> AwsError {
    validation(
        "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_",
    )
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Checks a name a parameter is created under.
pub(crate) fn check_name(name: &str) -> Result<(), AwsError> {
    if name.contains('/') && !name.starts_with('/') {
        return Err(validation("Parameter name must be a fully qualified name."));
    }
    let body = name.strip_prefix('/').unwrap_or(name);
    let parts: Vec<&str> = body.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.chars().all(name_char))
    {
        return Err(bad_name());
    }
    let first = parts[0].to_ascii_lowercase();
    if first.starts_with("aws") || first.starts_with("ssm") {
        return Err(bad_name());
    }
    if parts.len() > MAX_LEVELS {
        return Err(AwsError::new(
            "HierarchyLevelLimitExceededException",
            format!(
                "A hierarchy can have a maximum of {MAX_LEVELS} levels. For more information, see Requirements and constraints for parameter names in the Amazon Web Services Systems Manager User Guide."
            ),
        ));
    }
    Ok(())
}

/// Checks a path for GetParametersByPath.
pub(crate) fn check_path(path: &str) -> Result<(), AwsError> {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    if !path.starts_with('/') {
        return Err(validation(
            "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\".",
        ));
    }
    if trimmed.is_empty() {
        return Ok(());
    }
    check_name(trimmed)
}

/// What a selector names besides the parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selector {
    Latest,
    Version(i64),
    Label(String),
}

/// Splits `name[:version|:label]`, with `name` possibly a parameter ARN, into the name and
/// the selector (and the selector text as AWS echoes it, `:3`).
pub(crate) fn parse_selector(raw: &str) -> Result<(String, Selector, Option<String>), AwsError> {
    let plain = match raw.strip_prefix("arn:") {
        Some(_) => raw
            .split_once(":parameter")
            .map(|(_, rest)| rest.to_owned())
            .filter(|rest| rest.starts_with('/'))
            .ok_or_else(|| validation(format!("Invalid parameter ARN: {raw}")))?,
        None => raw.to_owned(),
    };
    let Some((name, sel)) = plain.split_once(':') else {
        return Ok((plain, Selector::Latest, None));
    };
    if sel.is_empty() || sel.contains(':') {
        return Err(validation(format!("Invalid parameter selector: {raw}")));
    }
    let selector = match sel.parse::<i64>() {
        Ok(v) => Selector::Version(v),
        Err(_) => Selector::Label(sel.to_owned()),
    };
    Ok((name.to_owned(), selector, Some(format!(":{sel}"))))
}

/// Whether a label may be attached to a version (else it goes to `InvalidLabels`).
pub(crate) fn valid_label(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    !label.is_empty()
        && label.len() <= 100
        && label.chars().all(name_char)
        && !label.starts_with(|c: char| c.is_ascii_digit())
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
}

/// The ARN of a parameter.
pub(crate) fn parameter_arn(region: &str, account: &str, name: &str) -> String {
    let resource = if name.starts_with('/') {
        format!("parameter{name}")
    } else {
        format!("parameter/{name}")
    };
    ferry_types::arn::build("ssm", region, account, &resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("plain").is_ok());
        assert!(check_name("/a/b.c/d-e_f").is_ok());
        assert_eq!(check_name("a/b").unwrap_err().code, "ValidationException");
        assert_eq!(check_name("/a//b").unwrap_err().code, "ValidationException");
        assert_eq!(check_name("/a b").unwrap_err().code, "ValidationException");
        assert_eq!(
            check_name("/aws/x").unwrap_err().code,
            "ValidationException"
        );
        assert_eq!(
            check_name("SSMthing").unwrap_err().code,
            "ValidationException"
        );
        let deep = "/l".repeat(16);
        assert_eq!(
            check_name(&deep).unwrap_err().code,
            "HierarchyLevelLimitExceededException"
        );
        assert!(check_name(&"/l".repeat(15)).is_ok());
        assert!(check_path("/").is_ok());
        assert!(check_path("/a/b/").is_ok());
        assert!(check_path("a").is_err());
    }

    #[test]
    fn selectors_and_labels() {
        assert_eq!(
            parse_selector("/a/b:3").unwrap(),
            ("/a/b".into(), Selector::Version(3), Some(":3".into()))
        );
        assert_eq!(
            parse_selector("x:prod").unwrap().1,
            Selector::Label("prod".into())
        );
        assert_eq!(parse_selector("x").unwrap().1, Selector::Latest);
        assert_eq!(
            parse_selector("arn:aws:ssm:us-east-1:123456789012:parameter/a/b:2")
                .unwrap()
                .0,
            "/a/b"
        );
        assert!(valid_label("prod"));
        assert!(!valid_label("1st"));
        assert!(!valid_label("awsy"));
        assert!(!valid_label("a/b"));
        assert_eq!(
            parameter_arn("us-east-1", "123456789012", "/a/b"),
            "arn:aws:ssm:us-east-1:123456789012:parameter/a/b"
        );
    }
}
