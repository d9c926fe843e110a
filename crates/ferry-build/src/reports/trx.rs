//! Visual Studio TRX (`VISUALSTUDIOTRX`; `.trx` or `.xml`), as written by `dotnet test
//! --logger trx`, vstest and MSTest: `<TestRun>` → `<Results>` → `<UnitTestResult>`, with the
//! test's class in `<TestDefinitions>` → `<UnitTest id>` → `<TestMethod className>`
//! (definitions usually follow the results, so both are collected and joined by test id).
//!
//! Each top-level result is one test case (the `<InnerResults>` of data-driven tests are part
//! of their parent): `testName` → name, the definition's `className` without the assembly
//! qualification → prefix, the definition's `storage` file name (the test assembly) →
//! testSuiteName, `duration` (`hh:mm:ss.fffffff`) → durationInNanoSeconds; `outcome` Passed →
//! SUCCEEDED, Failed → FAILED, Error / Timeout / Aborted → ERROR, NotExecuted / NotRunnable →
//! SKIPPED, anything else (Inconclusive, Warning, Pending, …) → UNKNOWN; message:
//! `<Output><ErrorInfo>`'s `<Message>`, then its `<StackTrace>` on the next line.

use super::xml::{self, Ev, Xml};
use super::{ERROR, FAILED, Res, SKIPPED, SUCCEEDED, TestCaseResult, UNKNOWN};
use quick_xml::events::BytesStart;
use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Other,
    Results,
    Definitions,
}

struct Definition {
    class_name: Option<String>,
    storage: Option<String>,
}

/// A result before it is joined with its definition.
struct Pending {
    test_id: Option<String>,
    case: TestCaseResult,
}

pub(crate) fn parse(bytes: &[u8], raw_path: &str) -> Res<Vec<TestCaseResult>> {
    let text = super::utf8_text(bytes)?;
    let mut x = Xml::new(&text);
    xml::root(&mut x, &["TestRun"])?;
    let mut stack = vec![Level::Other];
    let mut results: Vec<Pending> = Vec::new();
    let mut definitions: HashMap<String, Definition> = HashMap::new();
    loop {
        match x.next()? {
            Ev::Open(e) => {
                let parent = stack.last().copied().unwrap_or(Level::Other);
                let name = xml::name(&e);
                match (parent, name) {
                    (Level::Other, b"Results") => stack.push(Level::Results),
                    (Level::Other, b"TestDefinitions") => stack.push(Level::Definitions),
                    (Level::Results, n) if n.ends_with(b"TestResult") => {
                        if results.len() >= super::MAX_TEST_CASES {
                            return Err(format!(
                                "more than {} test cases in one file",
                                super::MAX_TEST_CASES
                            ));
                        }
                        results.push(result(&mut x, &e, raw_path)?);
                    }
                    (Level::Definitions, _) => {
                        if definitions.len() >= super::MAX_TEST_CASES {
                            return Err(format!(
                                "more than {} test definitions in one file",
                                super::MAX_TEST_CASES
                            ));
                        }
                        let id = x.attr(&e, "id")?;
                        let def = definition(&mut x, &e)?;
                        if let Some(id) = id {
                            definitions.insert(id, def);
                        }
                    }
                    _ => x.skip_element()?,
                }
            }
            Ev::Close => {
                stack.pop();
            }
            Ev::Text(_) => {}
            Ev::Eof => break,
        }
    }
    let mut out = Vec::with_capacity(results.len());
    for Pending { test_id, mut case } in results {
        if let Some(def) = test_id.as_deref().and_then(|id| definitions.get(id)) {
            case.prefix = def.class_name.clone();
            case.test_suite_name = def.storage.clone();
        }
        super::push_case(&mut out, case)?;
    }
    Ok(out)
}

fn result(x: &mut Xml<'_>, e: &BytesStart<'_>, raw_path: &str) -> Res<Pending> {
    let test_id = x.attr(e, "testId")?;
    let name = x.attr(e, "testName")?.unwrap_or_default();
    let duration = x
        .attr(e, "duration")?
        .map(|d| timespan_nanos(&d))
        .unwrap_or(0);
    let status = match x.attr(e, "outcome")?.as_deref() {
        Some("Passed" | "PassedButRunAborted") => SUCCEEDED,
        Some("Failed") => FAILED,
        Some("Error" | "Timeout" | "Aborted") => ERROR,
        Some("NotExecuted" | "NotRunnable") => SKIPPED,
        _ => UNKNOWN,
    };
    let mut message = None;
    let mut depth = 0usize;
    loop {
        match x.next()? {
            Ev::Open(child) => match xml::name(&child) {
                b"InnerResults" => x.skip_element()?,
                b"ErrorInfo" => {
                    let (text, stack) = error_info(x)?;
                    message = super::join_message(Some(&text), Some(&stack));
                }
                b"Output" => depth += 1,
                _ => x.skip_element()?,
            },
            Ev::Close if depth == 0 => break,
            Ev::Close => depth -= 1,
            Ev::Text(_) => {}
            Ev::Eof => return Err("unexpected end of file inside <UnitTestResult>".to_owned()),
        }
    }
    Ok(Pending {
        test_id,
        case: TestCaseResult {
            test_raw_data_path: raw_path.to_owned(),
            prefix: None,
            name,
            status: status.to_owned(),
            duration_in_nano_seconds: duration,
            message,
            test_suite_name: None,
        },
    })
}

fn error_info(x: &mut Xml<'_>) -> Res<(String, String)> {
    let mut message = String::new();
    let mut stack = String::new();
    loop {
        match x.next()? {
            Ev::Open(part) => match xml::name(&part) {
                b"Message" => message = x.element_text()?,
                b"StackTrace" => stack = x.element_text()?,
                _ => x.skip_element()?,
            },
            Ev::Close => return Ok((message, stack)),
            Ev::Text(_) => {}
            Ev::Eof => return Err("unexpected end of file inside <ErrorInfo>".to_owned()),
        }
    }
}

fn definition(x: &mut Xml<'_>, e: &BytesStart<'_>) -> Res<Definition> {
    let storage = x.attr(e, "storage")?.and_then(|s| {
        let file = s.rsplit(['/', '\\']).next().unwrap_or(&s).to_owned();
        (!file.is_empty()).then_some(file)
    });
    let mut class_name = None;
    loop {
        match x.next()? {
            Ev::Open(child) if xml::name(&child) == b"TestMethod" => {
                class_name = x.attr(&child, "className")?.and_then(|c| {
                    let class = c.split(',').next().unwrap_or("").trim().to_owned();
                    (!class.is_empty()).then_some(class)
                });
                x.skip_element()?;
            }
            Ev::Open(_) => x.skip_element()?,
            Ev::Close => break,
            Ev::Text(_) => {}
            Ev::Eof => return Err("unexpected end of file inside <TestDefinitions>".to_owned()),
        }
    }
    Ok(Definition {
        class_name,
        storage,
    })
}

/// A .NET TimeSpan (`[d.]hh:mm:ss[.fffffff]`) in nanoseconds; 0 when unparseable.
fn timespan_nanos(text: &str) -> i64 {
    let parts: Vec<&str> = text.trim().split(':').collect();
    let [hours, minutes, seconds] = parts.as_slice() else {
        return 0;
    };
    let (days, hours) = match hours.split_once('.') {
        Some((d, h)) => (d, h),
        None => ("0", *hours),
    };
    let whole = |s: &str| s.parse::<u64>().ok();
    let (Some(days), Some(hours), Some(minutes), Ok(seconds)) = (
        whole(days),
        whole(hours),
        whole(minutes),
        seconds.parse::<f64>(),
    ) else {
        return 0;
    };
    let total = ((days * 24 + hours) * 60 + minutes) as f64 * 60.0 + seconds;
    super::float_nanos(total * 1e9)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timespans() {
        assert_eq!(super::timespan_nanos("00:00:00.0012345"), 1_234_500);
        assert_eq!(super::timespan_nanos("00:01:02.5"), 62_500_000_000);
        assert_eq!(super::timespan_nanos("1.00:00:01"), 86_401_000_000_000);
        assert_eq!(super::timespan_nanos("bogus"), 0);
    }
}
