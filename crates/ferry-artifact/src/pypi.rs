//! The Python package index protocols at a repository's PyPI endpoint: the simple repository
//! API (`simple/` and `simple/<project>/`, as PEP 503 HTML or PEP 691 JSON, with SHA-256
//! fragments, `data-requires-python` and PEP 592 yanking for Unlisted versions), file
//! downloads under `files/<project>/<version>/<file>` (a version found upstream is retained),
//! and the legacy upload API that twine posts to the endpoint itself (`:action=file_upload`,
//! a multipart form whose file must match its name, version and digests). Project names are
//! normalised as PEP 503 says; a request for a non-normalised name is redirected.

use ferry_model::codeartifact::PackageFormat;
use serde_json::{Value, json};

use crate::assets::Content;
use crate::external::Connection;
use crate::multipart;
use crate::names::normalise;
use crate::native::{Caller, NativeRequest, NativeResponse};
use crate::packages_api::Target;
use crate::records::{Dependency, VersionDoc};
use crate::service::ArtifactService;

const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// Percent-encodes what cannot appear raw in a URL path segment.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$'()*,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn wants_json(req: &NativeRequest) -> bool {
    let accept = req.header("accept").unwrap_or_default();
    // pip asks for JSON first; a client that asks only for HTML gets HTML.
    accept.contains(JSON_TYPE)
        && !accept
            .split(',')
            .next()
            .is_some_and(|first| first.contains("text/html"))
}

/// `simple/`: every project of the repository and its upstreams.
async fn index(svc: &ArtifactService, caller: &Caller, req: &NativeRequest) -> NativeResponse {
    let mut names = std::collections::BTreeSet::new();
    for repo in svc.search_order(&caller.domain, &caller.repository).await {
        for (k, _) in svc
            .store
            .ca_packages(&caller.domain, &repo)
            .await
            .unwrap_or_default()
        {
            if k.format == "pypi" {
                names.insert(k.name);
            }
        }
    }
    if wants_json(req) {
        let projects: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
        return NativeResponse {
            status: 200,
            content_type: JSON_TYPE,
            headers: Vec::new(),
            body: json!({ "meta": { "api-version": "1.0" }, "projects": projects })
                .to_string()
                .into_bytes(),
            file: None,
        };
    }
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>Simple index</title></head><body>\n",
    );
    for n in &names {
        html.push_str(&format!(
            "<a href=\"{}/\">{}</a><br/>\n",
            encode(n),
            html_escape(n)
        ));
    }
    html.push_str("</body></html>\n");
    NativeResponse::bytes("text/html; charset=utf-8", html.into_bytes())
}

/// `simple/<project>/`.
async fn project(
    svc: &ArtifactService,
    caller: &Caller,
    req: &NativeRequest,
    given: &str,
) -> NativeResponse {
    let name = normalise(PackageFormat::Pypi, given);
    if name != given {
        let mut r = NativeResponse::error(301, "Moved to the normalised name");
        let endpoint = svc.endpoint(&caller.domain, PackageFormat::Pypi, &caller.repository);
        r.headers
            .push(("location", format!("{endpoint}simple/{}/", encode(&name))));
        return r;
    }
    let m = svc
        .merged(caller, "", &name, &["Published", "Unlisted"])
        .await;
    let upstream = upstream_files(svc, caller, &name).await;
    if m.is_none()
        && upstream
            .as_ref()
            .is_none_or(|(_, _, files)| files.is_empty())
    {
        return NativeResponse::error(404, format!("{name} is not in this repository"));
    }
    let endpoint = svc.endpoint(&caller.domain, PackageFormat::Pypi, &caller.repository);
    let mut files = Vec::new();
    for (version, f) in m.iter().flat_map(|m| &m.versions) {
        let key = caller.key(&f.repository, "", &name);
        for a in svc.store.ca_assets(&key, version).await.unwrap_or_default() {
            files.push((
                a.name.clone(),
                format!(
                    "{endpoint}files/{}/{}/{}",
                    encode(&name),
                    encode(version),
                    encode(&a.name)
                ),
                a.sha256,
                f.doc.metadata["requires_python"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                match &upstream {
                    // Taken from the public index, which no longer lists it: yanked, saying why.
                    Some((conn, _, list))
                        if f.doc.origin_type == "EXTERNAL"
                            && !list.iter().any(|u| u.filename == a.name) =>
                    {
                        Some(format!(
                            "This file is no longer in the upstream registry ({})",
                            conn.name
                        ))
                    }
                    _ => (f.row.status == "Unlisted").then(String::new),
                },
            ));
        }
    }
    for u in upstream.iter().flat_map(|(_, _, list)| list) {
        if files.iter().any(|(f, ..)| *f == u.filename) {
            continue;
        }
        let Some((_, version)) = file_parts(&u.filename) else {
            continue;
        };
        files.push((
            u.filename.clone(),
            format!(
                "{endpoint}files/{}/{}/{}",
                encode(&name),
                encode(&version),
                encode(&u.filename)
            ),
            u.sha256.clone(),
            u.requires_python.clone(),
            u.yanked.clone(),
        ));
    }
    files.sort();
    if wants_json(req) {
        let list: Vec<Value> = files
            .iter()
            .map(|(file, url, sha, requires, yanked)| {
                json!({
                    "filename": file,
                    "url": url,
                    "hashes": { "sha256": sha },
                    "requires-python": requires,
                    "yanked": match yanked {
                        Some(reason) if !reason.is_empty() => json!(reason),
                        Some(_) => json!(true),
                        None => json!(false),
                    },
                })
            })
            .collect();
        return NativeResponse {
            status: 200,
            content_type: JSON_TYPE,
            headers: Vec::new(),
            body: json!({ "meta": { "api-version": "1.0" }, "name": name, "files": list })
                .to_string()
                .into_bytes(),
            file: None,
        };
    }
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>Links for {0}</title></head><body><h1>Links for {0}</h1>\n",
        html_escape(&name)
    );
    for (file, url, sha, requires, yanked) in &files {
        html.push_str(&format!("<a href=\"{}#sha256={sha}\"", html_escape(url)));
        if let Some(r) = requires {
            html.push_str(&format!(" data-requires-python=\"{}\"", html_escape(r)));
        }
        if let Some(reason) = yanked {
            html.push_str(&format!(" data-yanked=\"{}\"", html_escape(reason)));
        }
        html.push_str(&format!(">{}</a><br/>\n", html_escape(file)));
    }
    html.push_str("</body></html>\n");
    NativeResponse::bytes("text/html; charset=utf-8", html.into_bytes())
}

/// `files/<project>/<version>/<file>`.
/// A file an upstream index lists.
struct UpstreamFile {
    filename: String,
    url: String,
    sha256: String,
    requires_python: Option<String>,
    /// Why the index yanked it (empty when it gives no reason).
    yanked: Option<String>,
}

/// The files of a project in the upstream index the caller's lookup may reach through an
/// external connection (PEP 691 JSON), with the page's URL.
async fn upstream_files(
    svc: &ArtifactService,
    caller: &Caller,
    name: &str,
) -> Option<(Connection, String, Vec<UpstreamFile>)> {
    let conn = svc.connection(caller, "", name).await?;
    let url = format!("{}simple/{name}/", conn.upstream.url);
    let body = match svc.external_metadata(&conn, name, &url, JSON_TYPE).await {
        Ok(Some(b)) => b,
        // The index no longer has the project at all: every file it had is gone.
        Ok(None) => return Some((conn, url, Vec::new())),
        Err(e) => {
            tracing::warn!(error = %e, "fetching an upstream project page");
            return None;
        }
    };
    let doc: Value = serde_json::from_slice(&body).ok()?;
    let files = doc["files"]
        .as_array()?
        .iter()
        .filter_map(|f| {
            Some(UpstreamFile {
                filename: f["filename"].as_str()?.to_owned(),
                url: f["url"].as_str()?.to_owned(),
                // Files without a SHA-256 cannot be checked, so they are not offered.
                sha256: f["hashes"]["sha256"].as_str()?.to_ascii_lowercase(),
                requires_python: f["requires-python"].as_str().map(str::to_owned),
                yanked: match &f["yanked"] {
                    Value::String(reason) => Some(reason.clone()),
                    Value::Bool(true) => Some(String::new()),
                    _ => None,
                },
            })
        })
        .collect();
    Some((conn, url, files))
}

/// Fetches `file` through the external connection, checks its SHA-256 and ingests it into the
/// repository holding the connection. `Err` is the answer to give.
async fn ingest(
    svc: &ArtifactService,
    caller: &Caller,
    name: &str,
    version: &str,
    file: &str,
) -> Result<(), NativeResponse> {
    let missing = || NativeResponse::error(404, format!("No file {file} of {name} {version}"));
    let (conn, page, files) = upstream_files(svc, caller, name)
        .await
        .ok_or_else(missing)?;
    let u = files
        .into_iter()
        .find(|f| f.filename == file)
        .ok_or_else(missing)?;
    if file_parts(file).is_none_or(|(_, v)| v != version) {
        return Err(missing());
    }
    let source = crate::external::join(&page, &u.url);
    let bytes = crate::external::get(&source, conn.upstream.authorization.as_deref(), "*/*")
        .await
        .map_err(|e| NativeResponse::error(502, format!("the upstream index: {e}")))?
        .ok_or_else(missing)?;
    if crate::assets::hash(&bytes).sha256 != u.sha256 {
        return Err(NativeResponse::error(
            502,
            format!("The upstream file {file} does not match its SHA-256"),
        ));
    }
    let target = Target {
        key: caller.key(&conn.repository, "", name),
        format: PackageFormat::Pypi,
    };
    let doc = VersionDoc {
        origin_type: "EXTERNAL".into(),
        origin_external: Some(conn.name.clone()),
        display_name: Some(name.to_owned()),
        metadata: json!({ "requires_python": u.requires_python.unwrap_or_default() }),
        ..Default::default()
    };
    svc.keep_external(&target, version, file, &bytes, doc)
        .await
        .map_err(|e| NativeResponse::error(500, e))
}

async fn download(
    svc: &ArtifactService,
    caller: &Caller,
    name: &str,
    version: &str,
    file: &str,
) -> NativeResponse {
    let name = normalise(PackageFormat::Pypi, name);
    let statuses = ["Published", "Unlisted"];
    let mut m = svc.merged(caller, "", &name, &statuses).await;
    let have = |m: &Option<crate::upstream::Merged>| {
        m.as_ref().and_then(|m| m.versions.get(version)).is_some()
    };
    let mut local = have(&m);
    if local
        && let Some(f) = m.as_ref().and_then(|m| m.versions.get(version))
        && svc
            .store
            .ca_assets(&caller.key(&f.repository, "", &name), version)
            .await
            .unwrap_or_default()
            .iter()
            .all(|a| a.name != file)
    {
        local = false;
    }
    if !local {
        if let Err(answer) = ingest(svc, caller, &name, version, file).await {
            return answer;
        }
        m = svc.merged(caller, "", &name, &statuses).await;
    }
    let Some(f) = m.as_ref().and_then(|m| m.versions.get(version)) else {
        return NativeResponse::error(404, format!("{name} {version} is not in this repository"));
    };
    let Some(asset) = svc.fetch_asset(caller, "", &name, f, file).await else {
        return NativeResponse::error(404, format!("No file {file}"));
    };
    NativeResponse::content(&asset)
}

/// The project and version a distribution's file name carries: wheels
/// `{name}-{version}(-{build})?-{py}-{abi}-{platform}.whl`, sdists `{name}-{version}.tar.gz`
/// (or `.zip`).
pub fn file_parts(file: &str) -> Option<(String, String)> {
    if let Some(stem) = file.strip_suffix(".whl") {
        let mut it = stem.split('-');
        let (name, version) = (it.next()?, it.next()?);
        return (it.count() >= 3).then(|| (name.to_owned(), version.to_owned()));
    }
    let stem = file
        .strip_suffix(".tar.gz")
        .or_else(|| file.strip_suffix(".zip"))?;
    let (name, version) = stem.rsplit_once('-')?;
    Some((name.to_owned(), version.to_owned()))
}

/// A loose comparison of versions as written in a file name and in metadata.
fn same_version(a: &str, b: &str) -> bool {
    let n = |s: &str| s.to_ascii_lowercase().replace(['_', '-'], ".");
    n(a) == n(b)
}

fn requirement(spec: &str) -> Dependency {
    let spec = spec.trim();
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(spec.len());
    let rest = spec[end..].trim();
    Dependency {
        namespace: None,
        package: normalise(PackageFormat::Pypi, &spec[..end]),
        dependency_type: Some(if rest.contains("extra ==") {
            "extra".into()
        } else {
            "install".into()
        }),
        version_requirement: (!rest.is_empty()).then(|| rest.to_owned()),
    }
}

/// The legacy upload API (twine).
async fn upload(svc: &ArtifactService, caller: &Caller, req: &NativeRequest) -> NativeResponse {
    let Some(boundary) = req.header("content-type").and_then(multipart::boundary) else {
        return NativeResponse::error(400, "The upload must be a multipart/form-data form");
    };
    let form =
        match multipart::parse_stream(req.reader(), &boundary, "content", || svc.spool()).await {
            Ok(f) => f,
            Err(why) => return NativeResponse::error(400, why),
        };
    let parts = form.parts;
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
    };
    let all = |name: &str| -> Vec<String> {
        parts
            .iter()
            .filter(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
            .collect()
    };
    if field(":action").as_deref() != Some("file_upload") {
        return NativeResponse::error(400, "Only :action=file_upload is supported");
    }
    let (Some(given), Some(version)) = (field("name"), field("version")) else {
        return NativeResponse::error(400, "The form needs a name and a version");
    };
    let Some((content, spool)) = form.file else {
        return NativeResponse::error(400, "The form has no file (content)");
    };
    let spooled = spool.finish();
    let file = content.filename.clone().unwrap_or_default();
    let name = normalise(PackageFormat::Pypi, &given);
    if name.is_empty()
        || !crate::names::valid_package(&name)
        || !crate::names::valid_version(&version)
        || !crate::names::valid_asset_name(&file.replace('+', "_"))
    {
        return NativeResponse::error(400, "Invalid project name, version or file name");
    }
    match file_parts(&file) {
        Some((n, v))
            if normalise(PackageFormat::Pypi, &n) == name && same_version(&v, &version) => {}
        _ => {
            return NativeResponse::error(
                400,
                format!("The file {file} is not a distribution of {given} {version}"),
            );
        }
    }
    let hashed = spooled.hashed.clone();
    for (form, algo) in [("sha256_digest", "SHA-256"), ("md5_digest", "MD5")] {
        if let Some(d) = field(form).filter(|d| !d.is_empty())
            && !d.eq_ignore_ascii_case(&hashed.doc.hashes[algo])
        {
            return NativeResponse::error(400, format!("The file does not match its {form}"));
        }
    }
    let target = Target {
        key: caller.key(&caller.repository, "", &name),
        format: PackageFormat::Pypi,
    };
    let pkg = svc.package_record(&target.key).await;
    if let Err(why) = svc.may_publish(&target.key, pkg.as_ref()).await {
        return NativeResponse::error(403, why);
    }
    let doc = match svc.store.ca_version(&target.key, &version).await {
        Ok(Some(v)) if v.status != "Published" => {
            return NativeResponse::error(
                409,
                format!("{name} {version} is {} and takes no new files", v.status),
            );
        }
        Ok(Some(v)) => match serde_json::from_str::<VersionDoc>(&v.document) {
            Ok(d) => d,
            Err(e) => return NativeResponse::error(500, e.to_string()),
        },
        Ok(None) => VersionDoc {
            origin_type: "INTERNAL".into(),
            origin_repository: Some(caller.repository.clone()),
            display_name: Some(given.clone()),
            summary: field("summary").filter(|s| !s.is_empty()),
            home_page: field("home_page").filter(|s| !s.is_empty()),
            readme: field("description").filter(|s| !s.is_empty()),
            dependencies: all("requires_dist")
                .iter()
                .map(|r| requirement(r))
                .collect(),
            metadata: json!({
                "requires_python": field("requires_python").unwrap_or_default(),
                "metadata_version": field("metadata_version"),
                "author": field("author"),
                "license": field("license"),
            }),
            ..Default::default()
        },
        Err(e) => return NativeResponse::error(500, e.to_string()),
    };
    match svc
        .add_asset(
            &target,
            &version,
            &file,
            Content::Spooled(spooled),
            None,
            "Published",
            doc,
        )
        .await
    {
        Ok(_) => NativeResponse::bytes("text/plain; charset=utf-8", b"OK\n".to_vec()),
        Err(e) if e.code == "ConflictException" => {
            NativeResponse::error(409, format!("File already exists: {file}"))
        }
        Err(e) => NativeResponse::error(400, e.message),
    }
}

/// Answers one request at a PyPI endpoint.
pub(crate) async fn handle(
    svc: &ArtifactService,
    caller: &Caller,
    req: &NativeRequest,
) -> NativeResponse {
    let rest = crate::npm::decode(&req.rest);
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("POST", []) => upload(svc, caller, req).await,
        ("GET", ["simple"]) => index(svc, caller, req).await,
        ("GET", ["simple", project_name]) => project(svc, caller, req, project_name).await,
        ("GET", ["files", name, version, file]) => download(svc, caller, name, version, file).await,
        _ => NativeResponse::error(404, "Not a PyPI repository path"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            file_parts("friendly_bard-1.0.2-py3-none-any.whl"),
            Some(("friendly_bard".into(), "1.0.2".into()))
        );
        assert_eq!(
            file_parts("Friendly-Bard-1.0.2.tar.gz"),
            Some(("Friendly-Bard".into(), "1.0.2".into()))
        );
        assert_eq!(file_parts("x-1.0-py3.whl"), None);
        assert_eq!(file_parts("x.exe"), None);
        assert!(same_version("1.0.0rc1", "1.0.0RC1") && !same_version("1.0", "1.1"));
    }

    #[test]
    fn requirements() {
        let r = requirement("Requests (>=2.0) ; extra == 'http'");
        assert_eq!(r.package, "requests");
        assert_eq!(r.dependency_type.as_deref(), Some("extra"));
        assert_eq!(requirement("click").version_requirement, None);
    }

    #[test]
    fn escaping() {
        assert_eq!(
            html_escape("<a href=\"x\">"),
            "&lt;a href=&quot;x&quot;&gt;"
        );
        assert_eq!(encode("a b+c"), "a%20b%2Bc");
    }
}
