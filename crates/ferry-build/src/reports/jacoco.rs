//! JaCoCo XML (`JACOCOXML`, `jacoco.xml`): `<report>` → `<group>`* → `<package name>` →
//! `<sourcefile name>` with `<line nr mi ci mb cb>` and `<counter type missed covered>`.
//!
//! One entry per `<sourcefile>`, path `<package name>/<sourcefile name>` (e.g.
//! `com/example/Calc.java`; just the file name in the default package). Lines from the
//! sourcefile's `LINE` counter, branches from its `BRANCH` counter (JaCoCo omits counters that
//! would be 0/0, which reads as 0 covered / 0 missed). Without counters, the `<line>` elements
//! are counted: a line with `ci > 0` is covered, one with only `mi > 0` missed; `cb`/`mb` are
//! summed as branches. The `<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN"
//! "report.dtd">` JaCoCo writes is accepted and not fetched.

use super::xml::{self, Ev, Xml};
use super::{FileCoverage, Res};

enum Level {
    Container,
    Package(String),
    SourceFile(Box<Acc>),
}

#[derive(Default)]
struct Acc {
    path: String,
    line_counter: Option<(i64, i64)>,
    branch_counter: Option<(i64, i64)>,
    lines: (i64, i64),
    branches: (i64, i64),
}

pub(crate) fn parse(bytes: &[u8]) -> Res<Vec<FileCoverage>> {
    let text = super::utf8_text(bytes)?;
    let mut x = Xml::new(&text);
    xml::root(&mut x, &["report"])?;
    let mut stack = vec![Level::Container];
    let mut out = Vec::new();
    loop {
        match x.next()? {
            Ev::Open(e) => {
                let name = xml::name(&e);
                match (stack.last(), name) {
                    (Some(Level::Container), b"group") => stack.push(Level::Container),
                    (Some(Level::Container), b"package") => {
                        let package = x.attr(&e, "name")?.unwrap_or_default();
                        stack.push(Level::Package(package));
                    }
                    (Some(Level::Package(package)), b"sourcefile") => {
                        let file = x.attr(&e, "name")?.unwrap_or_default();
                        let path = if package.is_empty() {
                            file
                        } else {
                            format!("{}/{file}", package.trim_end_matches('/'))
                        };
                        stack.push(Level::SourceFile(Box::new(Acc {
                            path,
                            ..Acc::default()
                        })));
                    }
                    (Some(Level::SourceFile(_)), b"counter") => {
                        let kind = x.attr(&e, "type")?;
                        let missed = xml::int(x.attr(&e, "missed")?.as_deref(), "missed")?;
                        let covered = xml::int(x.attr(&e, "covered")?.as_deref(), "covered")?;
                        let counts = (covered.unwrap_or(0), missed.unwrap_or(0));
                        if let Some(Level::SourceFile(acc)) = stack.last_mut() {
                            match kind.as_deref() {
                                Some("LINE") => acc.line_counter = Some(counts),
                                Some("BRANCH") => acc.branch_counter = Some(counts),
                                _ => {}
                            }
                        }
                        x.skip_element()?;
                    }
                    (Some(Level::SourceFile(_)), b"line") => {
                        let get = |x: &Xml<'_>, n: &str| -> Res<i64> {
                            Ok(xml::int(x.attr(&e, n)?.as_deref(), n)?.unwrap_or(0))
                        };
                        let (mi, ci, mb, cb) = (
                            get(&x, "mi")?,
                            get(&x, "ci")?,
                            get(&x, "mb")?,
                            get(&x, "cb")?,
                        );
                        if let Some(Level::SourceFile(acc)) = stack.last_mut() {
                            if ci > 0 {
                                acc.lines.0 += 1;
                            } else if mi > 0 {
                                acc.lines.1 += 1;
                            }
                            acc.branches.0 += cb;
                            acc.branches.1 += mb;
                        }
                        x.skip_element()?;
                    }
                    _ => x.skip_element()?,
                }
            }
            Ev::Close => {
                if let Some(Level::SourceFile(acc)) = stack.pop() {
                    let lines = acc.line_counter.unwrap_or(acc.lines);
                    let branches = acc.branch_counter.unwrap_or(acc.branches);
                    out.push(FileCoverage::from_counts(
                        acc.path,
                        Some(lines),
                        Some(branches),
                    ));
                    super::check_file_count(out.len())?;
                }
            }
            Ev::Text(_) => {}
            Ev::Eof => break,
        }
    }
    Ok(out)
}
