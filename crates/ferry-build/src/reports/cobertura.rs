//! Cobertura XML (`COBERTURAXML`; Cobertura, coverage.py `coverage xml`, Istanbul/nyc
//! `cobertura`, coverlet, gcovr, …): `<coverage>` → `<packages>` → `<package>` → `<classes>` →
//! `<class filename line-rate branch-rate>` → `<lines>` → `<line number hits branch
//! condition-coverage>`.
//!
//! Classes are aggregated per `filename` (Java inner classes, several classes of one Python
//! module). A file's lines are its classes' `<line>` elements, one per line number (the highest
//! hit count wins when classes repeat a line; the lines under `<methods>` repeat the class's and
//! are not counted again): `hits > 0` → covered, else missed. Branches come from
//! `condition-coverage="50% (1/2)"` on branch lines (1 covered, 1 missed). A file whose classes
//! list no lines at all keeps only percentages, the mean of its classes' `line-rate` /
//! `branch-rate` × 100. The optional DOCTYPE naming `coverage-04.dtd` is accepted and not
//! fetched.

use super::xml::{self, Ev, Xml};
use super::{FileCoverage, Res};
use std::collections::HashMap;

#[derive(Default)]
struct FileAcc {
    /// line number → (hits, branches covered, branches total)
    lines: HashMap<u64, (u64, i64, i64)>,
    line_rates: Vec<f64>,
    branch_rates: Vec<f64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Container,
    Class(usize),
    Lines(usize),
}

pub(crate) fn parse(bytes: &[u8]) -> Res<Vec<FileCoverage>> {
    let text = super::utf8_text(bytes)?;
    let mut x = Xml::new(&text);
    xml::root(&mut x, &["coverage"])?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut files: Vec<(String, FileAcc)> = Vec::new();
    let mut stack = vec![Level::Container];
    loop {
        match x.next()? {
            Ev::Open(e) => {
                let level = stack.last().copied().unwrap_or(Level::Container);
                match (level, xml::name(&e)) {
                    (Level::Container, b"packages" | b"package" | b"classes") => {
                        stack.push(Level::Container)
                    }
                    (Level::Container, b"class") => {
                        let filename = x.attr(&e, "filename")?.unwrap_or_default();
                        let idx = match index.get(&filename) {
                            Some(i) => *i,
                            None => {
                                files.push((filename.clone(), FileAcc::default()));
                                super::check_file_count(files.len())?;
                                index.insert(filename, files.len() - 1);
                                files.len() - 1
                            }
                        };
                        let acc = &mut files[idx].1;
                        if let Some(r) = rate(x.attr(&e, "line-rate")?.as_deref()) {
                            acc.line_rates.push(r);
                        }
                        if let Some(r) = rate(x.attr(&e, "branch-rate")?.as_deref()) {
                            acc.branch_rates.push(r);
                        }
                        stack.push(Level::Class(idx));
                    }
                    (Level::Class(idx), b"lines") => stack.push(Level::Lines(idx)),
                    (Level::Lines(idx), b"line") => {
                        let number = x.attr(&e, "number")?;
                        let hits = x.attr(&e, "hits")?;
                        let is_branch = x
                            .attr(&e, "branch")?
                            .is_some_and(|b| b.eq_ignore_ascii_case("true"));
                        let condition = x.attr(&e, "condition-coverage")?;
                        x.skip_element()?;
                        let Some(number) = number.and_then(|n| n.trim().parse::<u64>().ok()) else {
                            continue;
                        };
                        let hits = hits.as_deref().map(parse_hits).unwrap_or(0);
                        let (bc, bt) = if is_branch {
                            condition
                                .as_deref()
                                .and_then(parse_condition)
                                .unwrap_or((0, 0))
                        } else {
                            (0, 0)
                        };
                        let entry = files[idx].1.lines.entry(number).or_insert((0, 0, 0));
                        entry.0 = entry.0.max(hits);
                        entry.1 = entry.1.max(bc);
                        entry.2 = entry.2.max(bt);
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
    Ok(files
        .into_iter()
        .map(|(path, acc)| {
            if acc.lines.is_empty() {
                let mean = |rates: &[f64]| {
                    (!rates.is_empty()).then(|| {
                        super::round2(rates.iter().sum::<f64>() / rates.len() as f64 * 100.0)
                    })
                };
                return FileCoverage {
                    file_path: path,
                    line_coverage_percentage: mean(&acc.line_rates),
                    lines_covered: None,
                    lines_missed: None,
                    branch_coverage_percentage: mean(&acc.branch_rates),
                    branches_covered: None,
                    branches_missed: None,
                };
            }
            let mut lines = (0i64, 0i64);
            let mut branches = (0i64, 0i64);
            for (hits, bc, bt) in acc.lines.values() {
                if *hits > 0 {
                    lines.0 += 1;
                } else {
                    lines.1 += 1;
                }
                branches.0 += bc;
                branches.1 += (bt - bc).max(0);
            }
            FileCoverage::from_counts(path, Some(lines), Some(branches))
        })
        .collect())
}

/// A rate attribute (0..=1); blank or unparseable → `None`.
fn rate(value: Option<&str>) -> Option<f64> {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|r| r.is_finite())
        .map(|r| r.clamp(0.0, 1.0))
}

/// Hit counts: integers, though some tools write `1.0`.
fn parse_hits(v: &str) -> u64 {
    let v = v.trim();
    v.parse::<u64>().unwrap_or_else(|_| {
        v.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f > 0.0)
            .map(|f| f.ceil() as u64)
            .unwrap_or(0)
    })
}

/// `50% (1/2)` → (1 covered, 2 total).
fn parse_condition(v: &str) -> Option<(i64, i64)> {
    let inner = v.split_once('(')?.1.split_once(')')?.0;
    let (covered, total) = inner.split_once('/')?;
    let covered: i64 = covered.trim().parse().ok()?;
    let total: i64 = total.trim().parse().ok()?;
    (covered >= 0 && total >= covered).then_some((covered, total))
}

#[cfg(test)]
mod tests {
    #[test]
    fn conditions() {
        assert_eq!(super::parse_condition("50% (1/2)"), Some((1, 2)));
        assert_eq!(super::parse_condition("100% (4/4)"), Some((4, 4)));
        assert_eq!(super::parse_condition("bogus"), None);
    }
}
