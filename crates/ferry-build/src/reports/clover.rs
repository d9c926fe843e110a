//! Clover XML (`CLOVERXML`; OpenClover, PHPUnit `--coverage-clover`, Istanbul/nyc `clover`):
//! `<coverage>` → `<project>` → `<package>`* → `<file name path>` with `<class>`, `<line num
//! type count truecount falsecount>` and the file's own `<metrics statements
//! coveredstatements conditionals coveredconditionals …>`.
//!
//! One entry per `<file>` under `<project>` (the test sources under `<testproject>` are not
//! product code and are left out), path from `path` (OpenClover) or else `name` (PHPUnit and
//! Istanbul put the full path there). Lines = statements: `coveredstatements` covered,
//! `statements − coveredstatements` missed; branches = conditionals likewise. Without a
//! file-level `<metrics>`, the `<line>` elements are counted: `type="stmt"` with `count > 0`
//! covered, else missed; `type="cond"` gives two branches, covered per non-zero
//! `truecount` / `falsecount`.

use super::xml::{self, Ev, Xml};
use super::{FileCoverage, Res};

enum Level {
    Container,
    Project,
    File(Box<Acc>),
}

#[derive(Default)]
struct Acc {
    path: String,
    metrics: Option<((i64, i64), (i64, i64))>,
    lines: (i64, i64),
    branches: (i64, i64),
}

pub(crate) fn parse(bytes: &[u8]) -> Res<Vec<FileCoverage>> {
    let text = super::utf8_text(bytes)?;
    let mut x = Xml::new(&text);
    xml::root(&mut x, &["coverage"])?;
    let mut stack = vec![Level::Container];
    let mut out = Vec::new();
    loop {
        match x.next()? {
            Ev::Open(e) => {
                let in_file = matches!(stack.last(), Some(Level::File(_)));
                match (stack.last(), xml::name(&e)) {
                    (Some(Level::Container), b"project") => stack.push(Level::Project),
                    (Some(Level::Project), b"package") => stack.push(Level::Project),
                    (Some(Level::Project), b"file") => {
                        let path = super::non_empty(x.attr(&e, "path")?)
                            .or(x.attr(&e, "name")?)
                            .unwrap_or_default();
                        stack.push(Level::File(Box::new(Acc {
                            path,
                            ..Acc::default()
                        })));
                    }
                    (_, b"metrics") if in_file => {
                        let get = |x: &Xml<'_>, n: &str| -> Res<i64> {
                            Ok(xml::int(x.attr(&e, n)?.as_deref(), n)?.unwrap_or(0))
                        };
                        let statements = get(&x, "statements")?;
                        let covered_statements = get(&x, "coveredstatements")?.min(statements);
                        let conditionals = get(&x, "conditionals")?;
                        let covered_conditionals =
                            get(&x, "coveredconditionals")?.min(conditionals);
                        if let Some(Level::File(acc)) = stack.last_mut() {
                            acc.metrics = Some((
                                (covered_statements, statements - covered_statements),
                                (covered_conditionals, conditionals - covered_conditionals),
                            ));
                        }
                        x.skip_element()?;
                    }
                    (_, b"line") if in_file => {
                        let kind = x.attr(&e, "type")?;
                        let get = |x: &Xml<'_>, n: &str| -> Res<i64> {
                            Ok(xml::int(x.attr(&e, n)?.as_deref(), n)?.unwrap_or(0))
                        };
                        let count = get(&x, "count")?;
                        let truecount = get(&x, "truecount")?;
                        let falsecount = get(&x, "falsecount")?;
                        if let Some(Level::File(acc)) = stack.last_mut() {
                            match kind.as_deref() {
                                Some("stmt") => {
                                    if count > 0 {
                                        acc.lines.0 += 1;
                                    } else {
                                        acc.lines.1 += 1;
                                    }
                                }
                                Some("cond") => {
                                    let covered =
                                        i64::from(truecount > 0) + i64::from(falsecount > 0);
                                    acc.branches.0 += covered;
                                    acc.branches.1 += 2 - covered;
                                }
                                _ => {}
                            }
                        }
                        x.skip_element()?;
                    }
                    _ => x.skip_element()?,
                }
            }
            Ev::Close => {
                if let Some(Level::File(acc)) = stack.pop() {
                    let (lines, branches) = acc.metrics.unwrap_or((acc.lines, acc.branches));
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
