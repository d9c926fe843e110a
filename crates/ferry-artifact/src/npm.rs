//! The npm registry protocol at a repository's npm endpoint: packuments (full, and abbreviated
//! for `application/vnd.npm.install-v1+json`) merged over the repository's upstreams in search
//! order, tarballs (a version found upstream is retained in the requesting repository),
//! `npm publish` (a document with the version's manifest and the tarball as a base64
//! attachment, checked against its declared integrity), `npm deprecate` (a packument PUT
//! without attachments), `npm unpublish` (`/-rev/` PUTs and DELETEs), dist-tags, `whoami` and
//! `ping`. Scoped names (`@scope/name`) are stored with the scope as the namespace.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ferry_model::codeartifact::PackageFormat;
use ferry_store::artifacts::PackageKey;
use serde_json::{Map, Value, json};

use crate::assets::Content;
use crate::external::Connection;
use crate::native::{Caller, NativeRequest, NativeResponse};
use crate::packages_api::Target;
use crate::records::{Dependency, PackageDoc, VersionDoc};
use crate::service::{ArtifactService, now_ms};
use crate::upstream::{Found, Merged};

/// The media type of abbreviated packuments.
const ABBREVIATED: &str = "application/vnd.npm.install-v1+json";

/// The manifest fields an abbreviated packument keeps.
const INSTALL_FIELDS: &[&str] = &[
    "name",
    "version",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "bundleDependencies",
    "bundledDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "acceptDependencies",
    "bin",
    "directories",
    "dist",
    "engines",
    "deprecated",
    "os",
    "cpu",
    "_hasShrinkwrap",
    "hasInstallScript",
];

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Packument(String),
    Tarball(String, String),
    Rev(String),
    DistTags(String),
    DistTag(String, String),
    Whoami,
    Ping,
}

/// Percent-decoding of a path (npm sends `@scope%2fname`).
pub(crate) fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(rest: &str) -> Option<Route> {
    let path = decode(rest);
    let path = path.trim_end_matches('/');
    match path {
        "-/whoami" => return Some(Route::Whoami),
        "-/ping" => return Some(Route::Ping),
        _ => {}
    }
    if let Some(p) = path.strip_prefix("-/package/") {
        let (name, tags) = p.split_once("/dist-tags")?;
        return Some(match tags.strip_prefix('/') {
            Some(tag) if !tag.is_empty() => Route::DistTag(name.to_owned(), tag.to_owned()),
            _ => Route::DistTags(name.to_owned()),
        });
    }
    if let Some((name, file)) = path.split_once("/-/") {
        let file = file.split_once("/-rev/").map_or(file, |(f, _)| f);
        return Some(Route::Tarball(name.to_owned(), file.to_owned()));
    }
    if let Some((name, _)) = path.split_once("/-rev/") {
        return Some(Route::Rev(name.to_owned()));
    }
    (!path.is_empty() && !path.starts_with("-/")).then(|| Route::Packument(path.to_owned()))
}

/// `@scope/name` → (`scope`, `name`); `name` → (``, `name`).
fn split_name(full: &str) -> Option<(String, String)> {
    match full.strip_prefix('@') {
        Some(scoped) => {
            let (scope, name) = scoped.split_once('/')?;
            (!scope.is_empty() && !name.is_empty() && !name.contains('/'))
                .then(|| (scope.to_owned(), name.to_owned()))
        }
        None => (!full.contains('/')).then(|| (String::new(), full.to_owned())),
    }
}

/// npm's rules for a new package name (and scope): at most 214 characters, lower case,
/// URL-safe, not starting with `.` or `_`.
pub fn valid_new_name(scope: &str, name: &str) -> bool {
    let part = |s: &str| {
        !s.is_empty()
            && !s.starts_with(['.', '_'])
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._~".contains(c))
    };
    let total = name.len() + if scope.is_empty() { 0 } else { scope.len() + 2 };
    total <= 214 && part(name) && (scope.is_empty() || part(scope))
}

fn full_name(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("@{scope}/{name}")
    }
}

/// ISO-8601 with milliseconds, as npm registries write times.
fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// The tarball file name of a version (`name-1.0.0.tgz`, without the scope).
fn tarball_file(name: &str, version: &str) -> String {
    format!("{name}-{version}.tgz")
}

/// A version's manifest as served: the stored manifest with `dist` pointing at this endpoint.
fn manifest(svc: &ArtifactService, caller: &Caller, scope: &str, name: &str, f: &Found) -> Value {
    let mut m = f.doc.metadata.clone();
    if !m.is_object() {
        m = json!({});
    }
    let full = full_name(scope, name);
    let endpoint = svc.endpoint(&caller.domain, PackageFormat::Npm, &caller.repository);
    let file = tarball_file(name, &f.row.version);
    let dist = m["dist"].as_object().cloned().unwrap_or_default();
    let mut dist = dist;
    dist.insert(
        "tarball".into(),
        json!(format!("{endpoint}{full}/-/{file}")),
    );
    m["dist"] = Value::Object(dist);
    m["name"] = json!(full);
    m["version"] = json!(f.row.version);
    m
}

fn latest_of(m: &Merged) -> Option<String> {
    m.versions
        .values()
        .filter(|f| f.row.status == "Published")
        .max_by_key(|f| (f.row.published_ms, f.row.version.clone()))
        .map(|f| f.row.version.clone())
}

/// One version as a packument serves it.
struct Served {
    manifest: Value,
    published_ms: i64,
    readme: Option<String>,
    summary: Option<String>,
}

/// The upstream packument of a package through the external connection the caller's lookup
/// may use, with its URL.
async fn upstream_packument(
    svc: &ArtifactService,
    caller: &Caller,
    scope: &str,
    name: &str,
) -> Option<(Connection, String, Value)> {
    let conn = svc.connection(caller, scope, name).await?;
    let path = if scope.is_empty() {
        name.to_owned()
    } else {
        format!("@{scope}%2f{name}")
    };
    let url = format!("{}{path}", conn.upstream.url);
    let got = svc
        .external_metadata(&conn, &full_name(scope, name), &url, "application/json")
        .await;
    match got {
        Ok(Some(body)) => {
            let doc = serde_json::from_slice(&body).ok()?;
            Some((conn, url, doc))
        }
        // The registry no longer has the package at all: every version it had is gone.
        Ok(None) => Some((conn, url, json!({ "versions": {} }))),
        Err(e) => {
            tracing::warn!(error = %e, "fetching an upstream packument");
            None
        }
    }
}

async fn packument(
    svc: &ArtifactService,
    caller: &Caller,
    req: &NativeRequest,
    full: &str,
) -> NativeResponse {
    let Some((scope, name)) = split_name(full) else {
        return NativeResponse::error(400, format!("Invalid package name {full}"));
    };
    let m = svc.merged(caller, &scope, &name, &["Published"]).await;
    let upstream = upstream_packument(svc, caller, &scope, &name).await;
    let mut served: BTreeMap<String, Served> = BTreeMap::new();
    let mut tag_source: BTreeMap<String, String> = BTreeMap::new();
    if let Some(m) = &m {
        tag_source = m.package.dist_tags.clone();
        for (v, f) in &m.versions {
            let mut man = manifest(svc, caller, &scope, &name, f);
            // A version taken from a public registry that the registry no longer lists.
            if f.doc.origin_type == "EXTERNAL"
                && let Some((conn, _, up)) = &upstream
                && up["versions"].get(v).is_none()
            {
                man["deprecated"] = json!(format!(
                    "This version is no longer in the upstream registry ({})",
                    conn.name
                ));
            }
            served.insert(
                v.clone(),
                Served {
                    manifest: man,
                    published_ms: f.row.published_ms,
                    readme: f.doc.readme.clone(),
                    summary: f.doc.summary.clone(),
                },
            );
        }
    }
    if let Some((_, _, up)) = &upstream {
        let endpoint = svc.endpoint(&caller.domain, PackageFormat::Npm, &caller.repository);
        let times = up["time"].as_object();
        for (v, man) in up["versions"].as_object().into_iter().flatten() {
            if served.contains_key(v) || !crate::names::valid_version(v) {
                continue;
            }
            let mut man = man.clone();
            man["dist"]["tarball"] =
                json!(format!("{endpoint}{full}/-/{}", tarball_file(&name, v)));
            let published_ms = times
                .and_then(|t| t.get(v))
                .and_then(Value::as_str)
                .and_then(ferry_types::Timestamp::parse_iso8601)
                .map_or(0, |t| t.millis());
            served.insert(
                v.clone(),
                Served {
                    manifest: man,
                    published_ms,
                    readme: None,
                    summary: None,
                },
            );
        }
        if tag_source.is_empty()
            && let Some(tags) = up["dist-tags"].as_object()
        {
            tag_source = tags
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect();
        }
        if served.values().all(|s| s.readme.is_none()) {
            let readme = up["readme"].as_str().map(str::to_owned);
            if let Some(latest) = tag_source.get("latest")
                && let Some(s) = served.get_mut(latest)
            {
                s.readme = readme;
            }
        }
    }
    if served.is_empty() {
        return NativeResponse::error(404, format!("{full} is not in this repository"));
    }
    let mut tags: Map<String, Value> = tag_source
        .iter()
        .filter(|(_, v)| served.contains_key(*v))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if !tags.contains_key("latest")
        && let Some((v, _)) = served
            .iter()
            .max_by_key(|(v, s)| (s.published_ms, (*v).clone()))
    {
        tags.insert("latest".into(), json!(v));
    }
    let modified = served
        .values()
        .map(|s| s.published_ms)
        .max()
        .unwrap_or_else(now_ms);
    let abbreviated = req
        .header("accept")
        .is_some_and(|a| a.contains(ABBREVIATED));
    let mut versions = Map::new();
    for (v, s) in &served {
        let mut man = s.manifest.clone();
        if abbreviated {
            let scripts = man["scripts"].clone();
            let obj = man.as_object().cloned().unwrap_or_default();
            let mut keep: Map<String, Value> = obj
                .into_iter()
                .filter(|(k, _)| INSTALL_FIELDS.contains(&k.as_str()))
                .collect();
            if ["preinstall", "install", "postinstall"]
                .iter()
                .any(|k| scripts.get(k).is_some())
            {
                keep.insert("hasInstallScript".into(), json!(true));
            }
            man = Value::Object(keep);
        }
        versions.insert(v.clone(), man);
    }
    let body = if abbreviated {
        json!({
            "name": full,
            "modified": iso(modified),
            "dist-tags": tags,
            "versions": versions,
        })
    } else {
        let mut time = Map::new();
        let created = served
            .values()
            .map(|s| s.published_ms)
            .min()
            .unwrap_or(modified);
        time.insert("created".into(), json!(iso(created)));
        time.insert("modified".into(), json!(iso(modified)));
        for (v, s) in &served {
            time.insert(v.clone(), json!(iso(s.published_ms)));
        }
        let latest = tags
            .get("latest")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let readme = served
            .get(&latest)
            .and_then(|s| s.readme.clone())
            .unwrap_or_default();
        let description = served.get(&latest).and_then(|s| {
            s.summary
                .clone()
                .or_else(|| s.manifest["description"].as_str().map(str::to_owned))
        });
        json!({
            "_id": full,
            "_rev": format!("{}-{}", served.len(), modified),
            "name": full,
            "description": description,
            "dist-tags": tags,
            "versions": versions,
            "time": time,
            "readme": readme,
        })
    };
    let content_type = if abbreviated {
        ABBREVIATED
    } else {
        "application/json"
    };
    NativeResponse {
        status: 200,
        content_type,
        headers: Vec::new(),
        body: body.to_string().into_bytes(),
        file: None,
    }
}

/// Fetches a version's tarball through the external connection, checks it against the
/// integrity its packument declares, and ingests it into the repository holding the
/// connection. `Err` is the answer to give.
async fn ingest(
    svc: &ArtifactService,
    caller: &Caller,
    scope: &str,
    name: &str,
    version: &str,
) -> Result<(), NativeResponse> {
    let full = full_name(scope, name);
    let missing =
        || NativeResponse::error(404, format!("{full}@{version} is not in this repository"));
    let (conn, url, up) = upstream_packument(svc, caller, scope, name)
        .await
        .ok_or_else(missing)?;
    let man = up["versions"].get(version).cloned().ok_or_else(missing)?;
    let source = man["dist"]["tarball"].as_str().ok_or_else(missing)?;
    let source = crate::external::join(&url, source);
    let bytes = crate::external::get(&source, conn.upstream.authorization.as_deref(), "*/*")
        .await
        .map_err(|e| NativeResponse::error(502, format!("the upstream registry: {e}")))?
        .ok_or_else(missing)?;
    let hashed = crate::assets::hash(&bytes);
    let sha1 = hashed.doc.hashes["SHA-1"].clone();
    let integrity = format!(
        "sha512-{}",
        B64.encode(hex::decode(&hashed.doc.hashes["SHA-512"]).unwrap_or_default())
    );
    let dist = &man["dist"];
    let declared_ok = match (dist["integrity"].as_str(), dist["shasum"].as_str()) {
        (Some(i), _) if i.starts_with("sha512-") => i == integrity,
        (_, Some(s)) => s == sha1,
        _ => false,
    };
    if !declared_ok {
        return Err(NativeResponse::error(
            502,
            format!(
                "The upstream tarball of {full}@{version} does not match its declared integrity"
            ),
        ));
    }
    let target = Target {
        key: caller.key(&conn.repository, scope, name),
        format: PackageFormat::Npm,
    };
    let mut stored = man.clone();
    stored["dist"] = json!({ "shasum": sha1, "integrity": integrity });
    let doc = VersionDoc {
        origin_type: "EXTERNAL".into(),
        origin_external: Some(conn.name.clone()),
        display_name: Some(full.clone()),
        summary: man["description"].as_str().map(str::to_owned),
        home_page: man["homepage"].as_str().map(str::to_owned),
        dependencies: dependencies_of(&man),
        metadata: stored,
        ..Default::default()
    };
    svc.keep_external(&target, version, &tarball_file(name, version), &bytes, doc)
        .await
        .map_err(|e| NativeResponse::error(500, e))
}

async fn tarball(svc: &ArtifactService, caller: &Caller, full: &str, file: &str) -> NativeResponse {
    let Some((scope, name)) = split_name(full) else {
        return NativeResponse::error(400, format!("Invalid package name {full}"));
    };
    let Some(version) = file
        .strip_prefix(&format!("{name}-"))
        .and_then(|r| r.strip_suffix(".tgz"))
    else {
        return NativeResponse::error(404, format!("No tarball {file}"));
    };
    let statuses = ["Published", "Unlisted"];
    let mut m = svc.merged(caller, &scope, &name, &statuses).await;
    if m.as_ref().is_none_or(|m| !m.versions.contains_key(version)) {
        if let Err(answer) = ingest(svc, caller, &scope, &name, version).await {
            return answer;
        }
        m = svc.merged(caller, &scope, &name, &statuses).await;
    }
    let Some(f) = m.as_ref().and_then(|m| m.versions.get(version)) else {
        return NativeResponse::error(404, format!("{full}@{version} is not in this repository"));
    };
    let Some(asset) = svc.fetch_asset(caller, &scope, &name, f, file).await else {
        return NativeResponse::error(404, format!("No tarball {file}"));
    };
    NativeResponse::content(&asset)
}

fn dependencies_of(manifest: &Value) -> Vec<Dependency> {
    let kinds = [
        ("dependencies", "regular"),
        ("devDependencies", "dev"),
        ("peerDependencies", "peer"),
        ("optionalDependencies", "optional"),
    ];
    let mut out = Vec::new();
    for (field, kind) in kinds {
        for (dep, req) in manifest[field].as_object().into_iter().flatten() {
            let (namespace, package) = match split_name(dep) {
                Some((s, n)) => ((!s.is_empty()).then_some(s), n),
                None => (None, dep.clone()),
            };
            out.push(Dependency {
                namespace,
                package,
                dependency_type: Some(kind.to_owned()),
                version_requirement: req.as_str().map(str::to_owned),
            });
        }
    }
    out
}

/// `npm publish` (with an attachment) or a packument update (`npm deprecate`).
async fn put_packument(
    svc: &ArtifactService,
    caller: &Caller,
    req: &NativeRequest,
    full: &str,
) -> NativeResponse {
    let Some((scope, name)) = split_name(full) else {
        return NativeResponse::error(400, format!("Invalid package name {full}"));
    };
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return NativeResponse::error(400, "The body is not a JSON package document");
    };
    if body["name"].as_str().is_some_and(|n| n != full) {
        return NativeResponse::error(400, "The document's name is not the URL's");
    }
    let attachments = body["_attachments"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let target = Target {
        key: caller.key(&caller.repository, &scope, &name),
        format: PackageFormat::Npm,
    };
    if attachments.is_empty() {
        return update_versions(svc, &target, &body).await;
    }
    if !valid_new_name(&scope, &name) {
        return NativeResponse::error(
            400,
            format!("Invalid package name {full}: lower case, URL-safe, at most 214 characters"),
        );
    }
    let versions = body["versions"].as_object().cloned().unwrap_or_default();
    if versions.len() != 1 || attachments.len() != 1 {
        return NativeResponse::error(400, "A publish carries one version and one tarball");
    }
    let (version, manifest) = versions.into_iter().next().expect("one version");
    let (file, attachment) = attachments.into_iter().next().expect("one attachment");
    if !crate::names::valid_version(&version) || manifest["version"].as_str() != Some(&version) {
        return NativeResponse::error(400, format!("Invalid version {version}"));
    }
    // npm names a scoped package's attachment `@scope/name-1.0.0.tgz`; the asset is the file.
    let expected = tarball_file(&name, &version);
    if file != expected && file != format!("@{scope}/{expected}") {
        return NativeResponse::error(400, format!("The tarball must be named {expected}"));
    }
    let file = expected;
    let Some(bytes) = attachment["data"].as_str().and_then(|d| B64.decode(d).ok()) else {
        return NativeResponse::error(400, "The tarball is not base64 data");
    };
    if attachment["length"]
        .as_u64()
        .is_some_and(|l| l != bytes.len() as u64)
    {
        return NativeResponse::error(400, "The tarball's length is not the one declared");
    }
    let hashed = crate::assets::hash(&bytes);
    let sha1 = hashed.doc.hashes["SHA-1"].clone();
    let sha512 = hex::decode(&hashed.doc.hashes["SHA-512"]).unwrap_or_default();
    let integrity = format!("sha512-{}", B64.encode(sha512));
    let dist = &manifest["dist"];
    if dist["shasum"].as_str().is_some_and(|s| s != sha1)
        || dist["integrity"]
            .as_str()
            .is_some_and(|i| i.starts_with("sha512-") && i != integrity)
    {
        return NativeResponse::error(400, "The tarball does not match its declared integrity");
    }
    let pkg = svc.package_record(&target.key).await;
    if let Err(why) = svc.may_publish(&target.key, pkg.as_ref()).await {
        return NativeResponse::error(403, why);
    }
    if let Some(p) = &pkg
        && let Err(why) = may_publish_after_unpublish(full, &version, p, now_ms())
    {
        return NativeResponse::error(403, why);
    }
    match svc.store.ca_version(&target.key, &version).await {
        Ok(Some(_)) => {
            return NativeResponse::error(
                409,
                format!("{full}@{version} already exists: versions cannot be published over"),
            );
        }
        Ok(None) => {}
        Err(e) => return NativeResponse::error(500, e.to_string()),
    }
    let mut stored = manifest.clone();
    if let Some(obj) = stored.as_object_mut() {
        obj.remove("_id");
        obj.insert("_id".into(), json!(format!("{full}@{version}")));
    }
    stored["dist"] = json!({ "shasum": sha1, "integrity": integrity });
    let doc = VersionDoc {
        origin_type: "INTERNAL".into(),
        origin_repository: Some(caller.repository.clone()),
        display_name: Some(full.to_owned()),
        summary: manifest["description"].as_str().map(str::to_owned),
        home_page: manifest["homepage"].as_str().map(str::to_owned),
        source_code_repository: manifest["repository"]["url"]
            .as_str()
            .or(manifest["repository"].as_str())
            .map(str::to_owned),
        readme: body["readme"]
            .as_str()
            .or(manifest["readme"].as_str())
            .map(str::to_owned),
        dependencies: dependencies_of(&manifest),
        metadata: stored,
        ..Default::default()
    };
    if let Err(e) = svc
        .add_asset(
            &target,
            &version,
            &file,
            Content::Bytes(&bytes),
            None,
            "Published",
            doc,
        )
        .await
    {
        let status = if e.code == "ConflictException" {
            409
        } else {
            400
        };
        return NativeResponse::error(status, e.message);
    }
    let mut pkg = svc
        .package_record(&target.key)
        .await
        .unwrap_or_else(PackageDoc::published);
    let tags = body["dist-tags"].as_object().cloned().unwrap_or_default();
    if tags.is_empty() {
        pkg.dist_tags.insert("latest".into(), version.clone());
    }
    for (tag, v) in tags {
        if let Some(v) = v.as_str() {
            pkg.dist_tags.insert(tag, v.to_owned());
        }
    }
    if let Err(e) = save_package(svc, &target.key, &pkg).await {
        return e;
    }
    NativeResponse::json(201, &json!({ "ok": true, "id": full, "version": version }))
}

async fn save_package(
    svc: &ArtifactService,
    k: &PackageKey,
    p: &PackageDoc,
) -> Result<(), NativeResponse> {
    let doc = serde_json::to_string(p).map_err(|e| NativeResponse::error(500, e.to_string()))?;
    svc.store
        .put_ca_package(k, &doc)
        .await
        .map_err(|e| NativeResponse::error(500, e.to_string()))
}

/// A packument PUT without attachments: `deprecated` messages of this repository's versions
/// change; nothing else does.
async fn update_versions(svc: &ArtifactService, t: &Target, body: &Value) -> NativeResponse {
    let Ok(rows) = svc.store.ca_versions(&t.key).await else {
        return NativeResponse::error(500, "reading versions");
    };
    if rows.is_empty() {
        return NativeResponse::error(404, "The package is not in this repository");
    }
    let sent = body["versions"].as_object().cloned().unwrap_or_default();
    for row in rows {
        let Some(m) = sent.get(&row.version) else {
            continue;
        };
        let Ok(mut doc) = serde_json::from_str::<VersionDoc>(&row.document) else {
            continue;
        };
        let message = m["deprecated"].as_str().filter(|s| !s.is_empty());
        let current = doc.metadata["deprecated"].as_str();
        if current == message {
            continue;
        }
        if let Some(obj) = doc.metadata.as_object_mut() {
            match message {
                Some(msg) => obj.insert("deprecated".into(), json!(msg)),
                None => obj.remove("deprecated"),
            };
        }
        let Ok(text) = serde_json::to_string(&doc) else {
            continue;
        };
        if let Err(e) = svc
            .store
            .set_ca_version(&t.key, &row.version, &row.status, &text)
            .await
        {
            return NativeResponse::error(500, e.to_string());
        }
    }
    NativeResponse::json(200, &json!({ "ok": true }))
}

/// How long after its publication a version may be unpublished whatever depends on it.
const UNPUBLISH_FREELY_MS: i64 = 72 * 3600 * 1000;
/// How long after a whole package was unpublished no new version of it may be published.
const REPUBLISH_AFTER_MS: i64 = 24 * 3600 * 1000;

/// npm's unpublish rule: a version goes within 72 hours of its publication, and later only
/// when no other package (`dependent`, the first found in the repository) depends on it.
fn may_unpublish(
    full: &str,
    version: &str,
    published_ms: i64,
    now: i64,
    dependent: Option<&str>,
) -> Result<(), String> {
    match dependent {
        Some(d) if now - published_ms > UNPUBLISH_FREELY_MS => Err(format!(
            "{full}@{version} was published more than 72 hours ago and {d} in this repository \
             depends on {full}: deprecate it instead"
        )),
        _ => Ok(()),
    }
}

/// npm's rules for publishing after an unpublish: an unpublished version never comes back,
/// and a package unpublished whole takes no new version for 24 hours.
fn may_publish_after_unpublish(
    full: &str,
    version: &str,
    pkg: &PackageDoc,
    now: i64,
) -> Result<(), String> {
    if pkg.unpublished.contains_key(version) {
        return Err(format!(
            "Cannot publish over previously published version {full}@{version}: it was unpublished"
        ));
    }
    match pkg.unpublished_all_ms {
        Some(t) if now - t < REPUBLISH_AFTER_MS => Err(format!(
            "{full} was unpublished less than 24 hours ago: no new version until then"
        )),
        _ => Ok(()),
    }
}

/// A package of the repository, other than `k`'s, with a published version depending on
/// `k`'s package.
async fn dependent_of(svc: &ArtifactService, k: &PackageKey) -> Option<String> {
    let packages = svc
        .store
        .ca_packages(&k.domain, &k.repository)
        .await
        .unwrap_or_default();
    for (other, _) in packages {
        if other.format != k.format || (other.namespace == k.namespace && other.name == k.name) {
            continue;
        }
        for row in svc.store.ca_versions(&other).await.unwrap_or_default() {
            if row.status != "Published" {
                continue;
            }
            let Ok(doc) = serde_json::from_str::<crate::records::VersionDoc>(&row.document) else {
                continue;
            };
            if doc
                .dependencies
                .iter()
                .any(|d| d.package == k.name && d.namespace.as_deref().unwrap_or("") == k.namespace)
            {
                return Some(format!(
                    "{}@{}",
                    full_name(&other.namespace, &other.name),
                    row.version
                ));
            }
        }
    }
    None
}

/// `npm unpublish`: a `/-rev/` PUT names the versions that stay (the others go); a `/-rev/`
/// DELETE takes the whole package. npm's rules apply (`may_unpublish`), and the package's
/// record remembers what went (`may_publish_after_unpublish`).
async fn unpublish(
    svc: &ArtifactService,
    caller: &Caller,
    req: &NativeRequest,
    full: &str,
) -> NativeResponse {
    let Some((scope, name)) = split_name(full) else {
        return NativeResponse::error(400, format!("Invalid package name {full}"));
    };
    let k = caller.key(&caller.repository, &scope, &name);
    let Some(mut pkg) = svc.package_record(&k).await else {
        return NativeResponse::error(404, format!("{full} is not in this repository"));
    };
    let whole = req.method == "DELETE";
    let keep = if whole {
        Map::new()
    } else {
        let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
            return NativeResponse::error(400, "The body is not a JSON package document");
        };
        body["versions"].as_object().cloned().unwrap_or_default()
    };
    let Ok(rows) = svc.store.ca_versions(&k).await else {
        return NativeResponse::error(500, "reading versions");
    };
    let going: Vec<_> = rows
        .into_iter()
        .filter(|r| !keep.contains_key(&r.version))
        .collect();
    let now = now_ms();
    if going
        .iter()
        .any(|r| now - r.published_ms > UNPUBLISH_FREELY_MS)
    {
        let dependent = dependent_of(svc, &k).await;
        for row in &going {
            if let Err(why) = may_unpublish(
                full,
                &row.version,
                row.published_ms,
                now,
                dependent.as_deref(),
            ) {
                return NativeResponse::error(403, why);
            }
        }
    }
    for row in &going {
        match svc.store.drop_ca_assets(&k, &row.version, true).await {
            Ok(gone) => svc.drop_contents(&gone).await,
            Err(e) => return NativeResponse::error(500, e.to_string()),
        }
        pkg.unpublished.insert(row.version.clone(), now);
    }
    pkg.dist_tags.retain(|_, v| keep.contains_key(v.as_str()));
    if whole {
        pkg.unpublished_all_ms = Some(now);
    }
    if let Err(e) = save_package(svc, &k, &pkg).await {
        return e;
    }
    NativeResponse::json(200, &json!({ "ok": true }))
}

async fn dist_tags(
    svc: &ArtifactService,
    caller: &Caller,
    req: &NativeRequest,
    full: &str,
    tag: Option<&str>,
) -> NativeResponse {
    let Some((scope, name)) = split_name(full) else {
        return NativeResponse::error(400, format!("Invalid package name {full}"));
    };
    let k = caller.key(&caller.repository, &scope, &name);
    if req.method == "GET" {
        let Some(m) = svc.merged(caller, &scope, &name, &["Published"]).await else {
            return NativeResponse::error(404, format!("{full} is not in this repository"));
        };
        let mut tags: Map<String, Value> = m
            .package
            .dist_tags
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        if !tags.contains_key("latest")
            && let Some(l) = latest_of(&m)
        {
            tags.insert("latest".into(), json!(l));
        }
        return NativeResponse::json(200, &Value::Object(tags));
    }
    let Some(tag) = tag else {
        return NativeResponse::error(405, "Name a tag");
    };
    let Some(mut pkg) = svc.package_record(&k).await else {
        return NativeResponse::error(404, format!("{full} is not in this repository"));
    };
    match req.method.as_str() {
        "PUT" | "POST" => {
            let Some(version) = serde_json::from_slice::<Value>(&req.body)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
            else {
                return NativeResponse::error(400, "The body must be a JSON string: the version");
            };
            match svc.store.ca_version(&k, &version).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return NativeResponse::error(404, format!("{full}@{version} does not exist"));
                }
                Err(e) => return NativeResponse::error(500, e.to_string()),
            }
            pkg.dist_tags.insert(tag.to_owned(), version);
        }
        "DELETE" => {
            if tag == "latest" {
                return NativeResponse::error(400, "The latest tag cannot be removed");
            }
            if pkg.dist_tags.remove(tag).is_none() {
                return NativeResponse::error(404, format!("{full} has no tag {tag}"));
            }
        }
        _ => return NativeResponse::error(405, "Method not allowed"),
    }
    if let Err(e) = save_package(svc, &k, &pkg).await {
        return e;
    }
    NativeResponse::json(201, &json!({ "ok": true }))
}

/// Answers one request at an npm endpoint.
pub(crate) async fn handle(
    svc: &ArtifactService,
    caller: &Caller,
    req: &NativeRequest,
) -> NativeResponse {
    let Some(r) = route(&req.rest) else {
        return NativeResponse::error(404, "Not an npm registry path");
    };
    match (req.method.as_str(), r) {
        ("GET" | "HEAD", Route::Whoami) => {
            NativeResponse::json(200, &json!({ "username": caller.token.user_name }))
        }
        ("GET" | "HEAD", Route::Ping) => NativeResponse::json(200, &json!({})),
        ("GET" | "HEAD", Route::Packument(n)) => packument(svc, caller, req, &n).await,
        ("GET" | "HEAD", Route::Tarball(n, f)) => tarball(svc, caller, &n, &f).await,
        ("PUT", Route::Packument(n)) => put_packument(svc, caller, req, &n).await,
        ("PUT" | "DELETE", Route::Rev(n)) => unpublish(svc, caller, req, &n).await,
        // The tarball DELETE that ends `npm unpublish`: the version is gone already.
        ("DELETE", Route::Tarball(..)) => NativeResponse::json(200, &json!({ "ok": true })),
        (_, Route::DistTags(n)) => dist_tags(svc, caller, req, &n, None).await,
        (_, Route::DistTag(n, t)) => dist_tags(svc, caller, req, &n, Some(&t)).await,
        _ => NativeResponse::error(405, "Method not allowed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("left-pad"), Some(Route::Packument("left-pad".into())));
        assert_eq!(
            route("@acme%2fwidget"),
            Some(Route::Packument("@acme/widget".into()))
        );
        assert_eq!(
            route("@acme/widget/-/widget-1.0.0.tgz"),
            Some(Route::Tarball(
                "@acme/widget".into(),
                "widget-1.0.0.tgz".into()
            ))
        );
        assert_eq!(
            route("left-pad/-/left-pad-1.0.0.tgz/-rev/3-abc"),
            Some(Route::Tarball(
                "left-pad".into(),
                "left-pad-1.0.0.tgz".into()
            ))
        );
        assert_eq!(
            route("left-pad/-rev/3-abc"),
            Some(Route::Rev("left-pad".into()))
        );
        assert_eq!(
            route("-/package/@acme%2fwidget/dist-tags/beta"),
            Some(Route::DistTag("@acme/widget".into(), "beta".into()))
        );
        assert_eq!(
            route("-/package/left-pad/dist-tags"),
            Some(Route::DistTags("left-pad".into()))
        );
        assert_eq!(route("-/whoami"), Some(Route::Whoami));
        assert_eq!(route("-/v1/search"), None);
    }

    #[test]
    fn names() {
        assert_eq!(split_name("@a/b"), Some(("a".into(), "b".into())));
        assert_eq!(split_name("b"), Some((String::new(), "b".into())));
        assert_eq!(split_name("@a/b/c"), None);
        assert_eq!(split_name("a/b"), None);
        assert!(valid_new_name("", "left-pad") && valid_new_name("acme", "w.x_y~z"));
        assert!(
            !valid_new_name("", "Left") && !valid_new_name("", ".x") && !valid_new_name("", "a b")
        );
        assert!(!valid_new_name("", &"a".repeat(215)));
    }

    #[test]
    fn unpublish_rules() {
        let hour = 3600 * 1000;
        let t0 = 1_000_000 * hour;
        assert!(may_unpublish("a", "1.0.0", t0, t0 + 71 * hour, Some("b@1.0.0")).is_ok());
        assert!(may_unpublish("a", "1.0.0", t0, t0 + 73 * hour, None).is_ok());
        let e = may_unpublish("a", "1.0.0", t0, t0 + 73 * hour, Some("b@1.0.0")).unwrap_err();
        assert!(e.contains("b@1.0.0"), "{e}");
        let mut p = PackageDoc::published();
        assert!(may_publish_after_unpublish("a", "1.0.0", &p, t0).is_ok());
        p.unpublished.insert("1.0.0".into(), t0);
        assert!(may_publish_after_unpublish("a", "1.0.0", &p, t0 + 100 * hour).is_err());
        assert!(may_publish_after_unpublish("a", "1.0.1", &p, t0 + hour).is_ok());
        p.unpublished_all_ms = Some(t0);
        assert!(may_publish_after_unpublish("a", "1.0.1", &p, t0 + 23 * hour).is_err());
        assert!(may_publish_after_unpublish("a", "1.0.1", &p, t0 + 25 * hour).is_ok());
    }

    #[test]
    fn dependencies_are_typed() {
        let m = json!({"dependencies": {"@a/b": "^1"}, "devDependencies": {"c": "2"}});
        let d = dependencies_of(&m);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].namespace.as_deref(), Some("a"));
        assert_eq!(d[0].dependency_type.as_deref(), Some("regular"));
        assert_eq!(d[1].dependency_type.as_deref(), Some("dev"));
    }
}
