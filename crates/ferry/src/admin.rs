//! `ferry admin`: users, access keys and HTTPS git credentials, written straight into the
//! database of a data dir (safe while the server runs: SQLite in WAL mode, or PostgreSQL).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ferry_store::Store;

#[derive(Args, Debug)]
pub struct AdminArgs {
    /// The data dir of the server to manage.
    #[arg(long, env = "FERRY_DATA_DIR", default_value = "ferry-data")]
    data_dir: PathBuf,
    /// The server's database, when it is not the SQLite file in the data dir.
    #[arg(long, env = "FERRY_DATABASE_URL")]
    database_url: Option<String>,
    /// The master key, when it is not <data-dir>/master.key.
    #[arg(long, env = "FERRY_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create a user.
    CreateUser { name: String },
    /// List users.
    ListUsers,
    /// Set a user's web console password, read from standard input (one line).
    SetPassword { user: String },
    /// Create an access key for a user; prints it in the shared-credentials format.
    CreateAccessKey { user: String },
    /// Create HTTPS git credentials (user name and password) for a user.
    CreateGitCredential { user: String },
    /// Mint a token with which `ferry agent --registration-token` registers a host (it gets an
    /// IAM user `codedeploy-<name>` and an access key of its own); prints the token once.
    CreateAgentToken {
        /// How long the token can be used, in hours.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=8760))]
        ttl_hours: u32,
        /// How many hosts may register with it.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        uses: u32,
    },
    /// Revoke every agent registration token (hosts already registered keep their keys).
    RevokeAgentTokens,
    /// Mint a long-lived CodeArtifact token for a domain, acting as a user (a Ferry extension:
    /// GetAuthorizationToken's last at most 12 hours); prints it and its expiry.
    CreateArtifactToken {
        /// The domain the token reads and publishes to.
        #[arg(long)]
        domain: String,
        /// The user the token acts as.
        #[arg(long, default_value = "root")]
        user: String,
        /// How long the token lasts, in days.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
    /// Print the key that signs repository trigger deliveries (X-Ferry-Signature-256).
    TriggerSecret,
    /// Register an SSH public key (OpenSSH format, from a file) for git over SSH; prints its key id.
    AddSshKey {
        user: String,
        public_key_file: PathBuf,
    },
}

pub async fn run(args: AdminArgs) -> Result<()> {
    let dir = &args.data_dir;
    if !dir.join("ferry.db").exists() && args.database_url.is_none() {
        anyhow::bail!(
            "{} holds no Ferry data: start `ferry serve --data-dir {}` once first",
            dir.display(),
            dir.display()
        );
    }
    let store = Store::open_data_dir(
        dir,
        args.database_url.as_deref(),
        args.master_key.as_deref(),
    )
    .await
    .context("opening the store")?;
    store
        .account_id()
        .await?
        .context("the store is not initialised: start `ferry serve` once first")?;
    match args.command {
        AdminCommand::CreateUser { name } => {
            let p = store
                .create_user(&name)
                .await
                .with_context(|| format!("creating user {name}"))?;
            println!("{}", p.arn);
        }
        AdminCommand::SetPassword { user } => {
            store
                .user(&user)
                .await
                .with_context(|| format!("user {user}"))?;
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(
                password.chars().count() >= 8,
                "a console password has at least 8 characters"
            );
            let phc = ferry_server::console::hash_password(password)
                .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
            let now = jiff::Timestamp::now().as_millisecond();
            store.set_console_password(&user, &phc, now).await?;
            println!("console password set for {user}");
        }
        AdminCommand::ListUsers => {
            for p in store.list_users().await? {
                println!("{}\t{}", p.user_name, p.arn);
            }
        }
        AdminCommand::CreateAccessKey { user } => {
            let (akid, secret) = store
                .create_access_key(&user)
                .await
                .with_context(|| format!("user {user}"))?;
            println!("[{user}]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}");
        }
        AdminCommand::CreateGitCredential { user } => {
            let (name, password) = store
                .create_git_credential(&user)
                .await
                .with_context(|| format!("user {user}"))?;
            println!("username = {name}\npassword = {password}");
        }
        AdminCommand::AddSshKey {
            user,
            public_key_file,
        } => {
            let text = std::fs::read_to_string(&public_key_file)
                .with_context(|| format!("reading {}", public_key_file.display()))?;
            println!(
                "{}",
                store
                    .add_ssh_key(&user, text.trim())
                    .await
                    .with_context(|| format!("user {user}"))?
            );
        }
        AdminCommand::CreateAgentToken { ttl_hours, uses } => {
            let ttl_ms = i64::from(ttl_hours) * 3_600_000;
            println!(
                "{}",
                store.create_agent_token(ttl_ms, i64::from(uses)).await?
            );
        }
        AdminCommand::CreateArtifactToken { domain, user, days } => {
            let principal = store
                .user(&user)
                .await
                .with_context(|| format!("user {user}"))?;
            let (token, expires_ms) = ferry_artifact::tokens::mint_long_lived(
                &store,
                &domain,
                &principal.arn,
                &principal.user_name,
                days,
            )
            .await
            .with_context(|| format!("domain {domain}"))?;
            let expires = jiff::Timestamp::from_millisecond(expires_ms)
                .map(|t| t.to_string())
                .unwrap_or_default();
            println!("{token}\nexpires {expires}");
        }
        AdminCommand::RevokeAgentTokens => {
            let gone = store.revoke_agent_tokens().await?;
            println!("{gone} token(s) revoked");
        }
        AdminCommand::TriggerSecret => {
            println!("{}", store.installation_secret("trigger-signing").await?);
        }
    }
    store.close().await;
    Ok(())
}
