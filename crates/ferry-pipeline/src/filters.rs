//! V2 trigger push filters for Ferry's repositories: whether a push (a branch or tag that moved,
//! with the files it changed) matches a `gitConfiguration`. Filters are OR-ed; inside one
//! filter the criteria are AND-ed. A criteria list matches a value when some include pattern
//! matches (or there are no includes) and no exclude pattern does; file paths match when at
//! least one changed file does. Globs: `*` and `?` stay within a path segment, `**` crosses
//! `/`, and `{a,b}` and `[...]` work as in common glob libraries.

use ferry_model::codepipeline::{GitConfiguration, GitPushFilter};
use globset::{GlobBuilder, GlobMatcher};

/// What was pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed<'a> {
    Branch(&'a str),
    Tag(&'a str),
}

fn glob(pattern: &str) -> Option<GlobMatcher> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

/// Whether `value` passes an includes/excludes pair.
fn criteria(includes: Option<&Vec<String>>, excludes: Option<&Vec<String>>, value: &str) -> bool {
    let hit = |list: Option<&Vec<String>>| {
        list.into_iter()
            .flatten()
            .any(|p| glob(p).is_some_and(|g| g.is_match(value)))
    };
    let included = includes.is_none_or(|l| l.is_empty()) || hit(includes);
    included && !hit(excludes)
}

fn filter_matches(f: &GitPushFilter, pushed: &Pushed<'_>, files: &[String]) -> bool {
    match pushed {
        Pushed::Tag(tag) => f
            .tags
            .as_ref()
            .is_some_and(|t| criteria(t.includes.as_ref(), t.excludes.as_ref(), tag)),
        Pushed::Branch(branch) => {
            let Some(b) = &f.branches else {
                return false;
            };
            if !criteria(b.includes.as_ref(), b.excludes.as_ref(), branch) {
                return false;
            }
            match &f.file_paths {
                None => true,
                Some(p) => files
                    .iter()
                    .any(|file| criteria(p.includes.as_ref(), p.excludes.as_ref(), file)),
            }
        }
    }
}

/// Whether a push matches the trigger's push filters.
pub fn push_matches(config: &GitConfiguration, pushed: &Pushed<'_>, files: &[String]) -> bool {
    config
        .push
        .iter()
        .flatten()
        .any(|f| filter_matches(f, pushed, files))
}

/// Checks a trigger's filters as CreatePipeline does: 1–3 push filters, each tags alone,
/// branches alone, or branches with file paths; 1–8 valid patterns per list.
pub fn check(config: &GitConfiguration) -> Result<(), String> {
    if config.pull_request.as_ref().is_some_and(|p| !p.is_empty()) {
        return Err("Ferry does not run pull request triggers yet".into());
    }
    let push = config.push.as_deref().unwrap_or_default();
    if push.is_empty() || push.len() > 3 {
        return Err("A trigger has 1 to 3 push filters".into());
    }
    for f in push {
        let shape_ok = matches!(
            (&f.tags, &f.branches, &f.file_paths),
            (Some(_), None, None) | (None, Some(_), _)
        );
        if !shape_ok {
            return Err(
                "A push filter has tags alone, branches alone, or branches with filePaths".into(),
            );
        }
        let lists = [
            f.tags.as_ref().map(|t| (&t.includes, &t.excludes)),
            f.branches.as_ref().map(|t| (&t.includes, &t.excludes)),
            f.file_paths.as_ref().map(|t| (&t.includes, &t.excludes)),
        ];
        for (inc, exc) in lists.into_iter().flatten() {
            if inc.is_none() && exc.is_none() {
                return Err("A filter criteria needs includes or excludes".into());
            }
            for list in [inc, exc].into_iter().flatten() {
                if list.is_empty() || list.len() > 8 {
                    return Err("A criteria list has 1 to 8 patterns".into());
                }
                for p in list {
                    if p.is_empty() || p.len() > 255 || glob(p).is_none() {
                        return Err(format!("The pattern {p:?} is not a valid glob"));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(value: serde_json::Value) -> GitConfiguration {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn branch_tag_and_path_filters() {
        let c = config(serde_json::json!({
            "sourceActionName": "Source",
            "push": [
                {"branches": {"includes": ["main", "release/**"], "excludes": ["release/old*"]},
                 "filePaths": {"includes": ["src/**", "*.toml"], "excludes": ["**/README.md"]}},
                {"tags": {"includes": ["v*"]}}
            ]
        }));
        assert!(check(&c).is_ok());
        let files = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(push_matches(
            &c,
            &Pushed::Branch("main"),
            &files(&["src/app/main.rs"])
        ));
        assert!(push_matches(
            &c,
            &Pushed::Branch("release/2.0/rc"),
            &files(&["Cargo.toml"])
        ));
        assert!(
            !push_matches(&c, &Pushed::Branch("main"), &files(&["docs/guide.md"])),
            "only docs"
        );
        assert!(
            !push_matches(&c, &Pushed::Branch("main"), &files(&["src/README.md"])),
            "excluded file"
        );
        assert!(
            !push_matches(&c, &Pushed::Branch("main"), &files(&["a/Cargo.toml"])),
            "* stays in a segment"
        );
        assert!(
            !push_matches(&c, &Pushed::Branch("release/old-1"), &files(&["src/x"])),
            "excluded branch"
        );
        assert!(!push_matches(
            &c,
            &Pushed::Branch("feature"),
            &files(&["src/x"])
        ));
        assert!(push_matches(&c, &Pushed::Tag("v1.2"), &[]));
        assert!(!push_matches(&c, &Pushed::Tag("nightly"), &[]));
    }

    #[test]
    fn excludes_alone_match_everything_else_and_shapes_are_checked() {
        let c = config(serde_json::json!({
            "sourceActionName": "Source",
            "push": [{"branches": {"excludes": ["wip/**"]}}]
        }));
        assert!(push_matches(&c, &Pushed::Branch("main"), &[]));
        assert!(!push_matches(&c, &Pushed::Branch("wip/x"), &[]));
        let bad = config(serde_json::json!({
            "sourceActionName": "Source",
            "push": [{"tags": {"includes": ["v*"]}, "filePaths": {"includes": ["src/**"]}}]
        }));
        assert!(check(&bad).is_err());
        let none = config(serde_json::json!({"sourceActionName": "Source", "push": []}));
        assert!(check(&none).is_err());
    }
}
