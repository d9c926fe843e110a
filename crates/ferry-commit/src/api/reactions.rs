//! Emoji reactions to comments: one reaction per user per comment, set, replaced or removed
//! (`none` or empty), listed per reaction with the users who chose it.
//!
//! Accepted values name one of the reactions below by short code (with or without colons), by
//! the emoji itself, or by its code point (`U+1F44D`).

use std::collections::BTreeMap;

use ferry_model::codecommit::*;
use ferry_wire::{AwsError, RequestContext};

use super::errors::store;
use crate::CommitService;

/// (short code, emoji, code point) of every supported reaction.
const REACTIONS: &[(&str, &str, &str)] = &[
    ("thumbsup", "\u{1F44D}", "U+1F44D"),
    ("thumbsdown", "\u{1F44E}", "U+1F44E"),
    ("laugh", "\u{1F604}", "U+1F604"),
    ("hooray", "\u{1F389}", "U+1F389"),
    ("confused", "\u{1F615}", "U+1F615"),
    ("heart", "\u{2764}\u{FE0F}", "U+2764"),
    ("rocket", "\u{1F680}", "U+1F680"),
    ("eyes", "\u{1F440}", "U+1F440"),
];

/// The short code a reaction value names; `Ok(None)` removes the reaction.
fn reaction_of(value: &str) -> Result<Option<&'static str>, AwsError> {
    let v = value.trim();
    let code = v.trim_matches(':');
    if code.is_empty() || code.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    REACTIONS
        .iter()
        .find(|(short, emoji, unicode)| {
            code.eq_ignore_ascii_case(short)
                || v == *emoji
                || v.trim_end_matches('\u{FE0F}') == emoji.trim_end_matches('\u{FE0F}')
                || v.eq_ignore_ascii_case(unicode)
        })
        .map(|(short, _, _)| Some(*short))
        .ok_or_else(|| {
            AwsError::new(
                "InvalidReactionValueException",
                format!("The reaction value {value} is not valid."),
            )
        })
}

fn formats(short: &str) -> ReactionValueFormats {
    let (s, e, u) = REACTIONS
        .iter()
        .find(|(s, _, _)| *s == short)
        .copied()
        .unwrap_or((short, "", ""));
    ReactionValueFormats {
        emoji: Some(e.to_owned()),
        short_code: Some(format!(":{s}:")),
        unicode: Some(u.to_owned()),
    }
}

impl CommitService {
    pub(crate) async fn api_put_comment_reaction(
        &self,
        ctx: &RequestContext,
        i: PutCommentReactionInput,
    ) -> Result<(), AwsError> {
        let reaction = reaction_of(&i.reaction_value)?;
        let c = self.load_live_comment(&i.comment_id).await?;
        self.store
            .set_reaction(&c.id, &ctx.principal_arn, reaction)
            .await
            .map_err(store)
    }

    pub(crate) async fn api_get_comment_reactions(
        &self,
        i: GetCommentReactionsInput,
    ) -> Result<GetCommentReactionsOutput, AwsError> {
        let c = self.load_comment(&i.comment_id).await?;
        let mut by_reaction: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (user, reaction) in self.store.reactions(&c.id).await.map_err(store)? {
            if i.reaction_user_arn.as_deref().is_none_or(|u| u == user) {
                by_reaction.entry(reaction).or_default().push(user);
            }
        }
        let order = |r: &String| {
            REACTIONS
                .iter()
                .position(|(s, _, _)| s == r)
                .unwrap_or(usize::MAX)
        };
        let mut list: Vec<(String, Vec<String>)> = by_reaction.into_iter().collect();
        list.sort_by_key(|(r, _)| order(r));
        Ok(GetCommentReactionsOutput {
            reactions_for_comment: list
                .into_iter()
                .map(|(r, users)| ReactionForComment {
                    reaction: Some(formats(&r)),
                    reaction_users: Some(users),
                    reactions_from_deleted_users_count: Some(0),
                })
                .collect(),
            next_token: None,
        })
    }

    /// A comment as its caller sees it: with their reactions and the counts per reaction.
    pub(crate) async fn with_reactions(
        &self,
        ctx: &RequestContext,
        mut c: Comment,
    ) -> Result<Comment, AwsError> {
        let Some(id) = c.comment_id.clone() else {
            return Ok(c);
        };
        let mut counts = BTreeMap::new();
        let mut mine = Vec::new();
        for (user, reaction) in self.store.reactions(&id).await.map_err(store)? {
            let short = format!(":{reaction}:");
            *counts.entry(short.clone()).or_insert(0) += 1;
            if user == ctx.principal_arn {
                mine.push(short);
            }
        }
        c.reaction_counts = Some(counts);
        c.caller_reactions = Some(mine);
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::reaction_of;

    #[test]
    fn values() {
        assert_eq!(reaction_of(":thumbsup:").unwrap(), Some("thumbsup"));
        assert_eq!(reaction_of("\u{1F680}").unwrap(), Some("rocket"));
        assert_eq!(reaction_of("U+2764").unwrap(), Some("heart"));
        assert_eq!(reaction_of("none").unwrap(), None);
        assert_eq!(reaction_of("").unwrap(), None);
        assert!(reaction_of(":shrug:").is_err());
    }
}
