//! Test and code-coverage report files, read the way CodeBuild reads them.
//!
//! [`parse`] turns one raw report file (the bytes of a file a report group's `files` globs
//! selected) into test cases or per-file coverage; [`summarize_tests`] and
//! [`summarize_coverage`] compute a report's `testSummary` / `codeCoverageSummary`.
//!
//! Formats (the buildspec's `file-format`, upper-cased):
//! - tests: `JUNITXML` (Ant/Surefire `TEST-*.xml`, pytest `--junitxml`, jest-junit, nested
//!   suites), `NUNITXML` (NUnit 2), `NUNIT3XML`, `TESTNGXML`, `CUCUMBERJSON`,
//!   `VISUALSTUDIOTRX`;
//! - coverage: `CLOVERXML`, `COBERTURAXML`, `JACOCOXML`, `SIMPLECOV` (simplecov's own JSON:
//!   `coverage/.resultset.json` or the `coverage.json` of its bundled JSON formatter, not the
//!   third-party `simplecov-json` gem).
//!
//! XML is streamed (quick-xml, no DOM); a DOCTYPE that only names an external DTD (JaCoCo and
//! Cobertura write one) is accepted and never fetched, while internal subsets and entity
//! declarations are refused, and only the five predefined entities and character references
//! are expanded. At most [`MAX_TEST_CASES`] test cases / [`MAX_COVERAGE_FILES`] files are read
//! from one file; beyond that the file is refused.
//!
//! The mapping of each format onto CodeBuild's `TestCase` / `CodeCoverage` shapes is described
//! on each format's module.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod clover;
mod cobertura;
mod cucumber;
mod jacoco;
mod junit;
mod nunit;
mod simplecov;
mod testng;
mod trx;
mod xml;

#[cfg(test)]
mod tests;

/// Test-case statuses CodeBuild reports.
pub const SUCCEEDED: &str = "SUCCEEDED";
pub const FAILED: &str = "FAILED";
pub const ERROR: &str = "ERROR";
pub const SKIPPED: &str = "SKIPPED";
pub const UNKNOWN: &str = "UNKNOWN";

/// Test formats, in the order CodeBuild's documentation lists them.
pub const TEST_FORMATS: [&str; 6] = [
    "CUCUMBERJSON",
    "JUNITXML",
    "NUNITXML",
    "NUNIT3XML",
    "TESTNGXML",
    "VISUALSTUDIOTRX",
];
/// Code-coverage formats.
pub const COVERAGE_FORMATS: [&str; 4] = ["CLOVERXML", "COBERTURAXML", "JACOCOXML", "SIMPLECOV"];

/// A report file with more test cases than this is refused.
pub const MAX_TEST_CASES: usize = 100_000;
/// A coverage file with more source files than this is refused.
pub const MAX_COVERAGE_FILES: usize = 100_000;
/// Messages (failure text, stack traces) are cut to this many bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// One test case of a test report (CodeBuild's `TestCase` without the report ARN / expiry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestCaseResult {
    /// The report file the case came from, relative to the source directory.
    pub test_raw_data_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub name: String,
    /// One of [`SUCCEEDED`], [`FAILED`], [`ERROR`], [`SKIPPED`], [`UNKNOWN`].
    pub status: String,
    pub duration_in_nano_seconds: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_suite_name: Option<String>,
}

/// Coverage of one source file (CodeBuild's `CodeCoverage` without id / report ARN / expiry).
/// Percentages are rounded to two decimals and absent when the file has nothing to cover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileCoverage {
    pub file_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_coverage_percentage: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines_covered: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines_missed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_coverage_percentage: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches_covered: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches_missed: Option<i64>,
}

impl FileCoverage {
    /// A file's coverage from counts; percentages follow from them.
    pub(crate) fn from_counts(
        file_path: String,
        lines: Option<(i64, i64)>,
        branches: Option<(i64, i64)>,
    ) -> Self {
        FileCoverage {
            file_path,
            line_coverage_percentage: lines.and_then(|(c, m)| percentage(c, m)),
            lines_covered: lines.map(|(c, _)| c),
            lines_missed: lines.map(|(_, m)| m),
            branch_coverage_percentage: branches.and_then(|(c, m)| percentage(c, m)),
            branches_covered: branches.map(|(c, _)| c),
            branches_missed: branches.map(|(_, m)| m),
        }
    }
}

/// The content of one report file.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Tests(Vec<TestCaseResult>),
    Coverage(Vec<FileCoverage>),
}

/// Why a report file could not be read; the message is fit for a report's failure reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReportError(pub String);

/// Whether `format` (upper-case) is a code-coverage format.
pub fn is_coverage(format: &str) -> bool {
    COVERAGE_FORMATS.contains(&format)
}

/// Parses one report file. `format` is the buildspec's `file-format` upper-cased;
/// `raw_path` is the file's path relative to the source directory (it becomes each test
/// case's `testRawDataPath` and names the file in errors).
pub fn parse(format: &str, raw_path: &str, bytes: &[u8]) -> Result<Parsed, ReportError> {
    let result = match format {
        "JUNITXML" => junit::parse(bytes, raw_path).map(Parsed::Tests),
        "NUNITXML" => nunit::parse_v2(bytes, raw_path).map(Parsed::Tests),
        "NUNIT3XML" => nunit::parse_v3(bytes, raw_path).map(Parsed::Tests),
        "TESTNGXML" => testng::parse(bytes, raw_path).map(Parsed::Tests),
        "CUCUMBERJSON" => cucumber::parse(bytes, raw_path).map(Parsed::Tests),
        "VISUALSTUDIOTRX" => trx::parse(bytes, raw_path).map(Parsed::Tests),
        "CLOVERXML" => clover::parse(bytes).map(Parsed::Coverage),
        "COBERTURAXML" => cobertura::parse(bytes).map(Parsed::Coverage),
        "JACOCOXML" => jacoco::parse(bytes).map(Parsed::Coverage),
        "SIMPLECOV" => simplecov::parse(bytes).map(Parsed::Coverage),
        other => {
            return Err(ReportError(format!(
                "unsupported report file format {other:?}; expected one of {}",
                TEST_FORMATS
                    .iter()
                    .chain(COVERAGE_FORMATS.iter())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    result.map_err(|detail| ReportError(format!("invalid {format} report {raw_path}: {detail}")))
}

/// A test report's `testSummary`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestSummary {
    pub total: i32,
    pub status_counts: BTreeMap<String, i32>,
    pub duration_in_nano_seconds: i64,
}

/// Totals over test cases: the count, the count per status and the summed duration.
pub fn summarize_tests(cases: &[TestCaseResult]) -> TestSummary {
    let mut summary = TestSummary::default();
    for case in cases {
        summary.total = summary.total.saturating_add(1);
        let count = summary
            .status_counts
            .entry(case.status.clone())
            .or_insert(0);
        *count = count.saturating_add(1);
        summary.duration_in_nano_seconds = summary
            .duration_in_nano_seconds
            .saturating_add(case.duration_in_nano_seconds.max(0));
    }
    summary
}

/// A coverage report's `codeCoverageSummary`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageSummary {
    pub line_coverage_percentage: f64,
    pub lines_covered: i64,
    pub lines_missed: i64,
    pub branch_coverage_percentage: f64,
    pub branches_covered: i64,
    pub branches_missed: i64,
}

/// Totals over files; percentages come from the totals (`covered / (covered + missed)`,
/// rounded to two decimals as CodeBuild shows them, e.g. 5 of 6 lines → 83.33) and are 0
/// when there is nothing to cover.
pub fn summarize_coverage(files: &[FileCoverage]) -> CoverageSummary {
    let mut s = CoverageSummary::default();
    for f in files {
        s.lines_covered = s.lines_covered.saturating_add(f.lines_covered.unwrap_or(0));
        s.lines_missed = s.lines_missed.saturating_add(f.lines_missed.unwrap_or(0));
        s.branches_covered = s
            .branches_covered
            .saturating_add(f.branches_covered.unwrap_or(0));
        s.branches_missed = s
            .branches_missed
            .saturating_add(f.branches_missed.unwrap_or(0));
    }
    s.line_coverage_percentage = percentage(s.lines_covered, s.lines_missed).unwrap_or(0.0);
    s.branch_coverage_percentage = percentage(s.branches_covered, s.branches_missed).unwrap_or(0.0);
    s
}

// ---- helpers shared by the format modules ----

/// Internal result: errors are details that [`parse`] prefixes with the format and path.
pub(crate) type Res<T> = Result<T, String>;

/// `covered / (covered + missed)` in percent, rounded to two decimals; `None` for 0/0.
pub(crate) fn percentage(covered: i64, missed: i64) -> Option<f64> {
    let covered = covered.max(0) as f64;
    let total = covered + missed.max(0) as f64;
    (total > 0.0).then(|| round2(covered * 100.0 / total))
}

pub(crate) fn round2(v: f64) -> f64 {
    ((v * 100.0).round() / 100.0).clamp(0.0, 100.0)
}

/// Appends a test case, refusing the file once it holds more than [`MAX_TEST_CASES`].
pub(crate) fn push_case(out: &mut Vec<TestCaseResult>, case: TestCaseResult) -> Res<()> {
    if out.len() >= MAX_TEST_CASES {
        return Err(format!("more than {MAX_TEST_CASES} test cases in one file"));
    }
    out.push(case);
    Ok(())
}

/// Refuses a coverage file once it lists more than [`MAX_COVERAGE_FILES`] files.
pub(crate) fn check_file_count(n: usize) -> Res<()> {
    if n > MAX_COVERAGE_FILES {
        return Err(format!(
            "more than {MAX_COVERAGE_FILES} source files in one coverage file"
        ));
    }
    Ok(())
}

/// A duration in (fractional) seconds, as JUnit/NUnit write it, in nanoseconds. Accepts
/// Surefire's grouped thousands (`1,234.5`) and a decimal comma (`0,25`); anything
/// unparseable, negative or not finite counts as 0.
pub(crate) fn seconds_to_nanos(text: &str) -> i64 {
    let t = text.trim();
    let normalized = if t.contains('.') {
        t.replace(',', "")
    } else {
        t.replace(',', ".")
    };
    match normalized.parse::<f64>() {
        Ok(secs) => float_nanos(secs * 1e9),
        Err(_) => 0,
    }
}

/// A float count of nanoseconds as i64 (0 for negative / not finite values, saturating).
pub(crate) fn float_nanos(nanos: f64) -> i64 {
    if nanos.is_finite() && nanos > 0.0 {
        if nanos >= i64::MAX as f64 {
            i64::MAX
        } else {
            nanos.round() as i64
        }
    } else {
        0
    }
}

/// Joins a message and a detail (stack trace, body text) with a newline, skipping empty
/// parts; `None` when both are empty.
pub(crate) fn join_message(message: Option<&str>, detail: Option<&str>) -> Option<String> {
    let message = message.map(str::trim).filter(|m| !m.is_empty());
    let detail = detail.map(str::trim).filter(|d| !d.is_empty());
    let joined = match (message, detail) {
        (Some(m), Some(d)) if d.starts_with(m) => d.to_owned(),
        (Some(m), Some(d)) => format!("{m}\n{d}"),
        (Some(m), None) => m.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => return None,
    };
    Some(truncate(joined))
}

/// Cuts a message to [`MAX_MESSAGE_BYTES`] on a character boundary.
pub(crate) fn truncate(mut s: String) -> String {
    if s.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// `Some(s)` unless `s` is empty or blank.
pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

/// Report file bytes as UTF-8 text: a UTF-8 byte-order mark is dropped and UTF-16 files
/// (with a BOM, as some Windows tools write TRX files) are transcoded.
pub(crate) fn utf8_text(bytes: &[u8]) -> Res<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    let utf16 = |rest: &[u8], little: bool| -> Res<Cow<'_, str>> {
        if !rest.len().is_multiple_of(2) {
            return Err("truncated UTF-16 text".to_owned());
        }
        let units = rest.chunks_exact(2).map(|c| {
            if little {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map(Cow::Owned)
            .map_err(|_| "file is not valid UTF-16".to_owned())
    };
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return std::str::from_utf8(rest)
            .map(Cow::Borrowed)
            .map_err(|e| format!("file is not valid UTF-8 (at byte {})", e.valid_up_to() + 3));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false);
    }
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(|e| format!("file is not valid UTF-8 (at byte {})", e.valid_up_to()))
}
