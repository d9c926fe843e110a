//! What the package endpoints remember between requests, all of it checked against the
//! store's CodeArtifact generation (which every write moves on, on any node, so nothing
//! stale is served): metadata answers (packuments, simple pages, index files, Maven metadata —
//! never file downloads, never answers that reach through an external connection, whose
//! freshness has its own clock), repositories' search orders, domains' package groups, and the
//! tokens seen (a token
//! cannot be revoked, only expire, so a live one stays valid until its expiry).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ferry_store::artifacts::TokenRow;

use crate::groups::Groups;
use crate::native::NativeResponse;

/// The largest answer kept.
const MAX_ANSWER: usize = 256 * 1024;
/// Entries kept before a map is emptied.
const MAX_ENTRIES: usize = 20_000;

/// A search order as remembered: the generation, the repositories, and whether one of them
/// holds an external connection.
type Order = (u64, Vec<String>, bool);

#[derive(Default)]
pub struct Caches {
    answers: Mutex<HashMap<String, (u64, NativeResponse)>>,
    orders: Mutex<HashMap<(String, String), Order>>,
    groups: Mutex<HashMap<String, (u64, Arc<Groups>)>>,
    tokens: Mutex<HashMap<String, TokenRow>>,
}

fn put<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, V>>, k: K, v: V) {
    if let Ok(mut m) = map.lock() {
        if m.len() >= MAX_ENTRIES {
            m.clear();
        }
        m.insert(k, v);
    }
}

impl Caches {
    pub fn answer(&self, key: &str, generation: u64) -> Option<NativeResponse> {
        let m = self.answers.lock().ok()?;
        let (g, r) = m.get(key)?;
        (*g == generation).then(|| r.clone())
    }

    /// Keeps `r` when it is a metadata answer worth keeping.
    pub fn keep_answer(&self, key: String, generation: u64, r: &NativeResponse) {
        if r.status == 200
            && r.body.len() <= MAX_ANSWER
            && r.content_type != "application/octet-stream"
        {
            put(&self.answers, key, (generation, r.clone()));
        }
    }

    /// A search order and whether any repository on it holds an external connection.
    pub fn order(&self, domain: &str, repo: &str, generation: u64) -> Option<(Vec<String>, bool)> {
        let m = self.orders.lock().ok()?;
        let (g, order, external) = m.get(&(domain.to_owned(), repo.to_owned()))?;
        (*g == generation).then(|| (order.clone(), *external))
    }

    pub fn keep_order(
        &self,
        domain: &str,
        repo: &str,
        generation: u64,
        order: Vec<String>,
        external: bool,
    ) {
        put(
            &self.orders,
            (domain.to_owned(), repo.to_owned()),
            (generation, order, external),
        );
    }

    pub fn groups(&self, domain: &str, generation: u64) -> Option<Arc<Groups>> {
        let m = self.groups.lock().ok()?;
        let (g, groups) = m.get(domain)?;
        (*g == generation).then(|| groups.clone())
    }

    pub fn keep_groups(&self, domain: &str, generation: u64, groups: Arc<Groups>) {
        put(&self.groups, domain.to_owned(), (generation, groups));
    }

    pub fn token(&self, digest: &str, now_ms: i64) -> Option<TokenRow> {
        let m = self.tokens.lock().ok()?;
        m.get(digest).filter(|t| t.expires_ms > now_ms).cloned()
    }

    pub fn keep_token(&self, digest: String, t: TokenRow) {
        put(&self.tokens, digest, t);
    }
}
