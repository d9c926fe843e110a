//! boto3 breadth and bad-input coverage (`tests/e2e/codecommit_api.py`) against `ferry serve`,
//! on SQLite and, when configured, PostgreSQL.

mod common;

#[test]
fn boto3_codecommit_api_and_bad_input() {
    for db in common::backends() {
        let s = common::Server::start(db);
        let out = s.python("codecommit_api.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn boto3_codecommit_files_and_commits() {
    for db in common::backends() {
        let s = common::Server::start(db);
        let out = s.python("codecommit_content.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn boto3_codecommit_pull_request_life_cycle() {
    for db in common::backends() {
        let s = common::Server::start(db);
        s.admin(&["create-user", "bob"]);
        let key = s.admin(&["create-access-key", "bob"]);
        let field = |name: &str| {
            key.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap()
                .trim()
                .to_owned()
        };
        let (akid, secret) = (
            field("aws_access_key_id = "),
            field("aws_secret_access_key = "),
        );
        let out = s.python(
            "codecommit_pulls.py",
            &[("BOB_AKID", &akid), ("BOB_SECRET", &secret)],
        );
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn https_trigger_delivery_over_tls() {
    // A test certificate authority (trusted by Ferry through SSL_CERT_FILE) and a leaf for 127.0.0.1.
    let certs = tempfile::tempdir().unwrap();
    let p = |n: &str| certs.path().join(n).to_str().unwrap().to_owned();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (ca, ca_key, key, csr, cert, ext) = (
        p("ca.pem"),
        p("ca.key"),
        p("key.pem"),
        p("leaf.csr"),
        p("cert.pem"),
        p("ext.cnf"),
    );
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=Ferry Test CA",
        "-keyout",
        &ca_key,
        "-out",
        &ca,
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &key,
        "-out",
        &csr,
    ]);
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &ext,
        "-out",
        &cert,
    ]);
    for db in common::backends() {
        let s = common::Server::start_with_env(db, &[("SSL_CERT_FILE", &ca)]);
        let out = s.python(
            "codecommit_https_trigger.py",
            &[("TLS_CERT", &cert), ("TLS_KEY", &key)],
        );
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn boto3_companion_logs_parameters_and_secrets() {
    for db in common::backends() {
        let s = common::Server::start(db);
        let out = s.python("companion_json.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}
