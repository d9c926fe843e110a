//! The Cargo registry protocols at a repository's Cargo endpoint: the sparse index
//! (`config.json` with `auth-required`, and one file per crate under the index's name-prefix
//! layout, a JSON line per version), crate downloads (`api/v1/crates/<name>/<version>/download`;
//! a version found upstream is retained), `cargo publish` (`PUT api/v1/crates/new`: the
//! manifest as JSON and the `.crate` file, each behind a little-endian length) and
//! yank/unyank, which make a version Unlisted and Published again. Crate names are stored as
//! published; the index is read case-insensitively. Through an external connection
//! (`public:crates-io`) the index adds the upstream's versions, and a crate missing here is
//! downloaded from the upstream's `dl`, checked against the index's checksum, and kept.

use ferry_model::codeartifact::PackageFormat;
use serde_json::{Value, json};

use crate::assets::Content;
use crate::native::{Caller, NativeRequest, NativeResponse};
use crate::packages_api::Target;
use crate::records::{Dependency, VersionDoc};
use crate::service::ArtifactService;

/// Crate names: 1–64 ASCII letters, digits, `-` and `_`, starting with a letter.
pub fn valid_crate_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The index path of a crate (`1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`), lower-cased.
pub fn index_path(name: &str) -> String {
    let n = name.to_ascii_lowercase();
    match n.len() {
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    }
}

/// The crate name an index path names, when the path is the right one for it.
fn name_from_index(path: &str) -> Option<String> {
    let name = path.rsplit('/').next()?;
    (valid_crate_name(name) && index_path(name) == path.to_ascii_lowercase())
        .then(|| name.to_owned())
}

/// The stored name of a crate asked for in any case (crate names are unique ignoring case).
async fn stored_name(svc: &ArtifactService, caller: &Caller, asked: &str) -> Option<String> {
    for repo in svc.search_order(&caller.domain, &caller.repository).await {
        if let Ok(pkgs) = svc.store.ca_packages(&caller.domain, &repo).await
            && let Some((k, _)) = pkgs
                .into_iter()
                .find(|(k, _)| k.format == "cargo" && k.name.eq_ignore_ascii_case(asked))
        {
            return Some(k.name);
        }
    }
    None
}

async fn index_file(svc: &ArtifactService, caller: &Caller, path: &str) -> NativeResponse {
    let Some(asked) = name_from_index(path) else {
        return NativeResponse::error(404, "Not an index path");
    };
    let name = stored_name(svc, caller, &asked).await.unwrap_or(asked);
    let m = svc
        .merged(caller, "", &name, &["Published", "Unlisted"])
        .await;
    let upstream = upstream_index(svc, caller, &name).await;
    if m.is_none() && upstream.as_ref().is_none_or(|(_, lines)| lines.is_empty()) {
        return NativeResponse::error(404, format!("No crate {name}"));
    }
    let mut rows: Vec<_> = m.iter().flat_map(|m| m.versions.values()).collect();
    rows.sort_by_key(|f| (f.row.published_ms, f.row.version.clone()));
    let mut out = String::new();
    let mut seen = Vec::new();
    for f in rows {
        let mut line = f.doc.metadata["index"].clone();
        if !line.is_object() {
            continue;
        }
        // Taken from the public registry, which no longer lists it: yanked there for us.
        let removed = f.doc.origin_type == "EXTERNAL"
            && upstream.as_ref().is_some_and(|(_, lines)| {
                !lines
                    .iter()
                    .any(|l| l["vers"].as_str() == Some(&f.row.version))
            });
        line["yanked"] = json!(f.row.status == "Unlisted" || removed);
        out.push_str(&line.to_string());
        out.push('\n');
        seen.push(f.row.version.clone());
    }
    for line in upstream.iter().flat_map(|(_, lines)| lines) {
        if line["vers"]
            .as_str()
            .is_some_and(|v| !seen.iter().any(|s| s == v))
        {
            out.push_str(&line.to_string());
            out.push('\n');
        }
    }
    NativeResponse::bytes("text/plain; charset=utf-8", out.into_bytes())
}

async fn download(
    svc: &ArtifactService,
    caller: &Caller,
    asked: &str,
    version: &str,
) -> NativeResponse {
    let name = stored_name(svc, caller, asked)
        .await
        .unwrap_or_else(|| asked.to_owned());
    let statuses = ["Published", "Unlisted"];
    let mut m = svc.merged(caller, "", &name, &statuses).await;
    if m.as_ref().is_none_or(|m| !m.versions.contains_key(version)) {
        if let Err(answer) = ingest(svc, caller, &name, version).await {
            return answer;
        }
        m = svc.merged(caller, "", &name, &statuses).await;
    }
    let Some(f) = m.as_ref().and_then(|m| m.versions.get(version)) else {
        return NativeResponse::error(404, format!("No version {version} of {name}"));
    };
    let file = format!("{name}-{version}.crate");
    let Some(asset) = svc.fetch_asset(caller, "", &name, f, &file).await else {
        return NativeResponse::error(404, format!("No file {file}"));
    };
    NativeResponse::content(&asset)
}

/// The index lines of a crate in the upstream registry of the external connection the
/// caller's lookup may reach.
async fn upstream_index(
    svc: &ArtifactService,
    caller: &Caller,
    name: &str,
) -> Option<(crate::external::Connection, Vec<Value>)> {
    if !valid_crate_name(name) {
        return None;
    }
    let conn = svc.connection(caller, "", name).await?;
    let url = format!("{}{}", conn.upstream.url, index_path(name));
    let body = match svc.external_metadata(&conn, name, &url, "*/*").await {
        Ok(Some(b)) => b,
        // The registry no longer has the crate at all: every version it had is gone.
        Ok(None) => return Some((conn, Vec::new())),
        Err(e) => {
            tracing::warn!(error = %e, "fetching an upstream index file");
            return None;
        }
    };
    let lines = String::from_utf8_lossy(&body)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["vers"].as_str().is_some_and(crate::names::valid_version))
        .collect();
    Some((conn, lines))
}

/// Fetches a crate version through the external connection (from the download URL the
/// upstream's `config.json` gives), checks it against the index's checksum, and ingests it
/// into the repository holding the connection. `Err` is the answer to give.
async fn ingest(
    svc: &ArtifactService,
    caller: &Caller,
    name: &str,
    version: &str,
) -> Result<(), NativeResponse> {
    let missing = || cargo_error(404, format!("No version {version} of {name}"));
    let (conn, lines) = upstream_index(svc, caller, name)
        .await
        .ok_or_else(missing)?;
    let line = lines
        .into_iter()
        .find(|l| l["vers"].as_str() == Some(version))
        .ok_or_else(missing)?;
    let cksum = line["cksum"]
        .as_str()
        .ok_or_else(missing)?
        .to_ascii_lowercase();
    let auth = conn.upstream.authorization.as_deref();
    let config_url = format!("{}config.json", conn.upstream.url);
    let config = svc
        .external_metadata(&conn, "config.json", &config_url, "application/json")
        .await
        .map_err(|e| cargo_error(502, format!("the upstream registry: {e}")))?
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .ok_or_else(|| cargo_error(502, "The upstream registry has no config.json"))?;
    let dl = config["dl"].as_str().ok_or_else(missing)?;
    let lower = name.to_ascii_lowercase();
    let prefix = index_path(name)
        .rsplit_once('/')
        .map_or(String::new(), |(p, _)| p.to_owned());
    let url = if [
        "{crate}",
        "{version}",
        "{prefix}",
        "{lowerprefix}",
        "{sha256-checksum}",
    ]
    .iter()
    .any(|m| dl.contains(m))
    {
        dl.replace("{crate}", name)
            .replace("{version}", version)
            .replace("{lowerprefix}", &prefix.to_ascii_lowercase())
            .replace("{prefix}", &prefix)
            .replace("{sha256-checksum}", &cksum)
    } else {
        format!("{}/{lower}/{version}/download", dl.trim_end_matches('/'))
    };
    let bytes = crate::external::get(&url, auth, "*/*")
        .await
        .map_err(|e| cargo_error(502, format!("the upstream registry: {e}")))?
        .ok_or_else(missing)?;
    if crate::assets::hash(&bytes).sha256 != cksum {
        return Err(cargo_error(
            502,
            format!("The upstream crate {name} {version} does not match its checksum"),
        ));
    }
    let target = Target {
        key: caller.key(&conn.repository, "", name),
        format: PackageFormat::Cargo,
    };
    let mut index = line.clone();
    index["yanked"] = json!(false);
    let doc = VersionDoc {
        origin_type: "EXTERNAL".into(),
        origin_external: Some(conn.name.clone()),
        display_name: Some(name.to_owned()),
        metadata: json!({ "index": index }),
        ..Default::default()
    };
    svc.keep_external(
        &target,
        version,
        &format!("{name}-{version}.crate"),
        &bytes,
        doc,
    )
    .await
    .map_err(|e| cargo_error(500, e))
}

/// Cargo's error body.
fn cargo_error(status: u16, message: impl Into<String>) -> NativeResponse {
    NativeResponse::json(status, &json!({ "errors": [{ "detail": message.into() }] }))
}

/// The largest manifest a publish may carry.
const MAX_MANIFEST: u32 = 10 << 20;

/// The head of a `cargo publish` body: the JSON manifest (after its 32-bit little-endian
/// length) and the length of the `.crate` file that follows it.
async fn read_manifest(
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
) -> Result<(Value, u64), String> {
    use tokio::io::AsyncReadExt;
    let bad = |_: std::io::Error| "The body is not a cargo publish request".to_owned();
    let json_len = reader.read_u32_le().await.map_err(bad)?;
    if json_len > MAX_MANIFEST {
        return Err("The manifest is too large".into());
    }
    let mut json = vec![0u8; json_len as usize];
    reader.read_exact(&mut json).await.map_err(bad)?;
    let manifest =
        serde_json::from_slice(&json).map_err(|_| "The manifest is not JSON".to_owned())?;
    let crate_len = reader.read_u32_le().await.map_err(bad)?;
    Ok((manifest, u64::from(crate_len)))
}

/// The index entry of a published version (the registry's view of its manifest).
fn index_entry(manifest: &Value, cksum: &str, same_registry: &str) -> Value {
    let deps: Vec<Value> = manifest["deps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let original = d["name"].as_str().unwrap_or_default();
            let (name, package) = match d["explicit_name_in_toml"].as_str() {
                Some(alias) => (alias.to_owned(), Some(original.to_owned())),
                None => (original.to_owned(), None),
            };
            // A dependency from this registry names no registry; others keep theirs.
            let registry = d["registry"]
                .as_str()
                .filter(|r| !r.trim_start_matches("sparse+").starts_with(same_registry))
                .map(str::to_owned);
            json!({
                "name": name,
                "req": d["version_req"],
                "features": d["features"],
                "optional": d["optional"],
                "default_features": d["default_features"],
                "target": d["target"],
                "kind": d["kind"],
                "registry": registry,
                "package": package,
            })
        })
        .collect();
    json!({
        "name": manifest["name"],
        "vers": manifest["vers"],
        "deps": deps,
        "cksum": cksum,
        "features": manifest["features"],
        "yanked": false,
        "links": manifest["links"],
        "rust_version": manifest["rust_version"],
    })
}

async fn publish(svc: &ArtifactService, caller: &Caller, req: &NativeRequest) -> NativeResponse {
    let mut body = req.reader();
    let (manifest, crate_len) = match read_manifest(&mut body).await {
        Ok(head) => head,
        Err(why) => return cargo_error(400, why),
    };
    let (Some(name), Some(version)) = (manifest["name"].as_str(), manifest["vers"].as_str()) else {
        return cargo_error(400, "The manifest has no name or version");
    };
    if !valid_crate_name(name) || !crate::names::valid_version(version) {
        return cargo_error(
            400,
            format!("Invalid crate name or version: {name} {version}"),
        );
    }
    if let Some(existing) = stored_name(svc, caller, name).await
        && existing != name
    {
        return cargo_error(
            409,
            format!("The crate {existing} exists; names are unique ignoring case"),
        );
    }
    let target = Target {
        key: caller.key(&caller.repository, "", name),
        format: PackageFormat::Cargo,
    };
    let pkg = svc.package_record(&target.key).await;
    if let Err(why) = svc.may_publish(&target.key, pkg.as_ref()).await {
        return cargo_error(403, why);
    }
    match svc.store.ca_version(&target.key, version).await {
        Ok(Some(_)) => {
            return cargo_error(
                409,
                format!("crate version `{name}@{version}` already exists"),
            );
        }
        Ok(None) => {}
        Err(e) => return cargo_error(500, e.to_string()),
    }
    // The .crate file: received into a spool while hashed, and all of it.
    let spooled = {
        use tokio::io::AsyncReadExt;
        match svc.spool_all((&mut body).take(crate_len), crate_len).await {
            Ok(s) if u64::try_from(s.hashed.size) == Ok(crate_len) => s,
            Ok(s) => {
                Content::Spooled(s).discard().await;
                return cargo_error(400, "The upload was cut off before the end of the crate");
            }
            Err(why) => return cargo_error(400, why),
        }
    };
    let cksum = spooled.hashed.sha256.clone();
    let endpoint = svc.endpoint(&caller.domain, PackageFormat::Cargo, &caller.repository);
    let doc = VersionDoc {
        origin_type: "INTERNAL".into(),
        origin_repository: Some(caller.repository.clone()),
        display_name: Some(name.to_owned()),
        summary: manifest["description"].as_str().map(str::to_owned),
        home_page: manifest["homepage"].as_str().map(str::to_owned),
        source_code_repository: manifest["repository"].as_str().map(str::to_owned),
        readme: manifest["readme"].as_str().map(str::to_owned),
        dependencies: manifest["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| Dependency {
                namespace: None,
                package: d["name"].as_str().unwrap_or_default().to_owned(),
                dependency_type: Some(d["kind"].as_str().unwrap_or("normal").to_owned()),
                version_requirement: d["version_req"].as_str().map(str::to_owned),
            })
            .collect(),
        metadata: json!({ "index": index_entry(&manifest, &cksum, &endpoint) }),
        ..Default::default()
    };
    let file = format!("{name}-{version}.crate");
    if let Err(e) = svc
        .add_asset(
            &target,
            version,
            &file,
            Content::Spooled(spooled),
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
        return cargo_error(status, e.message);
    }
    NativeResponse::json(
        200,
        &json!({ "warnings": { "invalid_categories": [], "invalid_badges": [], "other": [] } }),
    )
}

async fn yank(
    svc: &ArtifactService,
    caller: &Caller,
    asked: &str,
    version: &str,
    yanked: bool,
) -> NativeResponse {
    let Some(name) = stored_name(svc, caller, asked).await else {
        return cargo_error(404, format!("No crate {asked}"));
    };
    let key = caller.key(&caller.repository, "", &name);
    let row = match svc.store.ca_version(&key, version).await {
        Ok(Some(r)) => r,
        Ok(None) => return cargo_error(404, format!("No version {version} of {name} here")),
        Err(e) => return cargo_error(500, e.to_string()),
    };
    let to = match (row.status.as_str(), yanked) {
        ("Published" | "Unlisted", true) => "Unlisted",
        ("Published" | "Unlisted", false) => "Published",
        (other, _) => return cargo_error(409, format!("{name} {version} is {other}")),
    };
    if let Err(e) = svc
        .store
        .set_ca_version(&key, version, to, &row.document)
        .await
    {
        return cargo_error(500, e.to_string());
    }
    NativeResponse::json(200, &json!({ "ok": true }))
}

/// Answers one request at a Cargo endpoint.
pub(crate) async fn handle(
    svc: &ArtifactService,
    caller: &Caller,
    req: &NativeRequest,
) -> NativeResponse {
    let rest = crate::npm::decode(&req.rest);
    let segs: Vec<&str> = rest.split('/').collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["config.json"]) => {
            let endpoint = svc.endpoint(&caller.domain, PackageFormat::Cargo, &caller.repository);
            NativeResponse::json(
                200,
                &json!({
                    "dl": format!("{endpoint}api/v1/crates"),
                    "api": endpoint.trim_end_matches('/'),
                    "auth-required": true,
                }),
            )
        }
        ("PUT", ["api", "v1", "crates", "new"]) => publish(svc, caller, req).await,
        ("GET", ["api", "v1", "crates", name, version, "download"]) => {
            download(svc, caller, name, version).await
        }
        ("DELETE", ["api", "v1", "crates", name, version, "yank"]) => {
            yank(svc, caller, name, version, true).await
        }
        ("PUT", ["api", "v1", "crates", name, version, "unyank"]) => {
            yank(svc, caller, name, version, false).await
        }
        ("GET", _) => index_file(svc, caller, &rest).await,
        _ => cargo_error(405, "Method not allowed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crates.io index, which dependencies from crates.io name as their registry.
    const CRATES_IO: &str = "https://github.com/rust-lang/crates.io-index";

    #[test]
    fn index_paths() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("Serde_Json"), "se/rd/serde_json");
        assert_eq!(
            name_from_index("se/rd/serde_json").as_deref(),
            Some("serde_json")
        );
        assert_eq!(name_from_index("xx/rd/serde_json"), None);
        assert_eq!(name_from_index("../../etc/passwd"), None);
        assert!(
            valid_crate_name("my-crate_2") && !valid_crate_name("2x") && !valid_crate_name("a.b")
        );
    }

    #[tokio::test]
    async fn publish_bodies() {
        let manifest = br#"{"name":"demo","vers":"0.1.0","deps":[]}"#;
        let mut body = (manifest.len() as u32).to_le_bytes().to_vec();
        body.extend_from_slice(manifest);
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(b"abc");
        let mut r = &body[..];
        let (m, len) = read_manifest(&mut r).await.unwrap();
        assert_eq!((m["name"].as_str(), len), (Some("demo"), 3));
        assert_eq!(r, b"abc");
        assert!(read_manifest(&mut &[1u8, 0][..]).await.is_err());
        let huge = (MAX_MANIFEST + 1).to_le_bytes();
        assert!(read_manifest(&mut &huge[..]).await.is_err());
    }

    #[test]
    fn index_entries_rename_and_keep_foreign_registries() {
        let m = json!({"name": "app", "vers": "1.0.0", "features": {}, "deps": [
            {"name": "demo", "version_req": "^0.1", "features": [], "optional": false, "default_features": true,
             "target": null, "kind": "normal", "registry": "sparse+http://h/codeartifact/d-1/cargo/r/", "explicit_name_in_toml": "d"},
            {"name": "serde", "version_req": "^1", "features": [], "optional": false, "default_features": true,
             "target": null, "kind": "normal", "registry": CRATES_IO}]});
        let e = index_entry(&m, "00", "http://h/codeartifact/d-1/cargo/r/");
        assert_eq!(e["deps"][0]["name"], "d");
        assert_eq!(e["deps"][0]["package"], "demo");
        assert_eq!(e["deps"][0]["registry"], Value::Null);
        assert_eq!(e["deps"][1]["registry"], CRATES_IO);
        assert_eq!(e["cksum"], "00");
    }
}
