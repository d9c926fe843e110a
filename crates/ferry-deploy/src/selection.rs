//! Which registered instances a deployment group (or a blue/green replacement set) targets:
//! tag filters matched against on-premises instances' tags (`KEY_ONLY`, `VALUE_ONLY`,
//! `KEY_AND_VALUE`); a flat filter list matches an instance that matches any filter, a tag set
//! one that matches every group of it (each group by any of its filters). EC2 filters are
//! matched the same way against the registered instances' tags.

use ferry_model::codedeploy::{
    EC2TagFilter, EC2TagFilterType, EC2TagSet, OnPremisesTagSet, Tag, TagFilter, TagFilterType,
};

/// One filter in a common form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub key: Option<String>,
    pub value: Option<String>,
    /// `None` means KEY_AND_VALUE.
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    KeyOnly,
    ValueOnly,
    KeyAndValue,
}

impl From<&TagFilter> for Filter {
    fn from(f: &TagFilter) -> Self {
        Self {
            key: f.key.clone(),
            value: f.value.clone(),
            kind: match f.r#type {
                Some(TagFilterType::KeyOnly) => Kind::KeyOnly,
                Some(TagFilterType::ValueOnly) => Kind::ValueOnly,
                _ => Kind::KeyAndValue,
            },
        }
    }
}

impl From<&EC2TagFilter> for Filter {
    fn from(f: &EC2TagFilter) -> Self {
        Self {
            key: f.key.clone(),
            value: f.value.clone(),
            kind: match f.r#type {
                Some(EC2TagFilterType::KeyOnly) => Kind::KeyOnly,
                Some(EC2TagFilterType::ValueOnly) => Kind::ValueOnly,
                _ => Kind::KeyAndValue,
            },
        }
    }
}

impl Filter {
    pub fn matches(&self, tags: &[Tag]) -> bool {
        tags.iter().any(|t| {
            let key_ok = self.key.is_none() || t.key == self.key;
            let value_ok = self.value.is_none() || t.value == self.value;
            match self.kind {
                Kind::KeyOnly => self.key.is_some() && t.key == self.key,
                Kind::ValueOnly => self.value.is_some() && t.value == self.value,
                Kind::KeyAndValue => {
                    key_ok && value_ok && (self.key.is_some() || self.value.is_some())
                }
            }
        })
    }
}

/// An instance selection: groups that must all match, each matched by any of its filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub groups: Vec<Vec<Filter>>,
}

impl Selection {
    /// Whether nothing selects anything.
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(Vec::is_empty)
    }

    pub fn matches(&self, tags: &[Tag]) -> bool {
        let groups: Vec<&Vec<Filter>> = self.groups.iter().filter(|g| !g.is_empty()).collect();
        !groups.is_empty() && groups.iter().all(|g| g.iter().any(|f| f.matches(tags)))
    }

    /// The union of selections, as one "any" group where each side is a flat list; tag sets
    /// are kept as their own selections by the caller.
    pub fn flat(filters: impl IntoIterator<Item = Filter>) -> Self {
        Self {
            groups: vec![filters.into_iter().collect()],
        }
    }

    pub fn from_on_premises_set(set: &OnPremisesTagSet) -> Self {
        Self {
            groups: set
                .on_premises_tag_set_list
                .iter()
                .flatten()
                .map(|g| g.iter().map(Filter::from).collect())
                .collect(),
        }
    }

    pub fn from_ec2_set(set: &EC2TagSet) -> Self {
        Self {
            groups: set
                .ec2_tag_set_list
                .iter()
                .flatten()
                .map(|g| g.iter().map(Filter::from).collect())
                .collect(),
        }
    }
}

/// Several selections; an instance is targeted when any of them matches it.
#[derive(Debug, Clone, Default)]
pub struct AnyOf(pub Vec<Selection>);

impl AnyOf {
    pub fn matches(&self, tags: &[Tag]) -> bool {
        self.0.iter().any(|s| s.matches(tags))
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Selection::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: Some(k.into()),
            value: Some(v.into()),
        }
    }

    fn f(k: Option<&str>, v: Option<&str>, kind: Kind) -> Filter {
        Filter {
            key: k.map(Into::into),
            value: v.map(Into::into),
            kind,
        }
    }

    #[test]
    fn filter_kinds() {
        let tags = [tag("env", "prod"), tag("role", "web")];
        assert!(f(Some("env"), Some("prod"), Kind::KeyAndValue).matches(&tags));
        assert!(!f(Some("env"), Some("dev"), Kind::KeyAndValue).matches(&tags));
        assert!(f(Some("role"), None, Kind::KeyOnly).matches(&tags));
        assert!(f(None, Some("web"), Kind::ValueOnly).matches(&tags));
        assert!(!f(None, Some("env"), Kind::ValueOnly).matches(&tags));
        assert!(!f(None, None, Kind::KeyAndValue).matches(&tags));
    }

    #[test]
    fn flat_lists_are_or_and_tag_sets_are_and_of_or() {
        let web_prod = [tag("env", "prod"), tag("role", "web")];
        let db_prod = [tag("env", "prod"), tag("role", "db")];
        let flat = Selection::flat([
            f(Some("role"), Some("web"), Kind::KeyAndValue),
            f(Some("role"), Some("cache"), Kind::KeyAndValue),
        ]);
        assert!(flat.matches(&web_prod) && !flat.matches(&db_prod));
        let set = Selection {
            groups: vec![
                vec![f(Some("env"), Some("prod"), Kind::KeyAndValue)],
                vec![
                    f(Some("role"), Some("web"), Kind::KeyAndValue),
                    f(Some("role"), Some("db"), Kind::KeyAndValue),
                ],
            ],
        };
        assert!(set.matches(&web_prod) && set.matches(&db_prod));
        assert!(!set.matches(&[tag("role", "web")]));
        assert!(!Selection::default().matches(&web_prod));
    }
}
