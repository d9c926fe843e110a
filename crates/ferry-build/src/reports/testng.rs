//! TestNG XML (`TESTNGXML`, `testng-results.xml`): `<testng-results>` → `<suite>` → `<test>` →
//! `<class>` → `<test-method>`.
//!
//! Each `<test-method>` that is not a configuration method (`is-config="true"`: @Before/@After
//! methods, which TestNG's own totals leave out) is one test case: `name` → name, the
//! enclosing `<class name>` → prefix, the enclosing `<suite name>` → testSuiteName,
//! `duration-ms` → durationInNanoSeconds; `status` PASS → SUCCEEDED, FAIL → FAILED, SKIP →
//! SKIPPED, anything else → UNKNOWN; message: the `<exception>`'s `<message>` (or its class when
//! it has none), then its `<full-stacktrace>` on the next line.

use super::xml::{self, Ev, Xml};
use super::{FAILED, Res, SKIPPED, SUCCEEDED, TestCaseResult, UNKNOWN};
use quick_xml::events::BytesStart;

enum Level {
    Suite(Option<String>),
    Class(Option<String>),
    Other,
}

pub(crate) fn parse(bytes: &[u8], raw_path: &str) -> Res<Vec<TestCaseResult>> {
    let text = super::utf8_text(bytes)?;
    let mut x = Xml::new(&text);
    xml::root(&mut x, &["testng-results"])?;
    let mut stack = vec![Level::Other];
    let mut out = Vec::new();
    loop {
        match x.next()? {
            Ev::Open(e) => match xml::name(&e) {
                b"suite" => stack.push(Level::Suite(super::non_empty(x.attr(&e, "name")?))),
                b"test" => stack.push(Level::Other),
                b"class" => stack.push(Level::Class(super::non_empty(x.attr(&e, "name")?))),
                b"test-method" => {
                    let suite = stack.iter().rev().find_map(|l| match l {
                        Level::Suite(name) => Some(name.clone()),
                        _ => None,
                    });
                    let class = stack.iter().rev().find_map(|l| match l {
                        Level::Class(name) => Some(name.clone()),
                        _ => None,
                    });
                    if let Some(case) =
                        test_method(&mut x, &e, raw_path, class.flatten(), suite.flatten())?
                    {
                        super::push_case(&mut out, case)?;
                    }
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

fn test_method(
    x: &mut Xml<'_>,
    e: &BytesStart<'_>,
    raw_path: &str,
    class: Option<String>,
    suite: Option<String>,
) -> Res<Option<TestCaseResult>> {
    let is_config = x
        .attr(e, "is-config")?
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if is_config {
        x.skip_element()?;
        return Ok(None);
    }
    let name = x.attr(e, "name")?.unwrap_or_default();
    let status = match x.attr(e, "status")?.as_deref() {
        Some("PASS") => SUCCEEDED,
        Some("FAIL") => FAILED,
        Some("SKIP") => SKIPPED,
        _ => UNKNOWN,
    };
    let duration = x
        .attr(e, "duration-ms")?
        .map(|ms| super::float_nanos(ms.trim().parse::<f64>().unwrap_or(0.0) * 1e6))
        .unwrap_or(0);
    let mut message = None;
    loop {
        match x.next()? {
            Ev::Open(child) if xml::name(&child) == b"exception" => {
                let class = x.attr(&child, "class")?;
                let mut text = String::new();
                let mut stack = String::new();
                loop {
                    match x.next()? {
                        Ev::Open(part) => match xml::name(&part) {
                            b"message" => text = x.element_text()?,
                            b"full-stacktrace" => stack = x.element_text()?,
                            _ => x.skip_element()?,
                        },
                        Ev::Close => break,
                        Ev::Text(_) => {}
                        Ev::Eof => return Err("unexpected end of file inside <exception>".into()),
                    }
                }
                let head = if text.trim().is_empty() {
                    class.unwrap_or_default()
                } else {
                    text
                };
                message = super::join_message(Some(&head), Some(&stack));
            }
            Ev::Open(_) => x.skip_element()?,
            Ev::Close => break,
            Ev::Text(_) => {}
            Ev::Eof => return Err("unexpected end of file inside <test-method>".to_owned()),
        }
    }
    Ok(Some(TestCaseResult {
        test_raw_data_path: raw_path.to_owned(),
        prefix: class,
        name,
        status: status.to_owned(),
        duration_in_nano_seconds: duration,
        message,
        test_suite_name: suite,
    }))
}
