//! External connections: the public registries AWS names (`public:npmjs`, `public:pypi`, …)
//! map to upstream URLs the operator configures (no public host is built in). A repository
//! that holds a connection consults it after everything on the search order missed: metadata
//! (an npm packument, a PyPI project page) is fetched lazily and cached for the configured
//! time, a file is fetched when a client asks for it, checked against the hash the metadata
//! declared, and ingested into the repository holding the connection (origin `EXTERNAL`, and
//! retained in the requesting repository as any upstream version is). `POST
//! <endpoint>-/ferry/refresh/<package>` forgets cached metadata at once (a Ferry extension).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ferry_agent::http::{Endpoint, HttpClient, Request};

use crate::assets::Content;
use crate::native::Caller;
use crate::records::PackageDoc;
use crate::service::ArtifactService;

/// Where one external connection's registry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The registry's base URL, ending in `/` (npm: packuments at `<url><name>`; PyPI: the
    /// simple API at `<url>simple/`).
    pub url: String,
    /// An `Authorization` header value to send, if the registry wants one.
    pub authorization: Option<String>,
}

/// The most an upstream answer may weigh.
const MAX_FETCH: usize = 512 * 1024 * 1024;
/// How long one upstream request may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A cached answer (`None`: the upstream does not have the package) and when it was fetched.
type Entry = (Instant, Option<Vec<u8>>);

/// Cached metadata, by (connection, package).
#[derive(Default)]
pub struct MetadataCache {
    entries: std::sync::Mutex<HashMap<(String, String), Entry>>,
}

impl MetadataCache {
    fn get(&self, key: &(String, String), ttl: Duration) -> Option<Option<Vec<u8>>> {
        let map = self.entries.lock().ok()?;
        let (at, body) = map.get(key)?;
        (at.elapsed() < ttl).then(|| body.clone())
    }

    fn put(&self, key: (String, String), body: Option<Vec<u8>>) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(key, (Instant::now(), body));
        }
    }

    /// Forgets what is cached for `package`, under every connection.
    pub fn forget(&self, package: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.retain(|(_, p), _| p != package);
        }
    }
}

/// `base` joined with `reference` as a browser would (absolute, host-relative or relative).
pub fn join(base: &str, reference: &str) -> String {
    if reference.starts_with("http://") || reference.starts_with("https://") {
        return reference.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if let Some(abs) = reference.strip_prefix('/') {
        return format!("{scheme}://{host}/{abs}");
    }
    let mut segs: Vec<&str> = path.split('/').collect();
    segs.pop(); // the document's own name
    for part in reference.split('/') {
        match part {
            ".." => {
                segs.pop();
            }
            "." => {}
            p => segs.push(p),
        }
    }
    format!("{scheme}://{host}/{}", segs.join("/"))
}

/// GET `url`: `Ok(None)` for 404/410, the body for 2xx.
pub async fn get(
    url: &str,
    authorization: Option<&str>,
    accept: &str,
) -> Result<Option<Vec<u8>>, String> {
    let endpoint = Endpoint::parse(url).map_err(|e| e.to_string())?;
    let client = HttpClient::new(endpoint.clone()).map_err(|e| e.to_string())?;
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path_and_query = rest.find('/').map_or("/", |i| &rest[i..]);
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut headers = vec![
        ("host".to_owned(), endpoint.authority.clone()),
        ("accept".to_owned(), accept.to_owned()),
        ("user-agent".to_owned(), "ferry-codeartifact".to_owned()),
    ];
    if let Some(a) = authorization {
        headers.push(("authorization".to_owned(), a.to_owned()));
    }
    let req = Request {
        method: "GET",
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: Default::default(),
    };
    let got = client
        .send_buffered(req, TIMEOUT, MAX_FETCH)
        .await
        .map_err(|e| e.to_string())?;
    match got.status {
        200..=299 => Ok(Some(got.body.to_vec())),
        404 | 410 => Ok(None),
        s => Err(format!("{url} answered {s}")),
    }
}

/// The external connection a lookup from the caller's repository may use: the first
/// repository on the package's search order that holds a connection of the caller's format
/// (with its name), unless its record of the package blocks upstream versions.
pub(crate) struct Connection {
    pub repository: String,
    pub name: String,
    pub upstream: Upstream,
}

impl ArtifactService {
    pub(crate) async fn connection(
        &self,
        caller: &Caller,
        namespace: &str,
        package: &str,
    ) -> Option<Connection> {
        for (repo, doc, pkg) in self.package_order(caller, namespace, package).await {
            if pkg.is_some_and(|p: PackageDoc| p.upstream == "BLOCK")
                || self
                    .group_allows(
                        &caller.key(&repo, namespace, package),
                        &repo,
                        crate::groups::EXTERNAL_UPSTREAM,
                    )
                    .await
                    .is_err()
            {
                continue;
            }
            for name in &doc.external_connections {
                if crate::names::external_format(name) != Some(caller.format) {
                    continue;
                }
                if let Some(upstream) = self.settings.external.get(name).cloned() {
                    return Some(Connection {
                        repository: repo,
                        name: name.clone(),
                        upstream,
                    });
                }
            }
        }
        None
    }

    /// Metadata at `url` for `package` through connection `conn`, from the cache while fresh.
    pub(crate) async fn external_metadata(
        &self,
        conn: &Connection,
        package: &str,
        url: &str,
        accept: &str,
    ) -> Result<Option<Vec<u8>>, String> {
        let key = (conn.name.clone(), package.to_owned());
        if let Some(hit) = self.external_cache.get(&key, self.settings.external_ttl) {
            return Ok(hit);
        }
        let got = get(url, conn.upstream.authorization.as_deref(), accept).await?;
        self.external_cache.put(key, got.clone());
        Ok(got)
    }
}

impl ArtifactService {
    /// Keeps a file fetched (and checked) through connection `conn` as an asset of `version`
    /// in the repository holding the connection: the package is created with the controls of
    /// an upstream-sourced package, the version (when new) with `doc`. Another request having
    /// kept the same file first is not an error.
    pub(crate) async fn keep_external(
        &self,
        target: &crate::packages_api::Target,
        version: &str,
        file: &str,
        bytes: &[u8],
        doc: crate::records::VersionDoc,
    ) -> Result<(), String> {
        if self.package_record(&target.key).await.is_none() {
            let pkg = PackageDoc::ingested();
            let text = serde_json::to_string(&pkg).map_err(|e| e.to_string())?;
            self.store
                .put_ca_package(&target.key, &text)
                .await
                .map_err(|e| e.to_string())?;
        }
        let doc = match self.store.ca_version(&target.key, version).await {
            Ok(Some(v)) => serde_json::from_str(&v.document).unwrap_or(doc),
            _ => doc,
        };
        match self
            .add_asset(
                target,
                version,
                file,
                Content::Bytes(bytes),
                None,
                "Published",
                doc,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code == "ConflictException" => Ok(()),
            Err(e) => Err(e.message),
        }
    }
}

/// Parses `name=url` pairs (`,`-separated), as `FERRY_EXTERNAL_CONNECTIONS` gives them.
pub fn parse_list(text: &str) -> Result<BTreeMap<String, Upstream>, String> {
    let mut out = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, url) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not name=url"))?;
        out.insert(name.trim().to_owned(), upstream(url.trim(), None)?);
    }
    Ok(out)
}

/// An upstream from its URL, checked.
pub fn upstream(url: &str, authorization: Option<String>) -> Result<Upstream, String> {
    Endpoint::parse(url).map_err(|e| e.to_string())?;
    let url = if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    };
    Ok(Upstream { url, authorization })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins() {
        assert_eq!(
            join("http://h/simple/x/", "../../files/x.whl"),
            "http://h/files/x.whl"
        );
        assert_eq!(join("http://h/simple/x/", "/f/x.whl"), "http://h/f/x.whl");
        assert_eq!(
            join("http://h/simple/x/", "https://o/x.whl"),
            "https://o/x.whl"
        );
        assert_eq!(join("http://h:8/a/b", "c"), "http://h:8/a/c");
    }

    #[test]
    fn lists() {
        let l =
            parse_list("public:npmjs=http://127.0.0.1:9/npm, public:pypi=http://127.0.0.1:9/py/")
                .unwrap();
        assert_eq!(l["public:npmjs"].url, "http://127.0.0.1:9/npm/");
        assert_eq!(l["public:pypi"].url, "http://127.0.0.1:9/py/");
        assert!(parse_list("nonsense").is_err());
        assert!(parse_list("public:npmjs=ftp://x").is_err());
    }

    #[test]
    fn cache_expires_and_forgets() {
        let c = MetadataCache::default();
        let k = ("public:npmjs".to_owned(), "left-pad".to_owned());
        c.put(k.clone(), Some(b"x".to_vec()));
        assert_eq!(
            c.get(&k, Duration::from_secs(60)),
            Some(Some(b"x".to_vec()))
        );
        assert_eq!(c.get(&k, Duration::ZERO), None);
        c.forget("left-pad");
        assert_eq!(c.get(&k, Duration::from_secs(60)), None);
    }
}
