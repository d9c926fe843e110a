//! Git over SSH: `git clone ssh://<key-id>@<host>:<port>/v1/repos/<name>`. Public-key
//! authentication only, against the keys registered for a user (`ferry admin add-ssh-key`); the
//! login is the key's id (`APKA...`, as CodeCommit's SSH key ids) or the user's name. The only
//! commands served are `git-upload-pack` and `git-receive-pack` on a repository path; pushes run
//! under the repository's lock and are recorded like pushes over HTTP.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use ferry_commit::transport::GitService;
use russh::keys::PrivateKey;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::{LineEnding, PublicKey};
use russh::server::{Auth, Handler, Msg, Server, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tokio::io::AsyncWriteExt;

use crate::state::SharedState;

/// Loads `<data-dir>/ssh_host_ed25519_key`, creating it on first start.
pub fn host_key(dir: &Path) -> std::io::Result<PrivateKey> {
    let path = dir.join("ssh_host_ed25519_key");
    match std::fs::read_to_string(&path) {
        Ok(text) => PrivateKey::from_openssh(text).map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
            let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
            let text = key
                .to_openssh(LineEnding::LF)
                .map_err(std::io::Error::other)?;
            ferry_store::secret::write_private(&path, text.as_bytes())
                .map_err(std::io::Error::other)?;
            Ok(key)
        }
        Err(e) => Err(e),
    }
}

/// Starts the SSH listener in the background; returns the bound address.
pub async fn start(
    st: SharedState,
    listen: SocketAddr,
    key: PrivateKey,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let mut methods = MethodSet::empty();
    methods.push(MethodKind::PublicKey);
    let config = Arc::new(russh::server::Config {
        methods,
        keys: vec![key],
        auth_rejection_time: std::time::Duration::from_millis(200),
        auth_rejection_time_initial: Some(std::time::Duration::from_millis(0)),
        inactivity_timeout: Some(std::time::Duration::from_secs(600)),
        ..Default::default()
    });
    let mut server = SshServer { st };
    tokio::spawn(async move {
        if let Err(e) = server.run_on_socket(config, &listener).await {
            tracing::error!(error = %e, "ssh server stopped");
        }
    });
    Ok(addr)
}

#[derive(Clone)]
struct SshServer {
    st: SharedState,
}

impl Server for SshServer {
    type Handler = Connection;
    fn new_client(&mut self, _: Option<SocketAddr>) -> Connection {
        Connection {
            st: self.st.clone(),
            principal: None,
            channels: Vec::new(),
            git_protocol: None,
        }
    }
}

struct Connection {
    st: SharedState,
    principal: Option<ferry_store::identity::Principal>,
    channels: Vec<Channel<Msg>>,
    git_protocol: Option<String>,
}

/// `git-upload-pack '/v1/repos/name'` → (service, repository name).
fn parse_command(command: &str) -> Option<(GitService, String)> {
    let (program, arg) = command.trim().split_once(' ')?;
    let service = match program {
        "git-upload-pack" => GitService::UploadPack,
        "git-receive-pack" => GitService::ReceivePack,
        _ => return None,
    };
    let path = arg.trim().trim_matches('\'').trim_matches('"');
    let path = path.strip_prefix('/').unwrap_or(path);
    let name = path.strip_prefix("v1/repos/")?;
    let name = name.strip_suffix('/').unwrap_or(name);
    let name = name.strip_suffix(".git").unwrap_or(name);
    ferry_commit::names::valid_repository_name(name).then(|| (service, name.to_owned()))
}

impl Handler for Connection {
    type Error = russh::Error;

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let Ok(keys) = self.st.store.ssh_keys_for(user).await else {
            return Ok(Auth::reject());
        };
        for (_, stored, principal) in keys {
            if let Ok(k) = PublicKey::from_openssh(&stored)
                && k.key_data() == key.public_key.key_data()
            {
                self.principal = Some(principal);
                return Ok(Auth::Accept);
            }
        }
        Ok(Auth::reject())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.push(channel);
        reply.accept().await;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if name == "GIT_PROTOCOL" {
            self.git_protocol = Some(value.to_owned());
            session.channel_success(channel)?;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel_id: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let command = String::from_utf8_lossy(data).into_owned();
        let Some(pos) = self.channels.iter().position(|c| c.id() == channel_id) else {
            session.channel_failure(channel_id)?;
            return Ok(());
        };
        let channel = self.channels.swap_remove(pos);
        let Some(principal) = self.principal.clone() else {
            session.channel_failure(channel_id)?;
            return Ok(());
        };
        let Some((service, name)) = parse_command(&command) else {
            session.channel_failure(channel_id)?;
            tracing::info!(command, "ssh: refused command");
            return Ok(());
        };
        session.channel_success(channel_id)?;
        let st = self.st.clone();
        let proto = self.git_protocol.clone();
        tokio::spawn(async move { serve(st, channel, service, name, principal, proto).await });
        Ok(())
    }
}

async fn serve(
    st: SharedState,
    channel: Channel<Msg>,
    service: GitService,
    name: String,
    principal: ferry_store::identity::Principal,
    proto: Option<String>,
) {
    let (mut read, write) = channel.split();
    let Some(repo) = st.commit.repository_for_git(&name).await else {
        fail(&write, format!("repository '{name}' does not exist")).await;
        return;
    };
    let change = if service == GitService::ReceivePack {
        match st.commit.begin_ref_change(&repo).await {
            Ok(c) => Some(c.by(&principal.arn)),
            Err(e) => {
                fail(&write, format!("internal error: {e}")).await;
                return;
            }
        }
    } else {
        None
    };
    tracing::info!(repository = %repo.name, user = %principal.user_name, service = service.name(), "git over ssh");
    let mut cmd = st.commit.git.command(&repo.id);
    cmd.arg(service.command()).arg(".");
    if let Some(p) = proto.filter(|p| p.len() < 256) {
        cmd.env("GIT_PROTOCOL", p);
    }
    let child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            fail(&write, format!("cannot start git: {e}")).await;
            return;
        }
    };
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let mut out = write.make_writer();
    let mut err_out = write.make_writer_ext(Some(1));
    let input = async {
        let _ = tokio::io::copy(&mut read.make_reader(), &mut stdin).await;
        let _ = stdin.shutdown().await;
        drop(stdin);
    };
    let output = async {
        let _ = tokio::io::copy(&mut stdout, &mut out).await;
        let _ = out.flush().await;
    };
    let errors = async {
        let _ = tokio::io::copy(&mut stderr, &mut err_out).await;
        let _ = err_out.flush().await;
    };
    // Git's exit ends the exchange even if the client still has its side open.
    let status = tokio::select! {
        s = async {
            tokio::join!(output, errors);
            child.wait().await
        } => s,
        _ = async {
            input.await;
            std::future::pending::<()>().await
        } => unreachable!(),
    };
    if let Some(change) = change
        && let Err(e) = st.commit.finish_ref_change(change).await
    {
        tracing::error!(repository = %repo.name, error = %e, "cannot record push");
    }
    let code = status.ok().and_then(|s| s.code()).unwrap_or(1) as u32;
    let _ = write.exit_status(code).await;
    let _ = write.eof().await;
    let _ = write.close().await;
}

/// Tells the client why, on standard error, and ends the channel with a failure status.
async fn fail(write: &russh::ChannelWriteHalf<Msg>, msg: String) {
    let mut err = write.make_writer_ext(Some(1));
    let _ = err.write_all(format!("fatal: {msg}\n").as_bytes()).await;
    let _ = err.flush().await;
    let _ = write.exit_status(128).await;
    let _ = write.eof().await;
    let _ = write.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(
            parse_command("git-upload-pack '/v1/repos/app'"),
            Some((GitService::UploadPack, "app".into()))
        );
        assert_eq!(
            parse_command("git-receive-pack 'v1/repos/app.git'"),
            Some((GitService::ReceivePack, "app".into()))
        );
        assert_eq!(parse_command("git-upload-pack '/etc/passwd'"), None);
        assert_eq!(parse_command("rm -rf /"), None);
        assert_eq!(parse_command("git-upload-pack '/v1/repos/../x'"), None);
    }
}
