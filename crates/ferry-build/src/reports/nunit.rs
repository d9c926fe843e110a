//! NUnit XML: NUnit 2 (`NUNITXML`, root `<test-results>`) and NUnit 3 (`NUNIT3XML`, root
//! `<test-run>`). `<test-suite>` elements nest (assembly, namespace, fixture, parameterized
//! method); every `<test-case>` at any depth is one test case.
//!
//! Mapping (CodeBuild's own NUnit example in the AWS CLI reference for `describe-test-cases`
//! shows prefix `NUnit.Tests.Assemblies.MockTestFixture`, name
//! `NUnit.Tests.Assemblies.MockTestFixture.NotRunnableTest`, status `ERROR` for a
//! not-runnable test and message `"<message>\n<stack trace>"`):
//! - name: the case's full name (NUnit 2 `name`, NUnit 3 `fullname`);
//! - prefix: the fixture's full name (NUnit 3 `classname`; otherwise the full name up to its
//!   last `.` before any argument list);
//! - testSuiteName: the nearest enclosing `TestFixture` suite's `name` (else the nearest suite);
//! - duration: NUnit 2 `time` / NUnit 3 `duration`, seconds;
//! - status, NUnit 2 `result`: Success → SUCCEEDED, Failure → FAILED, Error and NotRunnable →
//!   ERROR, Ignored and Skipped → SKIPPED, anything else (Inconclusive, Cancelled) → UNKNOWN;
//!   files without `result` (NUnit 2.2) use `executed="False"` → SKIPPED, else `success`.
//!   NUnit 3 `result`: Passed → SUCCEEDED, Failed → FAILED unless `label` is Error or Invalid
//!   (→ ERROR), Skipped → SKIPPED, anything else (Inconclusive, Warning) → UNKNOWN;
//! - message: `<failure>` or `<reason>`: its `<message>` text, a newline, its `<stack-trace>`
//!   text, kept as written.

use super::xml::{self, Ev, Xml};
use super::{ERROR, FAILED, Res, SKIPPED, SUCCEEDED, TestCaseResult, UNKNOWN};
use quick_xml::events::BytesStart;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    V2,
    V3,
}

pub(crate) fn parse_v2(bytes: &[u8], raw_path: &str) -> Res<Vec<TestCaseResult>> {
    parse(bytes, raw_path, Version::V2)
}

pub(crate) fn parse_v3(bytes: &[u8], raw_path: &str) -> Res<Vec<TestCaseResult>> {
    parse(bytes, raw_path, Version::V3)
}

/// An open container: a `<test-suite>` (name, type) or another element we descend into.
struct Suite {
    name: Option<String>,
    kind: Option<String>,
}

fn parse(bytes: &[u8], raw_path: &str, version: Version) -> Res<Vec<TestCaseResult>> {
    let text = super::utf8_text(bytes)?;
    let mut x = Xml::new(&text);
    let root_name = match version {
        Version::V2 => "test-results",
        Version::V3 => "test-run",
    };
    xml::root(&mut x, &[root_name])?;
    let mut stack: Vec<Suite> = vec![Suite {
        name: None,
        kind: None,
    }];
    let mut out = Vec::new();
    loop {
        match x.next()? {
            Ev::Open(e) => match xml::name(&e) {
                b"test-suite" => stack.push(Suite {
                    name: super::non_empty(x.attr(&e, "name")?),
                    kind: x.attr(&e, "type")?,
                }),
                // NUnit 2 wraps a suite's children in <results>.
                b"results" => stack.push(Suite {
                    name: None,
                    kind: None,
                }),
                b"test-case" => {
                    let suite = suite_name(&stack);
                    let case = test_case(&mut x, &e, raw_path, suite, version)?;
                    super::push_case(&mut out, case)?;
                }
                _ => x.skip_element()?,
            },
            Ev::Close => {
                stack.pop();
            }
            Ev::Text(_) => {}
            Ev::Eof => break,
        }
    }
    Ok(out)
}

fn suite_name(stack: &[Suite]) -> Option<String> {
    stack
        .iter()
        .rev()
        .find(|s| s.kind.as_deref() == Some("TestFixture") && s.name.is_some())
        .or_else(|| stack.iter().rev().find(|s| s.name.is_some()))
        .and_then(|s| s.name.clone())
}

fn test_case(
    x: &mut Xml<'_>,
    e: &BytesStart<'_>,
    raw_path: &str,
    suite: Option<String>,
    version: Version,
) -> Res<TestCaseResult> {
    let short_name = x.attr(e, "name")?;
    let (name, prefix, duration) = match version {
        Version::V2 => {
            let name = short_name.unwrap_or_default();
            let prefix = fixture_of(&name);
            (name, prefix, x.attr(e, "time")?)
        }
        Version::V3 => {
            let name = super::non_empty(x.attr(e, "fullname")?)
                .or(short_name)
                .unwrap_or_default();
            let prefix = super::non_empty(x.attr(e, "classname")?).or_else(|| fixture_of(&name));
            (name, prefix, x.attr(e, "duration")?)
        }
    };
    let status = match version {
        Version::V2 => {
            let result = x.attr(e, "result")?;
            match result.as_deref() {
                Some("Success") => SUCCEEDED,
                Some("Failure") => FAILED,
                Some("Error" | "NotRunnable") => ERROR,
                Some("Ignored" | "Skipped") => SKIPPED,
                Some(_) => UNKNOWN,
                None => {
                    let executed = x.attr(e, "executed")?;
                    let success = x.attr(e, "success")?;
                    if is_false(executed.as_deref()) {
                        SKIPPED
                    } else if is_false(success.as_deref()) {
                        FAILED
                    } else if success.is_some() {
                        SUCCEEDED
                    } else {
                        UNKNOWN
                    }
                }
            }
        }
        Version::V3 => {
            let result = x.attr(e, "result")?;
            let label = x.attr(e, "label")?;
            match result.as_deref() {
                Some("Passed") => SUCCEEDED,
                Some("Failed") if matches!(label.as_deref(), Some("Error" | "Invalid")) => ERROR,
                Some("Failed") => FAILED,
                Some("Skipped") => SKIPPED,
                _ => UNKNOWN,
            }
        }
    };
    let mut message = None;
    loop {
        match x.next()? {
            Ev::Open(child) => match xml::name(&child) {
                b"failure" | b"reason" => {
                    let (text, stack) = message_and_stack(x)?;
                    if message.is_none() && (!text.is_empty() || !stack.is_empty()) {
                        message = Some(super::truncate(format!("{text}\n{stack}")));
                    }
                }
                _ => x.skip_element()?,
            },
            Ev::Close => break,
            Ev::Text(_) => {}
            Ev::Eof => return Err("unexpected end of file inside <test-case>".to_owned()),
        }
    }
    Ok(TestCaseResult {
        test_raw_data_path: raw_path.to_owned(),
        prefix,
        name,
        status: status.to_owned(),
        duration_in_nano_seconds: duration.map(|d| super::seconds_to_nanos(&d)).unwrap_or(0),
        message,
        test_suite_name: suite,
    })
}

/// The `<message>` and `<stack-trace>` texts of a `<failure>` / `<reason>` just opened.
fn message_and_stack(x: &mut Xml<'_>) -> Res<(String, String)> {
    let mut message = String::new();
    let mut stack = String::new();
    loop {
        match x.next()? {
            Ev::Open(child) => match xml::name(&child) {
                b"message" => message = x.element_text()?,
                b"stack-trace" => stack = x.element_text()?,
                _ => x.skip_element()?,
            },
            Ev::Close => return Ok((message, stack)),
            Ev::Text(_) => {}
            Ev::Eof => return Err("unexpected end of file inside <failure>".to_owned()),
        }
    }
}

fn is_false(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.eq_ignore_ascii_case("false"))
}

/// `Ns.Fixture.Method(1, "a.b")` → `Ns.Fixture`: everything before the last `.` that comes
/// before the argument list.
fn fixture_of(full_name: &str) -> Option<String> {
    let head = full_name.split('(').next().unwrap_or(full_name);
    head.rfind('.')
        .map(|i| head[..i].to_owned())
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixture_names() {
        assert_eq!(super::fixture_of("A.B.C").as_deref(), Some("A.B"));
        assert_eq!(
            super::fixture_of("A.B.C(1.5,\"x.y\")").as_deref(),
            Some("A.B")
        );
        assert_eq!(super::fixture_of("C"), None);
    }
}
