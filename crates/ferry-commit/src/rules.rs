//! Approval rule content: the JSON document of CodeCommit approval rules and templates, and
//! whether a set of approvers satisfies it. Pure; no I/O.
//!
//! ```json
//! {"Version": "2018-11-08", "DestinationReferences": ["refs/heads/main"],
//!  "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 2,
//!                  "ApprovalPoolMembers": ["arn:aws:sts::123456789012:assumed-role/Dev/*"]}]}
//! ```
//! `DestinationReferences` belongs to templates only. Pool members are ARNs with `*` wildcards,
//! or `CodeCommitApprovers:<account>:<name>` (an IAM user or an assumed role's session name).

use serde_json::Value;

/// One `Approvers` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub needed: u64,
    /// Empty: anyone may approve.
    pub pool: Vec<String>,
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub destination_references: Vec<String>,
    pub statements: Vec<Statement>,
}

/// Parses rule content; `template` allows `DestinationReferences`. The error says what is wrong.
pub fn parse(content: &str, template: bool) -> Result<Rule, String> {
    let v: Value =
        serde_json::from_str(content).map_err(|e| format!("the content is not JSON: {e}"))?;
    let obj = v.as_object().ok_or("the content must be a JSON object")?;
    for key in obj.keys() {
        if !["Version", "DestinationReferences", "Statements"].contains(&key.as_str()) {
            return Err(format!("unknown field {key}"));
        }
    }
    if obj.get("Version").and_then(Value::as_str) != Some("2018-11-08") {
        return Err("Version must be \"2018-11-08\"".into());
    }
    let destination_references = match obj.get("DestinationReferences") {
        None => Vec::new(),
        Some(_) if !template => {
            return Err("DestinationReferences is allowed in templates only".into());
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or("DestinationReferences must be strings")
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("DestinationReferences must be a list".into()),
    };
    let statements = obj
        .get("Statements")
        .and_then(Value::as_array)
        .ok_or("Statements must be a list")?;
    if statements.is_empty() {
        return Err("at least one statement is required".into());
    }
    let statements = statements
        .iter()
        .map(|s| {
            let s = s.as_object().ok_or("a statement must be an object")?;
            if s.get("Type").and_then(Value::as_str) != Some("Approvers") {
                return Err("statement Type must be \"Approvers\"".to_owned());
            }
            let needed = s
                .get("NumberOfApprovalsNeeded")
                .and_then(Value::as_u64)
                .filter(|n| *n >= 1)
                .ok_or("NumberOfApprovalsNeeded must be a positive integer")?;
            let pool = match s.get("ApprovalPoolMembers") {
                None => Vec::new(),
                Some(Value::Array(items)) if items.len() <= 50 => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .ok_or("pool members must be strings")
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => {
                    return Err("ApprovalPoolMembers must be a list of at most 50 members".into());
                }
            };
            Ok(Statement { needed, pool })
        })
        .collect::<Result<_, String>>()?;
    Ok(Rule {
        destination_references,
        statements,
    })
}

/// Whether `approvers` (ARNs of users who approved the current revision) satisfy the rule.
pub fn satisfied(rule: &Rule, approvers: &[String]) -> bool {
    rule.statements.iter().all(|s| {
        let count = approvers
            .iter()
            .filter(|a| s.pool.is_empty() || s.pool.iter().any(|m| member_matches(m, a)))
            .count();
        count as u64 >= s.needed
    })
}

/// Whether a template applies to a pull request into `destination_ref`.
pub fn applies_to(rule: &Rule, destination_ref: &str) -> bool {
    rule.destination_references.is_empty()
        || rule
            .destination_references
            .iter()
            .any(|d| glob(d, destination_ref))
}

/// Whether pool member pattern `member` matches the approver `arn`.
pub fn member_matches(member: &str, arn: &str) -> bool {
    if let Some(rest) = member.strip_prefix("CodeCommitApprovers:") {
        let Some((account, name)) = rest.split_once(':') else {
            return false;
        };
        let user = format!("arn:aws:iam::{account}:user/{name}");
        let session = format!("arn:aws:sts::{account}:assumed-role/*/{name}");
        return glob(&user, arn) || glob(&session, arn);
    }
    glob(member, arn)
}

/// `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first)
        || !text[first.len()..].ends_with(last)
        || text.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = r#"{"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":2,"ApprovalPoolMembers":["arn:aws:iam::111122223333:user/*","CodeCommitApprovers:111122223333:dana"]}]}"#;

    #[test]
    fn parses_and_evaluates() {
        let r = parse(RULE, false).unwrap();
        assert_eq!(r.statements[0].needed, 2);
        let bob = "arn:aws:iam::111122223333:user/bob".to_owned();
        let dana_role = "arn:aws:sts::111122223333:assumed-role/Dev/dana".to_owned();
        let stranger = "arn:aws:iam::999999999999:user/eve".to_owned();
        assert!(!satisfied(&r, std::slice::from_ref(&bob)));
        assert!(!satisfied(&r, &[bob.clone(), stranger]));
        assert!(satisfied(&r, &[bob, dana_role]));
        let anyone = parse(r#"{"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1}]}"#, false).unwrap();
        assert!(satisfied(&anyone, &["arn:aws:iam::1:user/x".into()]));
        assert!(!satisfied(&anyone, &[]));
    }

    #[test]
    fn refuses_bad_content() {
        for bad in [
            "nope",
            "[]",
            r#"{"Version":"2019","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1}]}"#,
            r#"{"Version":"2018-11-08","Statements":[]}"#,
            r#"{"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":0}]}"#,
            r#"{"Version":"2018-11-08","Statements":[{"Type":"Other","NumberOfApprovalsNeeded":1}]}"#,
            r#"{"Version":"2018-11-08","DestinationReferences":["refs/heads/main"],"Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1}]}"#,
        ] {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
        let t = parse(r#"{"Version":"2018-11-08","DestinationReferences":["refs/heads/main"],"Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1}]}"#, true).unwrap();
        assert!(applies_to(&t, "refs/heads/main") && !applies_to(&t, "refs/heads/dev"));
    }

    #[test]
    fn globs() {
        assert!(
            glob("a*c", "abbbc")
                && glob("*", "")
                && glob("a*b*c", "a-b-c")
                && !glob("a*c", "ab")
                && !glob("abc", "abcd")
        );
    }
}
