//! The settings a server runs with (the binary fills them from flags, `FERRY_*` variables and
//! `ferry.toml`).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything `ferry serve` needs to know.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the SQLite file, git repositories, blobs and keys live.
    pub data_dir: PathBuf,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://...` or `postgres://...`; `None` means the SQLite file in the data dir.
    pub database_url: Option<String>,
    /// What clone URLs and endpoints advertise; `None` means `http://<listen>`.
    pub public_url: Option<String>,
    /// The region ARNs carry and git passwords are checked against first.
    pub region: String,
    /// The master key for secrets at rest as 64 hex digits; `None` means `<data-dir>/master.key`.
    pub master_key: Option<String>,
    /// Root credentials to install when the data dir is first initialised.
    pub root_access_key: Option<(String, String)>,
    /// Root's console password, set when root has none yet (`FERRY_ROOT_PASSWORD`).
    pub root_password: Option<String>,
    /// Where git over SSH listens; `None` turns it off.
    pub ssh_listen: Option<SocketAddr>,
    /// Where builds run: `local` (default) or `fake` (tests).
    pub build_executor: String,
    /// How long an agent owing a command may stay silent before its instance fails.
    pub deploy_heartbeat: std::time::Duration,
    /// The registries CodeArtifact's external connections reach, by connection name.
    pub external_connections:
        std::collections::BTreeMap<String, ferry_artifact::external::Upstream>,
    /// How long metadata fetched through an external connection is trusted.
    pub external_metadata_ttl: std::time::Duration,
}

/// The default listen address: loopback, a fixed port that is not LocalStack's 4566.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4590";

impl ServerConfig {
    /// A configuration with defaults for everything but the data dir.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            database_url: None,
            public_url: None,
            region: "us-east-1".into(),
            master_key: None,
            root_access_key: None,
            root_password: None,
            ssh_listen: None,
            build_executor: "local".into(),
            deploy_heartbeat: std::time::Duration::from_secs(60),
            external_connections: Default::default(),
            external_metadata_ttl: std::time::Duration::from_secs(300),
        }
    }

    /// The public URL, without a trailing slash, for a server bound to `bound`.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None if bound.ip().is_unspecified() => format!("http://127.0.0.1:{}", bound.port()),
            None => format!("http://{bound}"),
        }
    }
}
