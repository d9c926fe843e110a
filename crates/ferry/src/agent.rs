//! `ferry agent`: the deployment agent of one host. It registers the host as an on-premises
//! instance of the Ferry server at `--endpoint`, then carries out the CodeDeploy commands the
//! server hands it (see `ferry_agent::runner`). No server code runs here: the agent has its own
//! single-threaded runtime and signs its requests with the AWS credentials of the environment
//! (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, or `AWS_PROFILE` in the
//! shared credentials file) for the region `AWS_REGION` (default us-east-1), or with the key
//! a registration token bought (`--registration-token`, see `ferry_agent::enrol`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use ferry_agent::Agent;
use ferry_agent::client::{Client, ClientConfig, Tag};
use ferry_agent::http::Endpoint;
use ferry_agent::runner::{Runner, RunnerConfig, Shutdown};
use ferry_agent::{credentials, enrol};

/// The shortest read timeout accepted: the server holds a poll open for about 20 s.
const MIN_POLL_TIMEOUT_SECS: u64 = 25;

/// Flags of `ferry agent` (each also read from its `FERRY_AGENT_*` variable).
#[derive(Args, Debug)]
pub struct AgentArgs {
    /// The Ferry server's URL, e.g. https://ferry.example.com.
    #[arg(long, env = "FERRY_AGENT_ENDPOINT")]
    pub endpoint: String,
    /// The name this host registers under (an on-premises instance name).
    #[arg(long, env = "FERRY_AGENT_NAME")]
    pub name: String,
    /// The directory where deployments are kept (created if missing).
    #[arg(long, env = "FERRY_AGENT_ROOT")]
    pub root: PathBuf,
    /// An instance tag, KEY=VALUE; repeat for more (in the variable: comma-separated, so no
    /// commas in tags). The instance ends up with exactly these tags.
    #[arg(long = "tag", env = "FERRY_AGENT_TAGS", value_delimiter = ',', value_parser = parse_tag)]
    pub tags: Vec<Tag>,
    /// A token from `ferry admin create-agent-token`: on its first start the agent registers
    /// with it and keeps the access key it gets in <root>/agent-credentials; later starts use
    /// that key. Without a token the agent signs with the AWS credentials of the environment.
    #[arg(long, env = "FERRY_AGENT_REGISTRATION_TOKEN", hide_env_values = true)]
    pub registration_token: Option<String>,
    /// A directory appspec `files` may be installed under; repeat for more (default: /).
    #[arg(
        long = "allow-root",
        env = "FERRY_AGENT_ALLOW_ROOTS",
        value_delimiter = ','
    )]
    pub allow_roots: Vec<PathBuf>,
    /// Deployment directories kept per deployment group.
    #[arg(long, env = "FERRY_AGENT_MAX_REVISIONS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_revisions: u64,
    /// Read timeout of each request, in seconds (polls are held open by the server).
    #[arg(long, env = "FERRY_AGENT_POLL_TIMEOUT_SECS", default_value_t = 80,
          value_parser = clap::value_parser!(u64).range(MIN_POLL_TIMEOUT_SECS..))]
    pub poll_timeout_secs: u64,
    /// Log level filter (default info).
    #[arg(long, env = "FERRY_LOG", default_value = "info")]
    pub log: String,
    /// Log as JSON lines.
    #[arg(long, env = "FERRY_LOG_JSON")]
    pub log_json: Option<bool>,
}

/// `KEY=VALUE` as a tag (the value may be empty).
fn parse_tag(text: &str) -> Result<Tag, String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("a tag is KEY=VALUE, not {text:?}"))?;
    let key = key.trim();
    if key.is_empty() || key.len() > 128 || value.len() > 256 {
        return Err(format!(
            "a tag needs a key of 1 to 128 characters and a value of at most 256: {text:?}"
        ));
    }
    Ok(Tag {
        key: key.to_owned(),
        value: value.trim().to_owned(),
    })
}

/// What the runner needs, checked and made absolute.
#[derive(Debug)]
struct Prepared {
    endpoint: Endpoint,
    root: PathBuf,
    allow_roots: Vec<PathBuf>,
    config: RunnerConfig,
    registration_token: Option<String>,
    max_revisions: usize,
    timeout: Duration,
}

fn prepare(args: AgentArgs) -> Result<Prepared> {
    let endpoint = Endpoint::parse(&args.endpoint)?;
    if args.name.trim().is_empty() {
        bail!("--name must not be empty");
    }
    let mut keys: Vec<&str> = args.tags.iter().map(|t| t.key.as_str()).collect();
    keys.sort_unstable();
    if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
        bail!("the tag {} is given twice", pair[0]);
    }
    let absolute = |path: &Path| {
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
    };
    let mut config = RunnerConfig::new(args.name);
    config.tags = args.tags;
    Ok(Prepared {
        endpoint,
        root: absolute(&args.root)?,
        allow_roots: args
            .allow_roots
            .iter()
            .map(|p| absolute(p))
            .collect::<Result<_>>()?,
        config,
        registration_token: args.registration_token.filter(|t| !t.trim().is_empty()),
        max_revisions: usize::try_from(args.max_revisions).unwrap_or(usize::MAX),
        timeout: Duration::from_secs(args.poll_timeout_secs),
    })
}

/// Runs the agent until SIGTERM or ctrl-c, on a runtime of its own (one thread: the agent
/// mostly waits).
pub fn run(args: AgentArgs) -> Result<()> {
    crate::settings::init_logging(&args.log, args.log_json.unwrap_or(false));
    let prepared = prepare(args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_agent(prepared))
}

async fn run_agent(p: Prepared) -> Result<()> {
    std::fs::create_dir_all(&p.root).with_context(|| format!("creating {}", p.root.display()))?;
    let credentials = agent_credentials(&p).await?;
    let region = credentials::region_from_env();
    let client = Client::new(ClientConfig {
        endpoint: p.endpoint,
        credentials,
        region,
        timeout: p.timeout,
    })?;
    let mut agent = Agent::new(&p.root);
    if !p.allow_roots.is_empty() {
        agent.allowed_roots = p.allow_roots;
    }
    agent.max_revisions = p.max_revisions;
    tracing::info!(endpoint = %client.endpoint().authority, instance = %p.config.instance_name,
        root = %p.root.display(), "ferry agent starting");
    let runner = Runner::new(client, agent, p.config);
    let (stop, shutdown) = Shutdown::channel();
    tokio::spawn(async move {
        crate::shutdown_signal().await;
        tracing::info!("stopping: reporting the current command, if any");
        let _ = stop.send(true);
    });
    runner.run(shutdown).await?;
    Ok(())
}

/// The key the agent signs with: the one a token bought on an earlier start, else a new one
/// bought with `--registration-token`, else the environment's.
async fn agent_credentials(p: &Prepared) -> Result<credentials::Credentials> {
    if let Some(kept) = enrol::stored(&p.root)? {
        tracing::info!(
            file = enrol::CREDENTIALS_FILE,
            "signing with the key registered earlier"
        );
        return Ok(kept);
    }
    match &p.registration_token {
        Some(token) => {
            let bought = enrol::register(
                &p.endpoint,
                p.timeout,
                token,
                &p.config.instance_name,
                &p.root,
            )
            .await
            .context("registering with the token")?;
            tracing::info!(instance = %p.config.instance_name, "registered with the token");
            Ok(bought)
        }
        None => Ok(credentials::from_env()?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        agent: AgentArgs,
    }

    fn parse(args: &[&str]) -> Result<AgentArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("agent").chain(args.iter().copied())).map(|c| c.agent)
    }

    #[test]
    fn flags() {
        let args = parse(&[
            "--endpoint",
            "http://127.0.0.1:4590",
            "--name",
            "web-1",
            "--root",
            "agent-root",
            "--tag",
            "env=prod",
            "--tag",
            "role=",
            "--allow-root",
            "/srv/www",
            "--max-revisions",
            "3",
        ])
        .unwrap();
        assert_eq!(args.poll_timeout_secs, 80);
        let p = prepare(args).unwrap();
        assert_eq!(p.endpoint.port, 4590);
        assert!(p.root.is_absolute() && p.root.ends_with("agent-root"));
        assert_eq!(p.allow_roots, [PathBuf::from("/srv/www")]);
        assert_eq!(p.max_revisions, 3);
        assert_eq!(p.timeout, Duration::from_secs(80));
        assert_eq!(p.config.instance_name, "web-1");
        let tags: Vec<(&str, &str)> = p
            .config
            .tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(tags, [("env", "prod"), ("role", "")]);
    }

    #[test]
    fn refusals() {
        let base = ["--endpoint", "http://h", "--name", "n", "--root", "/r"];
        let with = |extra: &[&str]| {
            let mut args = base.to_vec();
            args.extend_from_slice(extra);
            parse(&args)
        };
        assert!(with(&["--tag", "novalue"]).is_err());
        assert!(with(&["--tag", "=v"]).is_err());
        assert!(with(&["--poll-timeout-secs", "5"]).is_err());
        assert!(with(&["--max-revisions", "0"]).is_err());
        let twice = with(&["--tag", "a=1", "--tag", "a=2"]).unwrap();
        assert!(prepare(twice).unwrap_err().to_string().contains("twice"));
        let bad = with(&[]).map(|mut a| {
            a.endpoint = "ftp://h".into();
            a
        });
        assert!(prepare(bad.unwrap()).is_err());
    }
}
