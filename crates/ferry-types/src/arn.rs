//! ARNs: `arn:aws:<service>:<region>:<account>:<resource>`.

/// Builds an ARN.
pub fn build(service: &str, region: &str, account: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{region}:{account}:{resource}")
}

/// The parts of an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// Splits an ARN into its parts; `None` when it is not an ARN.
pub fn parse(s: &str) -> Option<Arn<'_>> {
    let mut it = s.splitn(6, ':');
    if it.next()? != "arn" {
        return None;
    }
    let arn = Arn {
        partition: it.next()?,
        service: it.next()?,
        region: it.next()?,
        account: it.next()?,
        resource: it.next()?,
    };
    (!arn.partition.is_empty() && !arn.service.is_empty()).then_some(arn)
}

#[cfg(test)]
mod tests {
    #[test]
    fn build_and_parse() {
        let a = super::build("codecommit", "us-east-1", "123456789012", "my-repo");
        assert_eq!(a, "arn:aws:codecommit:us-east-1:123456789012:my-repo");
        let p = super::parse(&a).unwrap();
        assert_eq!(
            (p.service, p.account, p.resource),
            ("codecommit", "123456789012", "my-repo")
        );
        assert!(super::parse("arn:aws").is_none());
        assert!(super::parse("nope:aws:a:b:c:d").is_none());
    }
}
