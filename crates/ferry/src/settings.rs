//! `ferry serve` settings from, in order of precedence: flags, `FERRY_*` environment
//! variables, `ferry.toml` (in the working directory, or `--config`), defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ferry_server::ServerConfig;
use ferry_server::config::DEFAULT_LISTEN;
use serde::Deserialize;

/// Flags of `ferry serve` (each also read from its `FERRY_*` variable).
#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// Settings file (default: ./ferry.toml when present).
    #[arg(long, env = "FERRY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where Ferry keeps its data (default ./ferry-data).
    #[arg(long, env = "FERRY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:4590).
    #[arg(long, env = "FERRY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// sqlite://PATH or postgres://... (default: SQLite file in the data dir).
    #[arg(long, env = "FERRY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// URL that clone URLs and endpoints advertise (default http://<listen>).
    #[arg(long, env = "FERRY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Region of ARNs (default us-east-1).
    #[arg(long, env = "FERRY_REGION")]
    pub region: Option<String>,
    /// Master key for secrets at rest, 64 hex digits (default: <data-dir>/master.key).
    #[arg(long, env = "FERRY_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// Where git over SSH listens (off unless set), e.g. 127.0.0.1:4522.
    #[arg(long, env = "FERRY_SSH_LISTEN")]
    pub ssh_listen: Option<SocketAddr>,
    /// Where builds run: local (default), docker (a container of the project's image, engine at
    /// DOCKER_HOST) or fake (commands are only pretended, for tests).
    #[arg(long, env = "FERRY_BUILD_EXECUTOR")]
    pub build_executor: Option<String>,
    /// Seconds an agent owing a deployment command may stay silent before its instance fails
    /// (default 60).
    #[arg(long, env = "FERRY_DEPLOY_HEARTBEAT_SECS")]
    pub deploy_heartbeat_secs: Option<u64>,
    /// CodeArtifact external connections: `name=url` pairs, comma-separated
    /// (`public:npmjs=https://registry.npmjs.org/`).
    #[arg(long, env = "FERRY_EXTERNAL_CONNECTIONS")]
    pub external_connections: Option<String>,
    /// Seconds metadata fetched through an external connection is trusted (default 300).
    #[arg(long, env = "FERRY_EXTERNAL_METADATA_TTL_SECS")]
    pub external_metadata_ttl_secs: Option<u64>,
    /// Log level filter (default info).
    #[arg(long, env = "FERRY_LOG")]
    pub log: Option<String>,
    /// Log as JSON lines.
    #[arg(long, env = "FERRY_LOG_JSON")]
    pub log_json: Option<bool>,
}

/// The same settings as a `ferry.toml` file holds them.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    public_url: Option<String>,
    region: Option<String>,
    master_key: Option<String>,
    ssh_listen: Option<SocketAddr>,
    build_executor: Option<String>,
    deploy_heartbeat_secs: Option<u64>,
    log: Option<String>,
    log_json: Option<bool>,
    /// `[external-connections."public:npmjs"] url = "…"` (and `authorization = "…"`).
    #[serde(default)]
    external_connections: std::collections::BTreeMap<String, FileUpstream>,
    external_metadata_ttl_secs: Option<u64>,
}

/// One external connection's registry as `ferry.toml` gives it.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileUpstream {
    url: String,
    authorization: Option<String>,
}

/// Settings after merging.
pub struct Resolved {
    pub server: ServerConfig,
    pub log_level: String,
    pub log_json: bool,
}

/// Merges flags/environment over the file over defaults.
pub fn resolve(args: ServeArgs) -> Result<Resolved> {
    let file_path = args.config.clone().or_else(|| {
        let p = PathBuf::from("ferry.toml");
        p.exists().then_some(p)
    });
    let file: FileSettings = match &file_path {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
        }
        None => FileSettings::default(),
    };
    let mut server = ServerConfig::new(
        args.data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("ferry-data")),
    );
    server.listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid"));
    server.database_url = args.database_url.or(file.database_url);
    server.public_url = args.public_url.or(file.public_url);
    server.region = args
        .region
        .or(file.region)
        .unwrap_or_else(|| "us-east-1".into());
    server.master_key = args.master_key.or(file.master_key);
    server.ssh_listen = args.ssh_listen.or(file.ssh_listen);
    if let Some(e) = args.build_executor.or(file.build_executor) {
        server.build_executor = e;
    }
    if let Some(s) = args.deploy_heartbeat_secs.or(file.deploy_heartbeat_secs) {
        server.deploy_heartbeat = std::time::Duration::from_secs(s.max(1));
    }
    for (name, u) in file.external_connections {
        let upstream = ferry_artifact::external::upstream(&u.url, u.authorization)
            .map_err(|e| anyhow::anyhow!("external connection {name}: {e}"))?;
        server.external_connections.insert(name, upstream);
    }
    if let Some(list) = args.external_connections {
        let parsed = ferry_artifact::external::parse_list(&list)
            .map_err(|e| anyhow::anyhow!("FERRY_EXTERNAL_CONNECTIONS: {e}"))?;
        server.external_connections.extend(parsed);
    }
    for name in server.external_connections.keys() {
        if ferry_artifact::names::external_format(name).is_none() {
            anyhow::bail!("unknown external connection {name} (see docs/compat/codeartifact.md)");
        }
    }
    if let Some(s) = args
        .external_metadata_ttl_secs
        .or(file.external_metadata_ttl_secs)
    {
        server.external_metadata_ttl = std::time::Duration::from_secs(s);
    }
    server.root_access_key = match (
        std::env::var("FERRY_ROOT_ACCESS_KEY_ID"),
        std::env::var("FERRY_ROOT_SECRET_ACCESS_KEY"),
    ) {
        (Ok(a), Ok(s)) if !a.is_empty() && !s.is_empty() => Some((a, s)),
        _ => None,
    };
    server.root_password = std::env::var("FERRY_ROOT_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    Ok(Resolved {
        server,
        log_level: args.log.or(file.log).unwrap_or_else(|| "info".into()),
        log_json: args.log_json.or(file.log_json).unwrap_or(false),
    })
}

/// Installs the log subscriber.
pub fn init_logging(level: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ferry.toml");
        std::fs::write(
            &file,
            "data-dir = \"/srv/ferry\"\nregion = \"eu-west-1\"\nlisten = \"127.0.0.1:9000\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Default::default()
        };
        let r = resolve(args).unwrap();
        assert_eq!(r.server.data_dir, PathBuf::from("/srv/ferry"));
        assert_eq!(r.server.region, "eu-west-1");
        assert_eq!(r.server.listen.port(), 9100);
        assert_eq!(r.log_level, "info");
        assert!(r.server.database_url.is_none());

        std::fs::write(&file, "no-such-setting = 1\n").unwrap();
        assert!(
            resolve(ServeArgs {
                config: Some(file),
                ..Default::default()
            })
            .is_err(),
            "unknown keys are refused"
        );
    }

    #[test]
    fn defaults() {
        let r = resolve(ServeArgs {
            config: Some(PathBuf::from("/dev/null")),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.server.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(r.server.data_dir, PathBuf::from("ferry-data"));
        assert_eq!(
            r.server.public_url_for(r.server.listen),
            "http://127.0.0.1:4590"
        );
    }
}
