//! The `ferry` binary: `ferry serve` runs the server, `ferry admin ...` manages users, access
//! keys and git credentials in a data dir's database, `ferry agent` runs the deployment agent
//! of a host (without any server code, on a single-threaded runtime).

mod admin;
mod agent;
mod settings;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Self-hosted AWS developer tools: git hosting, packages, builds, deployments, pipelines"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(settings::ServeArgs),
    /// Manage users, access keys and git credentials.
    Admin(admin::AdminArgs),
    /// Run the deployment agent of this host against a Ferry server.
    Agent(agent::AgentArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let server_runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    match cli.command {
        Command::Serve(args) => server_runtime()?.block_on(serve(args)),
        Command::Admin(args) => server_runtime()?.block_on(admin::run(args)),
        Command::Agent(args) => agent::run(args),
    }
}

async fn serve(args: settings::ServeArgs) -> Result<()> {
    let resolved = settings::resolve(args)?;
    settings::init_logging(&resolved.log_level, resolved.log_json);
    let ferry = ferry_server::start(resolved.server).await?;
    if let Some((akid, secret)) = &ferry.generated_root_key {
        println!(
            "Ferry generated root credentials (also written to root-credentials in the data dir):"
        );
        println!("  aws_access_key_id = {akid}");
        println!("  aws_secret_access_key = {secret}");
    }
    if let Some(ssh) = ferry.ssh_addr {
        println!("Ferry SSH listening on {ssh}");
    }
    println!(
        "Ferry listening on {} (account {})",
        ferry.public_url, ferry.account_id
    );
    let stop = ferry.stop_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop.send(true);
    });
    ferry.wait().await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("can install a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
