//! The git smart-HTTP transport, independent of the HTTP server: which service a request asks
//! for, the advertisement header, and spawning `git upload-pack` / `git receive-pack` in
//! stateless-RPC mode with piped standard input and output that the server streams.

use std::process::Stdio;

use tokio::process::Child;

use crate::git::GitRepos;

/// The two git services of smart HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GitService {
    UploadPack,
    ReceivePack,
}

impl GitService {
    /// From `git-upload-pack` / `git-receive-pack` (query `service=` or the POST path).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "git-upload-pack" => Some(Self::UploadPack),
            "git-receive-pack" => Some(Self::ReceivePack),
            _ => None,
        }
    }

    /// `upload-pack` / `receive-pack`.
    pub fn command(self) -> &'static str {
        match self {
            Self::UploadPack => "upload-pack",
            Self::ReceivePack => "receive-pack",
        }
    }

    /// `git-upload-pack` / `git-receive-pack`.
    pub fn name(self) -> &'static str {
        match self {
            Self::UploadPack => "git-upload-pack",
            Self::ReceivePack => "git-receive-pack",
        }
    }

    /// Content type of the `info/refs` answer.
    pub fn advertisement_content_type(self) -> &'static str {
        match self {
            Self::UploadPack => "application/x-git-upload-pack-advertisement",
            Self::ReceivePack => "application/x-git-receive-pack-advertisement",
        }
    }

    /// Content type a client must send with the POST.
    pub fn request_content_type(self) -> &'static str {
        match self {
            Self::UploadPack => "application/x-git-upload-pack-request",
            Self::ReceivePack => "application/x-git-receive-pack-request",
        }
    }

    /// Content type of the POST answer.
    pub fn result_content_type(self) -> &'static str {
        match self {
            Self::UploadPack => "application/x-git-upload-pack-result",
            Self::ReceivePack => "application/x-git-receive-pack-result",
        }
    }
}

/// Whether the client asked for protocol v2 (`Git-Protocol: version=2`).
pub fn wants_v2(git_protocol: Option<&str>) -> bool {
    git_protocol.is_some_and(|p| p.split(':').any(|kv| kv.trim() == "version=2"))
}

/// The pkt-line `# service=...` header and flush that precede a v0/v1 advertisement (v2
/// advertisements have none).
pub fn advertisement_prefix(service: GitService, git_protocol: Option<&str>) -> Vec<u8> {
    if wants_v2(git_protocol) && service == GitService::UploadPack {
        return Vec::new();
    }
    let line = format!("# service={}\n", service.name());
    let mut out = format!("{:04x}{line}", line.len() + 4).into_bytes();
    out.extend_from_slice(b"0000");
    out
}

/// Starts the git service for repository `id`; `advertise` for `info/refs`. Standard input
/// and output are piped; standard error is piped for the caller to log.
pub fn spawn(
    repos: &GitRepos,
    id: &str,
    service: GitService,
    advertise: bool,
    git_protocol: Option<&str>,
) -> std::io::Result<Child> {
    let mut cmd = repos.command(id);
    cmd.arg(service.command()).arg("--stateless-rpc");
    if advertise {
        cmd.arg("--advertise-refs");
    }
    cmd.arg(".");
    if let Some(p) = git_protocol
        .filter(|p| p.len() < 256 && p.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
    {
        cmd.env("GIT_PROTOCOL", p);
    }
    cmd.stdin(if advertise {
        Stdio::null()
    } else {
        Stdio::piped()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertisement_header() {
        assert_eq!(
            advertisement_prefix(GitService::UploadPack, None),
            b"001e# service=git-upload-pack\n0000".to_vec()
        );
        assert!(advertisement_prefix(GitService::UploadPack, Some("version=2")).is_empty());
        assert_eq!(
            advertisement_prefix(GitService::ReceivePack, Some("version=2")),
            b"001f# service=git-receive-pack\n0000".to_vec()
        );
        assert_eq!(
            GitService::from_name("git-receive-pack"),
            Some(GitService::ReceivePack)
        );
        assert_eq!(GitService::from_name("git-evil"), None);
    }
}
