//! JUnit XML (`JUNITXML`): Ant / Maven Surefire `TEST-*.xml`, pytest `--junitxml`,
//! jest-junit, Gradle, and other producers of the same shape.
//!
//! Root `<testsuites>` or a single `<testsuite>`; suites may nest. Each `<testcase>` is one
//! test case:
//! - `name` → name, `classname` → prefix, nearest enclosing `<testsuite name>` →
//!   testSuiteName, `time` (seconds, `1,234.5` tolerated) → durationInNanoSeconds;
//! - status: a `<failure>` child → FAILED, `<error>` → ERROR, `<skipped>` → SKIPPED (the first
//!   of these in that order of precedence when several are present, e.g. pytest's failing test
//!   with a teardown error), otherwise SUCCEEDED. Surefire's `<flakyFailure>`/`<flakyError>`
//!   (passed on a rerun) and `<rerunFailure>`/`<rerunError>` do not change the status;
//! - message: the chosen element's `message` attribute, then its text (the stack trace / pytest
//!   traceback / skip reason) on the next line.

use super::xml::{self, Ev, Xml};
use super::{FAILED, Res, SKIPPED, SUCCEEDED, TestCaseResult};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Passed,
    Skipped,
    Error,
    Failed,
}

pub(crate) fn parse(bytes: &[u8], raw_path: &str) -> Res<Vec<TestCaseResult>> {
    let text = super::utf8_text(bytes)?;
    let mut x = Xml::new(&text);
    let root = xml::root(&mut x, &["testsuites", "testsuite"])?;
    let mut out = Vec::new();
    // Names of the open <testsuite> elements (None for the <testsuites> root / unnamed).
    let mut suites: Vec<Option<String>> = Vec::new();
    open_suite(&x, &root, &mut suites)?;
    loop {
        match x.next()? {
            Ev::Open(e) => match xml::name(&e) {
                b"testsuite" | b"testsuites" => open_suite(&x, &e, &mut suites)?,
                b"testcase" => {
                    let suite = suites.iter().rev().flatten().next().cloned();
                    let case = test_case(&mut x, &e, raw_path, suite)?;
                    super::push_case(&mut out, case)?;
                }
                _ => x.skip_element()?,
            },
            Ev::Close => {
                suites.pop();
            }
            Ev::Text(_) => {}
            Ev::Eof => break,
        }
    }
    Ok(out)
}

fn open_suite(
    x: &Xml<'_>,
    e: &quick_xml::events::BytesStart<'_>,
    suites: &mut Vec<Option<String>>,
) -> Res<()> {
    let name = if xml::name(e) == b"testsuite" {
        super::non_empty(x.attr(e, "name")?)
    } else {
        None
    };
    suites.push(name);
    Ok(())
}

/// Reads one `<testcase>` (just opened) through its close tag.
fn test_case(
    x: &mut Xml<'_>,
    e: &quick_xml::events::BytesStart<'_>,
    raw_path: &str,
    suite: Option<String>,
) -> Res<TestCaseResult> {
    let name = x.attr(e, "name")?.unwrap_or_default();
    let prefix = super::non_empty(x.attr(e, "classname")?);
    let duration = x
        .attr(e, "time")?
        .map(|t| super::seconds_to_nanos(&t))
        .unwrap_or(0);
    let mut outcome = Outcome::Passed;
    let mut message = None;
    loop {
        match x.next()? {
            Ev::Open(child) => {
                let kind = match xml::name(&child) {
                    b"failure" => Some(Outcome::Failed),
                    b"error" => Some(Outcome::Error),
                    b"skipped" => Some(Outcome::Skipped),
                    _ => None,
                };
                match kind {
                    Some(kind) => {
                        let attr_message = x.attr(&child, "message")?;
                        let body = x.element_text()?;
                        if kind > outcome {
                            outcome = kind;
                            message = super::join_message(attr_message.as_deref(), Some(&body));
                        }
                    }
                    None => x.skip_element()?,
                }
            }
            Ev::Close => break,
            Ev::Text(_) => {}
            Ev::Eof => return Err("unexpected end of file inside <testcase>".to_owned()),
        }
    }
    let status = match outcome {
        Outcome::Passed => SUCCEEDED,
        Outcome::Skipped => SKIPPED,
        Outcome::Error => super::ERROR,
        Outcome::Failed => FAILED,
    };
    Ok(TestCaseResult {
        test_raw_data_path: raw_path.to_owned(),
        prefix,
        name,
        status: status.to_owned(),
        duration_in_nano_seconds: duration,
        message,
        test_suite_name: suite,
    })
}
