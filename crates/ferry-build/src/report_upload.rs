//! Turning a build's report files into reports (during UPLOAD_ARTIFACTS, as CodeBuild does):
//! each `reports:` entry names a group (a bare name means `<project>-<name>`, created on first
//! use with its type from the file format), its files are selected safely and parsed, and one
//! report per group is stored with its test cases or coverage and a summary. Report problems
//! are logged and never change the build's status.

use std::path::Path;

use ferry_model::codebuild::{
    CodeCoverageReportSummary, Report, ReportExportConfig, ReportExportConfigType,
    ReportStatusType, ReportType, TestReportSummary,
};
use ferry_store::reports::{CoverageRow, TestCaseRow};
use ferry_types::Timestamp;

use crate::api::BuildApi;
use crate::buildspec::ReportSpec;
use crate::reports::{self, Parsed};
use crate::service::now;

/// How long reports are kept before they show as expired.
const EXPIRY_MS: i64 = 30 * 24 * 3600 * 1000;

/// Creates the reports of one build; returns their ARNs and the log lines to print.
pub async fn create_reports(
    api: &BuildApi,
    project: &str,
    build_arn: &str,
    src: &Path,
    specs: &[(String, ReportSpec)],
) -> (Vec<String>, Vec<String>) {
    let mut arns = Vec::new();
    let mut log = Vec::new();
    for (group, spec) in specs {
        match one(api, project, build_arn, src, group, spec).await {
            Ok((arn, line)) => {
                arns.push(arn);
                log.push(line);
            }
            Err(e) => log.push(format!(
                "Error in UPLOAD_ARTIFACTS phase for report group {group}: {e}"
            )),
        }
    }
    (arns, log)
}

async fn one(
    api: &BuildApi,
    project: &str,
    build_arn: &str,
    src: &Path,
    group: &str,
    spec: &ReportSpec,
) -> Result<(String, String), String> {
    let coverage = reports::is_coverage(&spec.file_format);
    let kind = if coverage {
        ReportType::CodeCoverage
    } else {
        ReportType::Test
    };
    let (group_arn, group_name) = if group.starts_with("arn:") {
        let name = group.rsplit('/').next().unwrap_or(group).to_owned();
        (group.to_owned(), name)
    } else {
        let name = format!("{project}-{group}");
        (crate::report_api::group_arn(api, &name), name)
    };
    if api
        .0
        .store
        .report_group(&group_arn)
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        let export = ReportExportConfig {
            export_config_type: Some(ReportExportConfigType::NoExport),
            ..ReportExportConfig::default()
        };
        match crate::report_api::create_group(api, &group_name, kind, export, Vec::new()).await {
            Ok(_) => {}
            Err(e) if e.code == "ResourceAlreadyExistsException" => {}
            Err(e) => return Err(e.message),
        }
    }
    let selected = crate::artifacts::select_files(
        src,
        spec.base_directory.as_deref(),
        &spec.files,
        &[],
        spec.discard_paths,
    );
    let at = now();
    let uuid = uuid::Uuid::new_v4();
    let s = &api.0.settings;
    let arn = format!(
        "arn:aws:codebuild:{}:{}:report/{group_name}:{uuid}",
        s.region, s.account_id
    );
    let mut cases: Vec<TestCaseRow> = Vec::new();
    let mut files: Vec<CoverageRow> = Vec::new();
    let mut status = ReportStatusType::Succeeded;
    let mut note = String::new();
    match selected {
        Err(e) => {
            status = ReportStatusType::Failed;
            note = e.to_string();
        }
        Ok(sel) => {
            for f in sel {
                let rel = f
                    .source
                    .strip_prefix(src)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| f.archive_path.clone());
                let bytes = match tokio::fs::read(&f.source).await {
                    Ok(b) => b,
                    Err(e) => {
                        status = ReportStatusType::Incomplete;
                        note = format!("{rel}: {e}");
                        continue;
                    }
                };
                match reports::parse(&spec.file_format, &rel, &bytes) {
                    Ok(Parsed::Tests(t)) => cases.extend(t.into_iter().map(|c| TestCaseRow {
                        status: c.status,
                        name: c.name,
                        prefix: c.prefix,
                        suite: c.test_suite_name,
                        duration_ns: c.duration_in_nano_seconds,
                        message: c.message,
                        raw_path: c.test_raw_data_path,
                    })),
                    Ok(Parsed::Coverage(c)) => files.extend(c.into_iter().map(|f| CoverageRow {
                        file_path: f.file_path,
                        line_pct: f.line_coverage_percentage,
                        lines_covered: f.lines_covered,
                        lines_missed: f.lines_missed,
                        branch_pct: f.branch_coverage_percentage,
                        branches_covered: f.branches_covered,
                        branches_missed: f.branches_missed,
                    })),
                    Err(e) => {
                        status = ReportStatusType::Incomplete;
                        note = format!("{rel}: {}", e.0);
                    }
                }
            }
        }
    }
    let mut report = Report {
        arn: Some(arn.clone()),
        r#type: Some(kind),
        name: Some(group_name.clone()),
        report_group_arn: Some(group_arn.clone()),
        execution_id: Some(build_arn.to_owned()),
        created: Some(at),
        expired: Some(Timestamp::from_millis(at.millis() + EXPIRY_MS)),
        export_config: Some(ReportExportConfig {
            export_config_type: Some(ReportExportConfigType::NoExport),
            ..ReportExportConfig::default()
        }),
        truncated: Some(false),
        ..Report::default()
    };
    if coverage {
        let sum = reports::summarize_coverage(
            &files
                .iter()
                .map(|r| reports::FileCoverage {
                    file_path: r.file_path.clone(),
                    line_coverage_percentage: r.line_pct,
                    lines_covered: r.lines_covered,
                    lines_missed: r.lines_missed,
                    branch_coverage_percentage: r.branch_pct,
                    branches_covered: r.branches_covered,
                    branches_missed: r.branches_missed,
                })
                .collect::<Vec<_>>(),
        );
        report.code_coverage_summary = Some(CodeCoverageReportSummary {
            line_coverage_percentage: Some(sum.line_coverage_percentage),
            lines_covered: Some(sum.lines_covered as i32),
            lines_missed: Some(sum.lines_missed as i32),
            branch_coverage_percentage: Some(sum.branch_coverage_percentage),
            branches_covered: Some(sum.branches_covered as i32),
            branches_missed: Some(sum.branches_missed as i32),
        });
    } else {
        let tests: Vec<reports::TestCaseResult> = cases
            .iter()
            .map(|c| reports::TestCaseResult {
                test_raw_data_path: c.raw_path.clone(),
                prefix: c.prefix.clone(),
                name: c.name.clone(),
                status: c.status.clone(),
                duration_in_nano_seconds: c.duration_ns,
                message: c.message.clone(),
                test_suite_name: c.suite.clone(),
            })
            .collect();
        let sum = reports::summarize_tests(&tests);
        if status == ReportStatusType::Succeeded
            && (sum.status_counts.get("FAILED").copied().unwrap_or(0) > 0
                || sum.status_counts.get("ERROR").copied().unwrap_or(0) > 0)
        {
            status = ReportStatusType::Failed;
        }
        report.test_summary = Some(TestReportSummary {
            total: sum.total,
            status_counts: sum.status_counts,
            duration_in_nano_seconds: sum.duration_in_nano_seconds,
        });
    }
    report.status = Some(status);
    let doc = serde_json::to_string(&report).map_err(|e| e.to_string())?;
    api.0
        .store
        .insert_report(&arn, &group_arn, &doc, at.millis(), &cases, &files)
        .await
        .map_err(|e| e.to_string())?;
    let status_name = serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let line = if note.is_empty() {
        format!(
            "Report {group_name}: {} {}, status {status_name}",
            if coverage { files.len() } else { cases.len() },
            if coverage { "files" } else { "test cases" }
        )
    } else {
        format!("Report {group_name}: status {status_name}: {note}")
    };
    Ok((arn, line))
}
