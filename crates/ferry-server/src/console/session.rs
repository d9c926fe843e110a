//! Signing in and out. A session is a random token in an HttpOnly, SameSite=Strict cookie
//! scoped to `/console`; the store keeps only its SHA-256, with the user, the session's CSRF
//! token and its expiry (12 hours). The sign-in form is protected by a double-submit token
//! (a cookie and a hidden field that must agree), every later form by the session's token.

use axum::extract::{Form, FromRequestParts, OptionalFromRequestParts, Query, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use ferry_store::console::SessionRow;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::password::verify;
use super::view::{Page, forbidden, render};
use crate::state::SharedState;

const COOKIE_NAME: &str = "ferry_session";
const SIGN_IN_COOKIE: &str = "ferry_sign_in";
/// How long a session lasts.
const SESSION_MS: i64 = 12 * 3600 * 1000;

/// A signed-in visitor.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_name: String,
    pub csrf: String,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The value of cookie `name` in the request.
fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

fn set_cookie(name: &str, value: &str, max_age_secs: i64) -> String {
    format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}")
}

impl Session {
    async fn of(parts: &Parts, st: &SharedState) -> Option<Self> {
        let token = cookie(parts, COOKIE_NAME)?;
        let row = st
            .store
            .console_session(&digest(token), now_ms())
            .await
            .ok()??;
        Some(Session {
            user_name: row.user_name,
            csrf: row.csrf,
        })
    }

    /// Whether a form's token is this session's.
    pub fn checks(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        !token.is_empty() && bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }

    /// The refusal of a form whose token is not this session's; `None` when it is.
    pub fn refusal(&self, token: &str) -> Option<Response> {
        (!self.checks(token)).then(|| forbidden("The form did not come from this session"))
    }
}

/// A page that needs a session sends a visitor without one to the sign-in page, and back
/// afterwards.
impl FromRequestParts<SharedState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &SharedState) -> Result<Self, Response> {
        match Session::of(parts, st).await {
            Some(s) => Ok(s),
            None => {
                let back = parts
                    .uri
                    .path_and_query()
                    .map_or("/console/repos", |p| p.as_str());
                let next =
                    percent_encoding::utf8_percent_encode(back, percent_encoding::NON_ALPHANUMERIC);
                Err(Redirect::to(&format!("/console/sign-in?next={next}")).into_response())
            }
        }
    }
}

impl OptionalFromRequestParts<SharedState> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &SharedState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(Session::of(parts, st).await)
    }
}

#[derive(Deserialize, Default)]
pub struct Next {
    #[serde(default)]
    next: Option<String>,
}

/// Only a path inside the console is a place to go back to.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/console/") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/console/repos",
    }
}

fn sign_in_form(next: &str, error: Option<&str>) -> Response {
    let token = random_token();
    let page = Page::new("Sign in").with("next", next).with("csrf", &token);
    let page = match error {
        Some(e) => page.with("error", e),
        None => page,
    };
    let mut r = render("sign_in.html", page);
    if let Ok(v) = set_cookie(SIGN_IN_COOKIE, &token, 600).parse() {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

pub async fn sign_in_page(Query(q): Query<Next>) -> Response {
    sign_in_form(safe_next(q.next.as_deref()), None)
}

#[derive(Deserialize)]
pub struct SignIn {
    user: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn sign_in(
    State(st): State<SharedState>,
    parts: Parts,
    Form(f): Form<SignIn>,
) -> Response {
    let next = safe_next(f.next.as_deref()).to_owned();
    let expected = cookie(&parts, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || expected != f.csrf {
        return forbidden("The sign-in form has expired or did not come from this console");
    }
    let phc = st.store.console_password(&f.user).await.ok().flatten();
    // A user without a password is checked against a dummy hash all the same, so that
    // the time taken does not tell which user names exist.
    let ok = match &phc {
        Some(phc) => verify(&f.password, phc),
        None => {
            let _ = verify(&f.password, &DUMMY);
            false
        }
    };
    if !ok {
        return sign_in_form(&next, Some("The user name or password is not right"));
    }
    let token = random_token();
    let row = SessionRow {
        user_name: f.user.clone(),
        csrf: random_token(),
        expires_ms: now_ms() + SESSION_MS,
    };
    if let Err(e) = st
        .store
        .create_console_session(&digest(&token), &row, now_ms())
        .await
    {
        tracing::error!(error = %e, "recording a console session");
        return forbidden("Signing in failed; try again");
    }
    let mut r = Redirect::to(&next).into_response();
    for c in [
        set_cookie(COOKIE_NAME, &token, SESSION_MS / 1000),
        set_cookie(SIGN_IN_COOKIE, "", 0),
    ] {
        if let Ok(v) = c.parse() {
            r.headers_mut().append(SET_COOKIE, v);
        }
    }
    r
}

/// A hash of no one's password, checked when the user has none.
static DUMMY: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| super::password::hash_password("no one's").unwrap_or_default());

/// A form that carries nothing but the session's CSRF token.
#[derive(Deserialize)]
pub struct Csrf {
    #[serde(default)]
    pub csrf: String,
}

pub async fn sign_out(
    State(st): State<SharedState>,
    parts: Parts,
    session: Session,
    Form(f): Form<Csrf>,
) -> Response {
    if let Some(refused) = session.refusal(&f.csrf) {
        return refused;
    }
    if let Some(token) = cookie(&parts, COOKIE_NAME) {
        let _ = st.store.delete_console_session(&digest(token)).await;
    }
    let mut r = Redirect::to("/console/sign-in").into_response();
    if let Ok(v) = set_cookie(COOKIE_NAME, "", 0).parse() {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_are_followed_back() {
        assert_eq!(safe_next(Some("/console/repos/x")), "/console/repos/x");
        for bad in [
            "https://evil.example/",
            "//evil.example/console/",
            "/metrics",
            "/console\\x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console/repos", "{bad}");
        }
        assert_eq!(safe_next(None), "/console/repos");
    }
}
