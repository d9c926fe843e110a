//! Parsing a raw git commit object into the fields CodeCommit returns.

/// An author or committer line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Person {
    pub name: String,
    pub email: String,
    /// Git's native form: `<epoch seconds> <±hhmm>`.
    pub date: String,
}

/// A commit as CodeCommit shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitInfo {
    pub commit_id: String,
    pub tree_id: String,
    pub parents: Vec<String>,
    pub message: String,
    pub author: Person,
    pub committer: Person,
}

impl CommitInfo {
    /// Parses `git cat-file commit` output; `None` when it is not a commit.
    pub fn parse(commit_id: &str, raw: &[u8]) -> Option<Self> {
        let text = String::from_utf8_lossy(raw);
        let (header, message) = text.split_once("\n\n").unwrap_or((&text, ""));
        let mut c = CommitInfo {
            commit_id: commit_id.to_owned(),
            message: message.to_owned(),
            ..Default::default()
        };
        for line in header.lines() {
            if let Some(v) = line.strip_prefix("tree ") {
                c.tree_id = v.to_owned();
            } else if let Some(v) = line.strip_prefix("parent ") {
                c.parents.push(v.to_owned());
            } else if let Some(v) = line.strip_prefix("author ") {
                c.author = parse_person(v);
            } else if let Some(v) = line.strip_prefix("committer ") {
                c.committer = parse_person(v);
            }
        }
        (!c.tree_id.is_empty()).then_some(c)
    }
}

fn parse_person(line: &str) -> Person {
    match (line.find('<'), line.rfind('>')) {
        (Some(lt), Some(gt)) if lt < gt => Person {
            name: line[..lt].trim().to_owned(),
            email: line[lt + 1..gt].to_owned(),
            date: line[gt + 1..].trim().to_owned(),
        },
        _ => Person {
            name: line.trim().to_owned(),
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_merge_commit_with_signature() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent aaaa\nparent bbbb\nauthor Ana Li <ana@example.com> 1484167798 -0800\ncommitter Bo <bo@example.com> 1484167799 +0100\ngpgsig -----BEGIN PGP SIGNATURE-----\n x\n -----END PGP SIGNATURE-----\n\nMerge things\n\nBody\n";
        let c = CommitInfo::parse("cccc", raw).unwrap();
        assert_eq!(c.tree_id, "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
        assert_eq!(c.parents, ["aaaa", "bbbb"]);
        assert_eq!(
            c.author,
            Person {
                name: "Ana Li".into(),
                email: "ana@example.com".into(),
                date: "1484167798 -0800".into()
            }
        );
        assert_eq!(c.committer.date, "1484167799 +0100");
        assert_eq!(c.message, "Merge things\n\nBody\n");
        assert!(CommitInfo::parse("x", b"garbage").is_none());
    }
}
