//! Package pages: domains with their repositories, a repository's packages by format, a
//! package's versions, and a version with its assets, readme (Markdown, rendered and
//! sanitised), dependencies and the command
//! that installs it with its own client; a version's status can be changed (a CSRF-checked
//! form). They read and write through the CodeArtifact API face with the session's context.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ferry_model::codeartifact::*;
use serde::{Deserialize, Serialize};

use super::view::{Page, failed, message, render};
use super::{Session, authorize};
use crate::state::SharedState;

#[derive(Serialize)]
struct DomainRow {
    name: String,
    repositories: Vec<(String, Option<String>)>,
}

pub async fn domains(State(st): State<SharedState>, session: Session) -> Response {
    let ctx = authorize(&st, &session, "codeartifact:ListDomains");
    let api = &st.artifacts;
    let list = match api.list_domains(&ctx, ListDomainsRequest::default()).await {
        Ok(o) => o.domains.unwrap_or_default(),
        Err(e) => return failed(&session, e),
    };
    let mut rows = Vec::new();
    for d in list {
        let name = d.name.unwrap_or_default();
        let repos = api
            .list_repositories_in_domain(
                &ctx,
                ListRepositoriesInDomainRequest {
                    domain: name.clone(),
                    ..Default::default()
                },
            )
            .await
            .ok()
            .and_then(|o| o.repositories)
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.name.unwrap_or_default(), r.description))
            .collect();
        rows.push(DomainRow {
            name,
            repositories: repos,
        });
    }
    render(
        "domains.html",
        Page::of(&session, "Packages")
            .with("section", "packages")
            .with("domains", rows),
    )
}

#[derive(Serialize)]
struct PackageRow {
    format: String,
    namespace: Option<String>,
    name: String,
    publish: Option<String>,
    upstream: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Coordinates {
    #[serde(default)]
    namespace: Option<String>,
}

pub async fn repository(
    State(st): State<SharedState>,
    session: Session,
    Path((domain, repo)): Path<(String, String)>,
) -> Response {
    let ctx = authorize(&st, &session, "codeartifact:ListPackages");
    let api = &st.artifacts;
    let mut rows = Vec::new();
    let mut token = None;
    loop {
        let out = match api
            .list_packages(
                &ctx,
                ListPackagesRequest {
                    domain: domain.clone(),
                    repository: repo.clone(),
                    next_token: token,
                    ..Default::default()
                },
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return failed(&session, e),
        };
        for p in out.packages.unwrap_or_default() {
            let r = p.origin_configuration.and_then(|o| o.restrictions);
            rows.push(PackageRow {
                format: p.format.map(|f| f.to_string()).unwrap_or_default(),
                namespace: p.namespace,
                name: p.package.unwrap_or_default(),
                publish: r.as_ref().map(|r| r.publish.to_string()),
                upstream: r.as_ref().map(|r| r.upstream.to_string()),
            });
        }
        token = out.next_token;
        if token.is_none() || rows.len() >= 1000 {
            break;
        }
    }
    let mut endpoints = Vec::new();
    for format in ["npm", "pypi", "maven", "cargo"] {
        let Some(f) = PackageFormat::parse(format) else {
            continue;
        };
        if let Ok(o) = api
            .get_repository_endpoint(
                &ctx,
                GetRepositoryEndpointRequest {
                    domain: domain.clone(),
                    repository: repo.clone(),
                    format: f,
                    ..Default::default()
                },
            )
            .await
        {
            endpoints.push((format, o.repository_endpoint.unwrap_or_default()));
        }
    }
    render(
        "packages.html",
        Page::of(&session, &format!("{repo} · {domain}"))
            .with("section", "packages")
            .with("domain", &domain)
            .with("repo", &repo)
            .with("packages", rows)
            .with("endpoints", endpoints),
    )
}

fn not_a_format(session: &Session) -> Response {
    message(
        StatusCode::NOT_FOUND,
        Some(session),
        "Not found",
        "No such package format",
    )
}

pub async fn package(
    State(st): State<SharedState>,
    session: Session,
    Path((domain, repo, format, name)): Path<(String, String, String, String)>,
    Query(c): Query<Coordinates>,
) -> Response {
    let ctx = authorize(&st, &session, "codeartifact:ListPackageVersions");
    let Some(f) = PackageFormat::parse(&format) else {
        return not_a_format(&session);
    };
    let out = match st
        .artifacts
        .list_package_versions(
            &ctx,
            ListPackageVersionsRequest {
                domain: domain.clone(),
                repository: repo.clone(),
                format: f,
                namespace: c.namespace.clone(),
                package: name.clone(),
                ..Default::default()
            },
        )
        .await
    {
        Ok(o) => o,
        Err(e) => return failed(&session, e),
    };
    let versions: Vec<(String, String)> = out
        .versions
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v.version, v.status.to_string()))
        .collect();
    render(
        "package.html",
        Page::of(&session, &format!("{name} · {repo}"))
            .with("section", "packages")
            .with("domain", &domain)
            .with("repo", &repo)
            .with("format", &format)
            .with("namespace", &c.namespace)
            .with("name", &name)
            .with("latest", &out.default_display_version)
            .with("versions", versions),
    )
}

/// The command that installs a version with its format's own client.
fn install_command(format: &str, namespace: Option<&str>, name: &str, version: &str) -> String {
    match (format, namespace) {
        ("npm", Some(scope)) => format!("npm install @{scope}/{name}@{version}"),
        ("npm", None) => format!("npm install {name}@{version}"),
        ("pypi", _) => format!("pip install '{name}=={version}'"),
        ("maven", Some(group)) => {
            format!("mvn dependency:get -Dartifact={group}:{name}:{version}")
        }
        ("cargo", _) => format!("cargo add {name}@{version}"),
        _ => format!(
            "aws codeartifact get-package-version-asset --format {format}{} --package {name} --package-version {version} --asset ASSET OUTFILE",
            namespace
                .map(|n| format!(" --namespace {n}"))
                .unwrap_or_default()
        ),
    }
}

pub async fn version(
    State(st): State<SharedState>,
    session: Session,
    Path((domain, repo, format, name, version)): Path<(String, String, String, String, String)>,
    Query(c): Query<Coordinates>,
) -> Response {
    let ctx = authorize(&st, &session, "codeartifact:DescribePackageVersion");
    let Some(f) = PackageFormat::parse(&format) else {
        return not_a_format(&session);
    };
    let api = &st.artifacts;
    let described = match api
        .describe_package_version(
            &ctx,
            DescribePackageVersionRequest {
                domain: domain.clone(),
                repository: repo.clone(),
                format: f,
                namespace: c.namespace.clone(),
                package: name.clone(),
                package_version: version.clone(),
                ..Default::default()
            },
        )
        .await
    {
        Ok(o) => Some(o.package_version),
        Err(e) => return failed(&session, e),
    };
    let assets: Vec<(String, Option<i64>, Option<String>)> = api
        .list_package_version_assets(
            &ctx,
            ListPackageVersionAssetsRequest {
                domain: domain.clone(),
                repository: repo.clone(),
                format: f,
                namespace: c.namespace.clone(),
                package: name.clone(),
                package_version: version.clone(),
                ..Default::default()
            },
        )
        .await
        .ok()
        .and_then(|o| o.assets)
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            let sha = a.hashes.and_then(|h| h.get("SHA-256").cloned());
            (a.name, a.size, sha)
        })
        .collect();
    let readme = api
        .get_package_version_readme(
            &ctx,
            GetPackageVersionReadmeRequest {
                domain: domain.clone(),
                repository: repo.clone(),
                format: f,
                namespace: c.namespace.clone(),
                package: name.clone(),
                package_version: version.clone(),
                ..Default::default()
            },
        )
        .await
        .ok()
        .and_then(|o| o.readme)
        .filter(|r| !r.is_empty())
        .map(|r| minijinja::Value::from_safe_string(super::rich::markdown(&r)));
    let dependencies: Vec<(String, Option<String>, Option<String>)> = api
        .list_package_version_dependencies(
            &ctx,
            ListPackageVersionDependenciesRequest {
                domain: domain.clone(),
                repository: repo.clone(),
                format: f,
                namespace: c.namespace.clone(),
                package: name.clone(),
                package_version: version.clone(),
                ..Default::default()
            },
        )
        .await
        .ok()
        .and_then(|o| o.dependencies)
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            let full = match d.namespace {
                Some(ns) if format == "npm" => format!("@{ns}/{}", d.package.unwrap_or_default()),
                Some(ns) => format!("{ns}:{}", d.package.unwrap_or_default()),
                None => d.package.unwrap_or_default(),
            };
            (full, d.dependency_type, d.version_requirement)
        })
        .collect();
    let status = described
        .as_ref()
        .and_then(|d| d.status)
        .map(|s| s.to_string())
        .unwrap_or_default();
    render(
        "version.html",
        Page::of(&session, &format!("{name} {version}"))
            .with("section", "packages")
            .with("domain", &domain)
            .with("repo", &repo)
            .with("format", &format)
            .with("namespace", &c.namespace)
            .with("name", &name)
            .with("version", &version)
            .with("status", &status)
            .with(
                "summary",
                described.as_ref().and_then(|d| d.summary.clone()),
            )
            .with(
                "origin",
                described
                    .as_ref()
                    .and_then(|d| d.origin.as_ref())
                    .and_then(|o| o.origin_type)
                    .map(|t| t.to_string()),
            )
            .with("assets", assets)
            .with("readme", readme)
            .with("dependencies", dependencies)
            .with(
                "install",
                install_command(&format, c.namespace.as_deref(), &name, &version),
            ),
    )
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    status: String,
    #[serde(default)]
    namespace: Option<String>,
}

pub async fn set_status(
    State(st): State<SharedState>,
    session: Session,
    Path((domain, repo, format, name, version)): Path<(String, String, String, String, String)>,
    Form(form): Form<StatusForm>,
) -> Response {
    if let Some(refused) = session.refusal(&form.csrf) {
        return refused;
    }
    let ctx = authorize(&st, &session, "codeartifact:UpdatePackageVersionsStatus");
    let Some(f) = PackageFormat::parse(&format) else {
        return not_a_format(&session);
    };
    let Some(target) = PackageVersionStatus::parse(&form.status)
        .filter(|s| matches!(s.as_str(), "Published" | "Unlisted" | "Archived"))
    else {
        return message(
            StatusCode::BAD_REQUEST,
            Some(&session),
            "Refused",
            "A version's status can be set to Published, Unlisted or Archived",
        );
    };
    let namespace = form.namespace.filter(|n| !n.is_empty());
    let out = st
        .artifacts
        .update_package_versions_status(
            &ctx,
            UpdatePackageVersionsStatusRequest {
                domain: domain.clone(),
                repository: repo.clone(),
                format: f,
                namespace: namespace.clone(),
                package: name.clone(),
                versions: vec![version.clone()],
                target_status: target,
                ..Default::default()
            },
        )
        .await;
    match out {
        Ok(o) if o.failed_versions.as_ref().is_none_or(|m| m.is_empty()) => {
            let q = namespace
                .map(|n| format!("?namespace={}", super::view::query_value(&n)))
                .unwrap_or_default();
            Redirect::to(&format!(
                "/console/packages/{}/{}/{}/{}/{}{q}",
                super::view::segment(&domain),
                super::view::segment(&repo),
                super::view::segment(&format),
                super::view::segment(&name),
                super::view::segment(&version)
            ))
            .into_response()
        }
        Ok(o) => message(
            StatusCode::CONFLICT,
            Some(&session),
            "Not changed",
            &format!("{:?}", o.failed_versions.unwrap_or_default()),
        ),
        Err(e) => failed(&session, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_commands_per_client() {
        assert_eq!(
            install_command("npm", Some("acme"), "ui", "1.0.0"),
            "npm install @acme/ui@1.0.0"
        );
        assert_eq!(
            install_command("pypi", None, "req", "2.0"),
            "pip install 'req==2.0'"
        );
        assert_eq!(
            install_command("maven", Some("com.acme"), "core", "1.2"),
            "mvn dependency:get -Dartifact=com.acme:core:1.2"
        );
        assert_eq!(
            install_command("cargo", None, "serde", "1.0.0"),
            "cargo add serde@1.0.0"
        );
    }
}
