//! The web console in a real browser (`tests/e2e/console_browser.py`: headless Chromium through
//! ChromeDriver) against `ferry serve` started with `FERRY_ROOT_PASSWORD`, on SQLite and, when
//! configured, PostgreSQL. Screenshots land in `target/console-screenshots/<backend>/`.

mod common;

use common::{Server, backends};

const PASSWORD: &str = "console-test-password";

#[test]
fn sign_in_browse_a_repository_and_sign_out_in_a_browser() {
    for db in backends() {
        let backend = if db.is_some() { "postgres" } else { "sqlite" };
        let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/console-screenshots")
            .join(backend);
        let s = Server::start_with_env(db, &[("FERRY_ROOT_PASSWORD", PASSWORD)]);
        let out = s.python(
            "console_browser.py",
            &[
                ("FERRY_ROOT_PASSWORD", PASSWORD),
                ("FERRY_SCREENSHOTS", shots.to_str().expect("utf-8 path")),
            ],
        );
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}
