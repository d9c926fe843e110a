//! The web console at `/console`: pages rendered on the server from templates embedded in the
//! binary (minijinja, HTML auto-escaping on, so every user-controlled string is escaped), read
//! without JavaScript (one small script makes a running build's log grow live and keeps a
//! pipeline's graph current). A visitor signs in with a Ferry user's name and console password; every
//! page then goes through one authorisation function, [`authorize`], which turns the session
//! into the request context the services' API faces take, so a page can do what the same user
//! could do through the API and no more. Every form carries the session's CSRF token, checked
//! on every POST.

mod builds;
mod deployments;
mod diffs;
mod packages;
mod password;
mod pipelines;
mod pulls;
mod repos;
mod rich;
mod session;
mod view;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ferry_wire::RequestContext;

pub use password::{hash_password, set_initial_root_password};
pub use session::Session;

use crate::state::SharedState;

/// Where the console lives.
pub const BASE: &str = "/console";

/// The console's routes.
pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route(
            "/console/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/assets/console.css", get(view::css))
        .route("/console/assets/console.js", get(view::js))
        .route("/console/repos", get(repos::list))
        .route("/console/repos/{name}", get(repos::root))
        .route("/console/repos/{name}/tree/{*path}", get(repos::tree))
        .route("/console/repos/{name}/blob/{*path}", get(repos::blob))
        .route("/console/repos/{name}/commits", get(repos::commits))
        .route("/console/repos/{name}/commit/{id}", get(repos::commit))
        .route("/console/repos/{name}/branches", get(repos::branches))
        .route("/console/repos/{name}/pulls", get(pulls::list))
        .route("/console/repos/{name}/pulls/{id}", get(pulls::pull))
        .route("/console/repos/{name}/pulls/{id}/act", post(pulls::act))
        .route("/console/builds", get(builds::projects))
        .route("/console/builds/{project}", get(builds::project))
        .route("/console/builds/{project}/start", post(builds::start))
        .route("/console/builds/{project}/{id}", get(builds::build))
        .route("/console/builds/{project}/{id}/log", get(builds::live_log))
        .route(
            "/console/builds/{project}/{id}/artifact",
            get(builds::artifact),
        )
        .route("/console/builds/{project}/{id}/stop", post(builds::stop))
        .route("/console/builds/{project}/{id}/retry", post(builds::retry))
        .route("/console/deployments", get(deployments::applications))
        .route("/console/deployments/d/{id}", get(deployments::deployment))
        .route("/console/deployments/d/{id}/stop", post(deployments::stop))
        .route(
            "/console/deployments/{app}/{group}",
            get(deployments::group),
        )
        .route("/console/pipelines", get(pipelines::list))
        .route("/console/pipelines/{name}", get(pipelines::pipeline))
        .route("/console/pipelines/{name}/state", get(pipelines::state))
        .route("/console/pipelines/{name}/act", post(pipelines::act))
        .route("/console/packages", get(packages::domains))
        .route(
            "/console/packages/{domain}/{repo}",
            get(packages::repository),
        )
        .route(
            "/console/packages/{domain}/{repo}/{format}/{package}",
            get(packages::package),
        )
        .route(
            "/console/packages/{domain}/{repo}/{format}/{package}/{version}",
            get(packages::version),
        )
        .route(
            "/console/packages/{domain}/{repo}/{format}/{package}/{version}/status",
            post(packages::set_status),
        )
}

async fn home(session: Option<Session>) -> Response {
    match session {
        Some(_) => Redirect::to("/console/repos").into_response(),
        None => Redirect::to("/console/sign-in").into_response(),
    }
}

/// What a page may do on behalf of its session: the request context the services take for
/// `action` (`codecommit:GetFolder`, …). Every page asks here; today every signed-in user
/// may do everything, as through the API, until policies arrive.
pub fn authorize(st: &SharedState, session: &Session, action: &str) -> RequestContext {
    let principal_arn = if session.user_name == "root" {
        format!("arn:aws:iam::{}:root", st.account_id)
    } else {
        format!("arn:aws:iam::{}:user/{}", st.account_id, session.user_name)
    };
    tracing::debug!(user = %session.user_name, action, "console");
    RequestContext {
        request_id: uuid::Uuid::new_v4().simple().to_string(),
        account_id: st.account_id.clone(),
        region: st.region.clone(),
        principal_arn,
        user_name: session.user_name.clone(),
        access_key_id: None,
    }
}
