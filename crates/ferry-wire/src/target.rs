//! `X-Amz-Target: <prefix>.<Operation>` parsing for the JSON 1.1 services.

/// Splits a target into its service prefix and operation name.
pub fn split(target: &str) -> Option<(&str, &str)> {
    let (prefix, op) = target.rsplit_once('.')?;
    (!prefix.is_empty() && !op.is_empty()).then_some((prefix, op))
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_on_last_dot() {
        assert_eq!(
            super::split("CodeCommit_20150413.GetRepository"),
            Some(("CodeCommit_20150413", "GetRepository"))
        );
        assert_eq!(super::split("NoDot"), None);
        assert_eq!(super::split("Prefix."), None);
    }
}
