//! The Maven 2 repository layout at a repository's Maven endpoint:
//! `<group path>/<artifactId>/<version>/<file>` for artifacts and POMs, with `.md5`, `.sha1`,
//! `.sha256` and `.sha512` checksums served from the stored hashes, and `maven-metadata.xml`
//! generated from the versions the repository and its upstreams hold (for an artifact, and
//! for a SNAPSHOT version from its timestamped files). `mvn deploy` PUTs each file, which
//! makes the version `Unfinished`; the PUT of a `maven-metadata.xml` that lists it publishes it,
//! as on AWS. Released versions are immutable once published; SNAPSHOT versions take new
//! builds. Coordinates that are not plain path segments are refused. Through an external
//! connection (`public:maven-central`, …) the metadata lists the upstream's versions too, and a
//! file missing here is fetched, checked against the `.sha1` beside it, and kept.

use std::collections::BTreeMap;

use ferry_model::codeartifact::PackageFormat;

use crate::assets::Content;
use crate::native::{Caller, NativeRequest, NativeResponse};
use crate::packages_api::Target;
use crate::records::VersionDoc;
use crate::service::ArtifactService;

const CHECKSUMS: &[(&str, &str)] = &[
    ("md5", "MD5"),
    ("sha1", "SHA-1"),
    ("sha256", "SHA-256"),
    ("sha512", "SHA-512"),
];

/// What a path names.
#[derive(Debug, PartialEq, Eq)]
enum Path {
    /// `<g>/<a>/maven-metadata.xml`
    ArtifactMetadata { group: String, artifact: String },
    /// `<g>/<a>/<v>-SNAPSHOT/maven-metadata.xml`
    SnapshotMetadata {
        group: String,
        artifact: String,
        version: String,
    },
    /// `<g>/<a>/<v>/<file>`
    File {
        group: String,
        artifact: String,
        version: String,
        file: String,
    },
}

/// Group ids, artifact ids and versions: non-empty, not `.`/`..`, of `[A-Za-z0-9_.+-]`.
fn coordinate(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c))
}

/// Whether a PUT to `rest` uploads an artifact file (not metadata, not a checksum).
pub(crate) fn uploads_file(rest: &str) -> bool {
    matches!(parse(rest), Some((Path::File { .. }, None)))
}

/// The path (checksum suffix removed) and the checksum asked for.
fn parse(rest: &str) -> Option<(Path, Option<&'static str>)> {
    let decoded = crate::npm::decode(rest);
    let mut segs: Vec<&str> = decoded.split('/').collect();
    if segs.len() < 3 || !segs.iter().all(|s| coordinate(s)) {
        return None;
    }
    let last = segs.pop()?;
    let (last, checksum) = CHECKSUMS
        .iter()
        .find_map(|(ext, algo)| {
            last.strip_suffix(&format!(".{ext}"))
                .map(|base| (base, Some(*algo)))
        })
        .unwrap_or((last, None));
    if last == "maven-metadata.xml" {
        let leaf = segs.pop()?;
        if leaf.ends_with("-SNAPSHOT") && segs.len() >= 2 {
            let artifact = segs.pop()?;
            return Some((
                Path::SnapshotMetadata {
                    group: segs.join("."),
                    artifact: artifact.to_owned(),
                    version: leaf.to_owned(),
                },
                checksum,
            ));
        }
        return (!segs.is_empty()).then(|| {
            (
                Path::ArtifactMetadata {
                    group: segs.join("."),
                    artifact: leaf.to_owned(),
                },
                checksum,
            )
        });
    }
    let version = segs.pop()?;
    let artifact = segs.pop()?;
    if segs.is_empty() || !last.starts_with(&format!("{artifact}-")) {
        return None;
    }
    Some((
        Path::File {
            group: segs.join("."),
            artifact: artifact.to_owned(),
            version: version.to_owned(),
            file: last.to_owned(),
        },
        checksum,
    ))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `yyyyMMddHHmmss` in UTC.
fn stamp(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y%m%d%H%M%S").to_string())
        .unwrap_or_default()
}

/// A served document, or its checksum.
fn document(body: String, checksum: Option<&str>, content_type: &'static str) -> NativeResponse {
    match checksum {
        None => NativeResponse::bytes(content_type, body.into_bytes()),
        Some(algo) => {
            let h = crate::assets::hash(body.as_bytes());
            NativeResponse::bytes("text/plain", h.doc.hashes[algo].clone().into_bytes())
        }
    }
}

/// Versions in Maven's order (numeric parts compared as numbers).
fn version_key(v: &str) -> Vec<(u64, String)> {
    v.split(['.', '-'])
        .map(|p| match p.parse::<u64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (0, p.to_owned()),
        })
        .collect()
}

async fn artifact_metadata(
    svc: &ArtifactService,
    caller: &Caller,
    group: &str,
    artifact: &str,
    checksum: Option<&str>,
) -> NativeResponse {
    let m = svc
        .merged(caller, group, artifact, &["Published", "Unlisted"])
        .await;
    let mut versions: Vec<(String, i64)> = m
        .iter()
        .flat_map(|m| &m.versions)
        .filter(|(_, f)| f.row.status == "Published")
        .map(|(v, f)| (v.clone(), f.row.published_ms))
        .collect();
    // Versions the upstream registry of an external connection lists; versions taken from it
    // that it no longer lists are left out (Maven has no yank: resolution of ranges and
    // `latest` stops offering them, a build pinned to one still gets its files).
    if let Some(conn) = svc.connection(caller, group, artifact).await {
        let url = format!(
            "{}{}/{artifact}/maven-metadata.xml",
            conn.upstream.url,
            group.replace('.', "/")
        );
        match svc
            .external_metadata(&conn, &format!("{group}:{artifact}"), &url, "text/xml")
            .await
        {
            Ok(got) => {
                let listed = got
                    .map(|xml| listed_versions(&String::from_utf8_lossy(&xml)))
                    .unwrap_or_default();
                let external = |v: &str| {
                    m.as_ref()
                        .and_then(|m| m.versions.get(v))
                        .is_some_and(|f| f.doc.origin_type == "EXTERNAL")
                };
                versions.retain(|(v, _)| !external(v) || listed.contains(v));
                for v in listed {
                    if coordinate(&v) && !versions.iter().any(|(have, _)| *have == v) {
                        versions.push((v, 0));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "fetching upstream Maven metadata"),
        }
    }
    if versions.is_empty() {
        return NativeResponse::error(404, "No published versions");
    }
    versions.sort_by_key(|(v, _)| version_key(v));
    let latest = versions.last().map(|(v, _)| v.as_str()).unwrap_or_default();
    let release = versions
        .iter()
        .rev()
        .find(|(v, _)| !v.ends_with("-SNAPSHOT"))
        .map(|(v, _)| v.as_str());
    let updated = versions.iter().map(|(_, t)| *t).max().unwrap_or_default();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n  <groupId>{}</groupId>\n  <artifactId>{}</artifactId>\n  <versioning>\n    <latest>{}</latest>\n",
        xml_escape(group),
        xml_escape(artifact),
        xml_escape(latest)
    );
    if let Some(r) = release {
        xml.push_str(&format!("    <release>{}</release>\n", xml_escape(r)));
    }
    xml.push_str("    <versions>\n");
    for (v, _) in &versions {
        xml.push_str(&format!("      <version>{}</version>\n", xml_escape(v)));
    }
    xml.push_str(&format!(
        "    </versions>\n    <lastUpdated>{}</lastUpdated>\n  </versioning>\n</metadata>\n",
        stamp(updated)
    ));
    document(xml, checksum, "text/xml")
}

/// A SNAPSHOT build's file name parts: `<artifact>-<base>-<yyyyMMdd.HHmmss>-<build>[-<classifier>].<ext>`.
fn snapshot_parts<'a>(
    artifact: &str,
    base: &str,
    file: &'a str,
) -> Option<(&'a str, u32, Option<&'a str>, &'a str)> {
    let rest = file.strip_prefix(&format!("{artifact}-{base}-"))?;
    let (stamp, rest) = rest.split_at_checked(15)?;
    if stamp.as_bytes().get(8) != Some(&b'.') {
        return None;
    }
    let rest = rest.strip_prefix('-')?;
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    let build: u32 = rest[..digits].parse().ok()?;
    let rest = &rest[digits..];
    let (classifier, ext) = match rest.strip_prefix('-') {
        Some(c) => {
            let (c, e) = c.split_once('.')?;
            (Some(c), e)
        }
        None => (None, rest.strip_prefix('.')?),
    };
    Some((stamp, build, classifier, ext))
}

async fn snapshot_metadata(
    svc: &ArtifactService,
    caller: &Caller,
    group: &str,
    artifact: &str,
    version: &str,
    checksum: Option<&str>,
) -> NativeResponse {
    let Some(m) = svc
        .merged(caller, group, artifact, &["Published", "Unlisted"])
        .await
    else {
        return NativeResponse::error(404, "No such artifact");
    };
    let Some(f) = m.versions.get(version) else {
        return NativeResponse::error(404, "No such version");
    };
    let base = version.trim_end_matches("-SNAPSHOT");
    let key = caller.key(&f.repository, group, artifact);
    let assets = svc.store.ca_assets(&key, version).await.unwrap_or_default();
    let builds: Vec<_> = assets
        .iter()
        .filter_map(|a| snapshot_parts(artifact, base, &a.name))
        .filter(|(_, _, _, ext)| !CHECKSUMS.iter().any(|(c, _)| ext.ends_with(c)))
        .collect();
    let Some((stamp_, build, _, _)) = builds.iter().max_by_key(|(s, b, _, _)| (*s, *b)) else {
        return NativeResponse::error(404, "No snapshot builds");
    };
    let mut latest: BTreeMap<(Option<&str>, &str), ()> = BTreeMap::new();
    for (s, b, classifier, ext) in &builds {
        if s == stamp_ && b == build {
            latest.insert((*classifier, *ext), ());
        }
    }
    let value = format!("{base}-{stamp_}-{build}");
    let updated = stamp(f.row.published_ms);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata modelVersion=\"1.1.0\">\n  <groupId>{}</groupId>\n  <artifactId>{}</artifactId>\n  <version>{}</version>\n  <versioning>\n    <snapshot>\n      <timestamp>{stamp_}</timestamp>\n      <buildNumber>{build}</buildNumber>\n    </snapshot>\n    <lastUpdated>{updated}</lastUpdated>\n    <snapshotVersions>\n",
        xml_escape(group),
        xml_escape(artifact),
        xml_escape(version)
    );
    for (classifier, ext) in latest.keys() {
        xml.push_str("      <snapshotVersion>\n");
        if let Some(c) = classifier {
            xml.push_str(&format!(
                "        <classifier>{}</classifier>\n",
                xml_escape(c)
            ));
        }
        xml.push_str(&format!(
            "        <extension>{}</extension>\n        <value>{value}</value>\n        <updated>{updated}</updated>\n      </snapshotVersion>\n",
            xml_escape(ext)
        ));
    }
    xml.push_str("    </snapshotVersions>\n  </versioning>\n</metadata>\n");
    document(xml, checksum, "text/xml")
}

#[allow(clippy::too_many_arguments)]
async fn get_file(
    svc: &ArtifactService,
    caller: &Caller,
    group: &str,
    artifact: &str,
    version: &str,
    file: &str,
    checksum: Option<&str>,
) -> NativeResponse {
    let statuses = ["Published", "Unlisted"];
    let mut m = svc.merged(caller, group, artifact, &statuses).await;
    let mut asset = None;
    if let Some(f) = m.as_ref().and_then(|m| m.versions.get(version)) {
        asset = svc.fetch_asset(caller, group, artifact, f, file).await;
    }
    if asset.is_none() {
        if let Err(answer) = ingest(svc, caller, group, artifact, version, file).await {
            return answer;
        }
        m = svc.merged(caller, group, artifact, &statuses).await;
        if let Some(f) = m.as_ref().and_then(|m| m.versions.get(version)) {
            asset = svc.fetch_asset(caller, group, artifact, f, file).await;
        }
    }
    let Some(asset) = asset else {
        return NativeResponse::error(404, format!("No file {file}"));
    };
    if let Some(algo) = checksum {
        let hashes = serde_json::from_str::<crate::records::AssetDoc>(&asset.document)
            .map(|d| d.hashes)
            .unwrap_or_default();
        return match hashes.get(algo) {
            Some(h) => NativeResponse::bytes("text/plain", h.clone().into_bytes()),
            None => NativeResponse::error(404, "No such checksum"),
        };
    }
    NativeResponse::content(&asset)
}

/// Fetches `file` of a version through the external connection, checks it against the SHA-1
/// the registry publishes beside it, and ingests it into the repository holding the
/// connection. `Err` is the answer to give.
async fn ingest(
    svc: &ArtifactService,
    caller: &Caller,
    group: &str,
    artifact: &str,
    version: &str,
    file: &str,
) -> Result<(), NativeResponse> {
    let missing = || NativeResponse::error(404, format!("No file {file}"));
    let conn = svc
        .connection(caller, group, artifact)
        .await
        .ok_or_else(missing)?;
    let url = format!(
        "{}{}/{artifact}/{version}/{file}",
        conn.upstream.url,
        group.replace('.', "/")
    );
    let auth = conn.upstream.authorization.as_deref();
    let upstream_error =
        |e: String| NativeResponse::error(502, format!("the upstream registry: {e}"));
    let bytes = crate::external::get(&url, auth, "*/*")
        .await
        .map_err(upstream_error)?
        .ok_or_else(missing)?;
    let sha1 = crate::external::get(&format!("{url}.sha1"), auth, "*/*")
        .await
        .map_err(upstream_error)?
        .ok_or_else(|| {
            NativeResponse::error(
                502,
                format!("The upstream registry has no SHA-1 for {file}"),
            )
        })?;
    let stated = String::from_utf8_lossy(&sha1);
    let stated = stated.split_whitespace().next().unwrap_or_default();
    let hashed = crate::assets::hash(&bytes);
    if !hashed.doc.hashes["SHA-1"].eq_ignore_ascii_case(stated) {
        return Err(NativeResponse::error(
            502,
            format!("The upstream file {file} does not match its SHA-1"),
        ));
    }
    let target = Target {
        key: caller.key(&conn.repository, group, artifact),
        format: PackageFormat::Maven,
    };
    let doc = VersionDoc {
        origin_type: "EXTERNAL".into(),
        origin_external: Some(conn.name.clone()),
        display_name: Some(format!("{group}:{artifact}")),
        ..Default::default()
    };
    svc.keep_external(&target, version, file, &bytes, doc)
        .await
        .map_err(|e| NativeResponse::error(500, e))
}

#[allow(clippy::too_many_arguments)]
async fn put_file(
    svc: &ArtifactService,
    caller: &Caller,
    req: &NativeRequest,
    group: &str,
    artifact: &str,
    version: &str,
    file: &str,
    checksum: Option<&str>,
) -> NativeResponse {
    let target = Target {
        key: caller.key(&caller.repository, group, artifact),
        format: PackageFormat::Maven,
    };
    let existing = match svc.store.ca_version(&target.key, version).await {
        Ok(v) => v,
        Err(e) => return NativeResponse::error(500, e.to_string()),
    };
    if let Some(algo) = checksum {
        // A checksum must agree with the file it is about, which came first.
        let assets = svc
            .store
            .ca_assets(&target.key, version)
            .await
            .unwrap_or_default();
        let Some(a) = assets.iter().find(|a| a.name == file) else {
            return NativeResponse::error(400, format!("No file {file} to check"));
        };
        let stated = String::from_utf8_lossy(&req.body);
        let stated = stated.split_whitespace().next().unwrap_or_default();
        let ok = serde_json::from_str::<crate::records::AssetDoc>(&a.document).is_ok_and(|d| {
            d.hashes
                .get(algo)
                .is_some_and(|h| h.eq_ignore_ascii_case(stated))
        });
        return if ok {
            NativeResponse::bytes("text/plain", Vec::new())
        } else {
            NativeResponse::error(400, format!("The {algo} of {file} is not {stated}"))
        };
    }
    let pkg = svc.package_record(&target.key).await;
    if let Err(why) = svc.may_publish(&target.key, pkg.as_ref()).await {
        return NativeResponse::error(403, why);
    }
    let snapshot = version.ends_with("-SNAPSHOT");
    let (status, doc) = match existing {
        Some(v) if !snapshot && v.status != "Unfinished" => {
            return NativeResponse::error(
                409,
                format!(
                    "{group}:{artifact}:{version} is {} and cannot change",
                    v.status
                ),
            );
        }
        Some(v) if matches!(v.status.as_str(), "Archived" | "Disposed") => {
            return NativeResponse::error(409, format!("{version} is {}", v.status));
        }
        Some(v) => (
            v.status.clone(),
            serde_json::from_str::<VersionDoc>(&v.document).unwrap_or_default(),
        ),
        None => (
            "Unfinished".to_owned(),
            VersionDoc {
                origin_type: "INTERNAL".into(),
                origin_repository: Some(caller.repository.clone()),
                display_name: Some(format!("{group}:{artifact}")),
                ..Default::default()
            },
        ),
    };
    let content = match svc.spool_all(req.reader(), crate::native::MAX_FILE).await {
        Ok(s) => Content::Spooled(s),
        Err(e) => return NativeResponse::error(400, e),
    };
    match svc
        .add_asset(&target, version, file, content, None, &status, doc)
        .await
    {
        Ok(_) => NativeResponse {
            status: 201,
            content_type: "text/plain",
            headers: Vec::new(),
            body: Vec::new(),
            file: None,
        },
        Err(e) if e.code == "ConflictException" => NativeResponse::error(409, e.message),
        Err(e) => NativeResponse::error(400, e.message),
    }
}

/// The `<version>` elements of an uploaded `maven-metadata.xml`.
fn listed_versions(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find("<version>") {
        let after = &rest[at + 9..];
        let Some(end) = after.find("</version>") else {
            break;
        };
        out.push(after[..end].trim().to_owned());
        rest = &after[end..];
    }
    out
}

/// A `maven-metadata.xml` PUT: the versions it lists that are Unfinished here are published
/// (the file itself is not kept; metadata is generated when read).
async fn put_metadata(
    svc: &ArtifactService,
    caller: &Caller,
    req: &NativeRequest,
    group: &str,
    artifact: &str,
) -> NativeResponse {
    let key = caller.key(&caller.repository, group, artifact);
    let xml = String::from_utf8_lossy(&req.body);
    for v in listed_versions(&xml) {
        if let Ok(Some(row)) = svc.store.ca_version(&key, &v).await
            && row.status == "Unfinished"
            && let Err(e) = svc
                .store
                .set_ca_version(&key, &v, "Published", &row.document)
                .await
        {
            return NativeResponse::error(500, e.to_string());
        }
    }
    NativeResponse {
        status: 201,
        content_type: "text/plain",
        headers: Vec::new(),
        body: Vec::new(),
        file: None,
    }
}

/// Answers one request at a Maven endpoint.
pub(crate) async fn handle(
    svc: &ArtifactService,
    caller: &Caller,
    req: &NativeRequest,
) -> NativeResponse {
    let Some((path, checksum)) = parse(&req.rest) else {
        return NativeResponse::error(400, "Not a Maven repository path");
    };
    match (req.method.as_str(), path) {
        ("GET", Path::ArtifactMetadata { group, artifact }) => {
            artifact_metadata(svc, caller, &group, &artifact, checksum).await
        }
        (
            "GET",
            Path::SnapshotMetadata {
                group,
                artifact,
                version,
            },
        ) => snapshot_metadata(svc, caller, &group, &artifact, &version, checksum).await,
        (
            "GET",
            Path::File {
                group,
                artifact,
                version,
                file,
            },
        ) => get_file(svc, caller, &group, &artifact, &version, &file, checksum).await,
        ("PUT", Path::ArtifactMetadata { group, artifact })
        | (
            "PUT",
            Path::SnapshotMetadata {
                group, artifact, ..
            },
        ) => {
            if checksum.is_some() {
                return NativeResponse::bytes("text/plain", Vec::new());
            }
            put_metadata(svc, caller, req, &group, &artifact).await
        }
        (
            "PUT",
            Path::File {
                group,
                artifact,
                version,
                file,
            },
        ) => {
            put_file(
                svc, caller, req, &group, &artifact, &version, &file, checksum,
            )
            .await
        }
        _ => NativeResponse::error(405, "Method not allowed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse("com/acme/lib/1.0/lib-1.0.jar.sha1"),
            Some((
                Path::File {
                    group: "com.acme".into(),
                    artifact: "lib".into(),
                    version: "1.0".into(),
                    file: "lib-1.0.jar".into()
                },
                Some("SHA-1")
            ))
        );
        assert_eq!(
            parse("com/acme/lib/maven-metadata.xml"),
            Some((
                Path::ArtifactMetadata {
                    group: "com.acme".into(),
                    artifact: "lib".into()
                },
                None
            ))
        );
        assert_eq!(
            parse("com/acme/lib/1.1-SNAPSHOT/maven-metadata.xml.md5"),
            Some((
                Path::SnapshotMetadata {
                    group: "com.acme".into(),
                    artifact: "lib".into(),
                    version: "1.1-SNAPSHOT".into()
                },
                Some("MD5")
            ))
        );
        for bad in [
            "com/../lib/1.0/lib-1.0.jar",
            "com/acme/lib/1.0/other-1.0.jar",
            "lib/1.0",
            "com/acme%2f..%2f/lib/1.0/lib-1.0.jar",
            "com//lib/1.0/lib-1.0.jar",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn snapshot_file_names() {
        assert_eq!(
            snapshot_parts("lib", "1.1", "lib-1.1-20261126.235959-3.jar"),
            Some(("20261126.235959", 3, None, "jar"))
        );
        assert_eq!(
            snapshot_parts("lib", "1.1", "lib-1.1-20261126.235959-12-sources.jar"),
            Some(("20261126.235959", 12, Some("sources"), "jar"))
        );
        assert_eq!(snapshot_parts("lib", "1.1", "lib-1.1-SNAPSHOT.jar"), None);
    }

    #[test]
    fn metadata_versions_and_order() {
        let xml = "<metadata><versioning><versions><version>1.0</version><version>1.10</version></versions></versioning></metadata>";
        assert_eq!(listed_versions(xml), ["1.0", "1.10"]);
        let mut v = vec!["1.10", "1.9", "1.2-SNAPSHOT"];
        v.sort_by_key(|s| version_key(s));
        assert_eq!(v, ["1.2-SNAPSHOT", "1.9", "1.10"]);
    }
}
