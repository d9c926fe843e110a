//! How pages are drawn: the templates (embedded in the binary, HTML auto-escaped), the page
//! context every template gets (title, signed-in user, CSRF token), and the shared answers
//! (an error page, the style sheet).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::value::Serde;
use minijinja::{Environment, Value};

use super::Session;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("message.html", include_str!("templates/message.html")),
    ("repos.html", include_str!("templates/repos.html")),
    ("tree.html", include_str!("templates/tree.html")),
    ("blob.html", include_str!("templates/blob.html")),
    ("commits.html", include_str!("templates/commits.html")),
    ("domains.html", include_str!("templates/domains.html")),
    ("packages.html", include_str!("templates/packages.html")),
    ("package.html", include_str!("templates/package.html")),
    ("version.html", include_str!("templates/version.html")),
    ("projects.html", include_str!("templates/projects.html")),
    ("project.html", include_str!("templates/project.html")),
    ("build.html", include_str!("templates/build.html")),
    ("pipelines.html", include_str!("templates/pipelines.html")),
    ("pipeline.html", include_str!("templates/pipeline.html")),
    (
        "applications.html",
        include_str!("templates/applications.html"),
    ),
    ("group.html", include_str!("templates/group.html")),
    ("deployment.html", include_str!("templates/deployment.html")),
    ("pulls.html", include_str!("templates/pulls.html")),
    ("pull.html", include_str!("templates/pull.html")),
    ("diff.html", include_str!("templates/diff.html")),
    ("commit.html", include_str!("templates/commit.html")),
    ("branches.html", include_str!("templates/branches.html")),
];

static CSS: &str = include_str!("templates/console.css");
static JS: &str = include_str!("templates/console.js");

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_filter("path", path_filter);
    env.add_filter("segment", |v: String| segment(&v));
    for (name, text) in TEMPLATES {
        if let Err(e) = env.add_template(name, text) {
            panic!("console template {name}: {e}");
        }
    }
    env
});

const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One URL path segment, percent-encoded.
pub fn segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, UNRESERVED).to_string()
}

/// A query parameter's value, percent-encoded.
pub fn query_value(value: &str) -> String {
    segment(value)
}

/// A repository path for a URL: each segment percent-encoded, the `/` between them kept.
fn path_filter(value: String) -> String {
    value.split('/').map(segment).collect::<Vec<_>>().join("/")
}

/// What a template is given.
pub struct Page(BTreeMap<String, Value>);

impl Page {
    pub fn new(title: &str) -> Self {
        let mut m = BTreeMap::new();
        m.insert("title".to_owned(), Value::from(title));
        Self(m)
    }

    /// The page of a signed-in visitor: the user and the CSRF token its forms carry.
    pub fn of(session: &Session, title: &str) -> Self {
        Self::new(title)
            .with("user", &session.user_name)
            .with("csrf", &session.csrf)
    }

    pub fn with(mut self, key: &str, value: impl serde::Serialize) -> Self {
        self.0.insert(key.to_owned(), Value::from(Serde(&value)));
        self
    }
}

/// The page drawn from `template`.
pub fn render(template: &str, page: Page) -> Response {
    match ENV
        .get_template(template)
        .and_then(|t| t.render(Value::from(Serde(&page.0))))
    {
        Ok(html) => (
            [
                (
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(template, error = %e, "rendering a console page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be drawn",
            )
                .into_response()
        }
    }
}

/// A page saying what went wrong, with `status`.
pub fn message(status: StatusCode, session: Option<&Session>, title: &str, text: &str) -> Response {
    let page = match session {
        Some(s) => Page::of(s, title),
        None => Page::new(title),
    };
    let mut r = render("message.html", page.with("message", text));
    *r.status_mut() = status;
    r
}

/// The page for a service's refusal: 404 for something that does not exist, 400 otherwise.
pub fn failed(session: &Session, e: ferry_wire::AwsError) -> Response {
    let missing = e.code.ends_with("DoesNotExistException")
        || e.code.ends_with("NotFoundException")
        || e.code == "ResourceNotFoundException";
    let (status, title) = if missing {
        (StatusCode::NOT_FOUND, "Not found")
    } else {
        (StatusCode::BAD_REQUEST, "Not possible")
    };
    message(status, Some(session), title, &e.message)
}

/// A time as pages show it (UTC, to the second).
pub fn when(t: Option<ferry_types::Timestamp>) -> String {
    t.and_then(|t| jiff::Timestamp::from_millisecond(t.millis()).ok())
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

pub fn forbidden(text: &str) -> Response {
    message(StatusCode::FORBIDDEN, None, "Refused", text)
}

pub async fn css() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("max-age=3600")),
        ],
        CSS,
    )
        .into_response()
}

pub async fn js() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("max-age=3600")),
        ],
        JS,
    )
        .into_response()
}
