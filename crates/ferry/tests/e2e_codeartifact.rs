//! CodeArtifact with boto3 against `ferry serve` (`tests/e2e/codeartifact_api.py`): domains,
//! repositories, upstreams, external connections, tokens, endpoints, generic packages and the
//! version lifecycle, copies, tags and policies; package groups (`codeartifact_groups.py`); the
//! real npm CLI (`codeartifact_npm.py`); files of hundreds of megabytes
//! (`codeartifact_large.py`); twine
//! and pip (`codeartifact_pypi.py`); mvn (`codeartifact_maven.py`); cargo (`codeartifact_cargo.py`);
//! external connections to a registry the script serves (`codeartifact_external.py`) —
//! on SQLite and, when configured, PostgreSQL.

mod common;

use common::{Server, backends};

#[test]
fn the_control_plane_and_generic_packages() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codeartifact_api.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn npm_publishes_and_installs_through_upstreams() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codeartifact_npm.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn package_groups_govern_publishing_and_upstreams() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codeartifact_groups.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn large_files_stream_through_without_filling_memory() {
    for db in backends() {
        let s = Server::start(db);
        let pid = s.pid().to_string();
        let out = s.python("codeartifact_large.py", &[("FERRY_PID", &pid)]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
        println!("{}", out.lines().find(|l| l.contains("peak")).unwrap_or(""));
    }
}

#[test]
fn twine_uploads_and_pip_installs_through_upstreams() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codeartifact_pypi.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn mvn_deploys_and_resolves_through_upstreams() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codeartifact_maven.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn cargo_publishes_builds_and_yanks_through_upstreams() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codeartifact_cargo.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn external_connections_fetch_lazily_from_a_configured_upstream() {
    for db in backends() {
        // The upstream registry is served by the script on a port chosen here, because the
        // server reads its external connections at start.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let connections = format!(
            "public:npmjs=http://127.0.0.1:{port}/npm/,public:pypi=http://127.0.0.1:{port}/pypi/,\
             public:maven-central=http://127.0.0.1:{port}/maven/,public:crates-io=http://127.0.0.1:{port}/cargo/"
        );
        let s = Server::start_with_env(
            db,
            &[
                ("FERRY_EXTERNAL_CONNECTIONS", &connections),
                ("FERRY_EXTERNAL_METADATA_TTL_SECS", "2"),
            ],
        );
        let out = s.python(
            "codeartifact_external.py",
            &[("UPSTREAM_PORT", &port.to_string())],
        );
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}
