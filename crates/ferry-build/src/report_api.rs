//! The report half of the CodeBuild API: report groups (create, update, get, list, delete,
//! trend), reports (get, list, delete) and what a report holds (test cases with status and
//! keyword filters, per-file code coverage with sorting and bounds).

use ferry_model::codebuild::*;
use ferry_store::StoreError;
use ferry_store::reports::DocRow;
use ferry_types::Timestamp;
use ferry_wire::AwsError;

use crate::api::{BuildApi, internal, invalid, not_found};
use crate::service::now;

/// A report group's ARN.
pub fn group_arn(api: &BuildApi, name: &str) -> String {
    let s = &api.0.settings;
    format!(
        "arn:aws:codebuild:{}:{}:report-group/{name}",
        s.region, s.account_id
    )
}

fn group_doc(row: &DocRow, modified_ms: i64) -> Option<ReportGroup> {
    let mut g: ReportGroup = serde_json::from_str(&row.document).ok()?;
    g.created = Some(Timestamp::from_millis(row.created_ms));
    g.last_modified = Some(Timestamp::from_millis(modified_ms));
    Some(g)
}

fn key_of(arn_or_name: &str, api: &BuildApi) -> String {
    if arn_or_name.starts_with("arn:") {
        arn_or_name.to_owned()
    } else {
        group_arn(api, arn_or_name)
    }
}

/// Offset-style page tokens over positions.
fn page_bounds(
    token: Option<&str>,
    max: Option<i32>,
    default: i32,
) -> Result<(usize, usize), AwsError> {
    let start = match token {
        Some(t) => ferry_types::page::decode(t)
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| invalid("Invalid next token"))?,
        None => 0,
    };
    let size = max.unwrap_or(default).clamp(1, 1000) as usize;
    Ok((start, size))
}

fn next_token(start: usize, size: usize, total: usize) -> Option<String> {
    (start + size < total).then(|| ferry_types::page::encode(&(start + size).to_string()))
}

/// Creates a group (also used when a buildspec names one that does not exist yet).
pub async fn create_group(
    api: &BuildApi,
    name: &str,
    kind: ReportType,
    export: ReportExportConfig,
    tags: Vec<Tag>,
) -> Result<ReportGroup, AwsError> {
    let ok = (2..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(invalid(format!("Invalid report group name: {name}")));
    }
    let arn = group_arn(api, name);
    let g = ReportGroup {
        arn: Some(arn.clone()),
        name: Some(name.to_owned()),
        r#type: Some(kind),
        export_config: Some(export),
        tags: Some(tags),
        status: Some(ReportGroupStatusType::Active),
        ..ReportGroup::default()
    };
    let doc = serde_json::to_string(&g).map_err(AwsError::internal)?;
    match api
        .0
        .store
        .create_report_group(&arn, name, &doc, now().millis())
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AwsError::new(
                "ResourceAlreadyExistsException",
                format!("Report group with name {name} already exists"),
            ));
        }
        Err(e) => return Err(internal(e)),
    }
    let (row, modified) = api
        .0
        .store
        .report_group(&arn)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found(arn.clone()))?;
    group_doc(&row, modified).ok_or_else(|| AwsError::internal("unreadable report group"))
}

pub async fn create_report_group(
    api: &BuildApi,
    i: CreateReportGroupInput,
) -> Result<CreateReportGroupOutput, AwsError> {
    let g = create_group(
        api,
        &i.name,
        i.r#type,
        i.export_config,
        i.tags.unwrap_or_default(),
    )
    .await?;
    Ok(CreateReportGroupOutput {
        report_group: Some(g),
    })
}

pub async fn update_report_group(
    api: &BuildApi,
    i: UpdateReportGroupInput,
) -> Result<UpdateReportGroupOutput, AwsError> {
    let arn = key_of(&i.arn, api);
    let (row, modified) = api
        .0
        .store
        .report_group(&arn)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found(format!("Report group {arn} does not exist")))?;
    let mut g =
        group_doc(&row, modified).ok_or_else(|| AwsError::internal("unreadable report group"))?;
    if let Some(e) = i.export_config {
        g.export_config = Some(e);
    }
    if let Some(t) = i.tags {
        g.tags = Some(t);
    }
    g.created = None;
    g.last_modified = None;
    let doc = serde_json::to_string(&g).map_err(AwsError::internal)?;
    api.0
        .store
        .update_report_group(&arn, &doc, now().millis())
        .await
        .map_err(internal)?;
    let (row, modified) = api
        .0
        .store
        .report_group(&arn)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found(arn.clone()))?;
    Ok(UpdateReportGroupOutput {
        report_group: group_doc(&row, modified),
    })
}

pub async fn delete_report_group(
    api: &BuildApi,
    i: DeleteReportGroupInput,
) -> Result<DeleteReportGroupOutput, AwsError> {
    let arn = key_of(&i.arn, api);
    match api
        .0
        .store
        .delete_report_group(&arn, i.delete_reports.unwrap_or(false))
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => Ok(DeleteReportGroupOutput::default()),
        Err(StoreError::Conflict(_)) => Err(invalid(format!(
            "Cannot delete report group {arn} because it contains reports; set deleteReports to delete them too"
        ))),
        Err(e) => Err(internal(e)),
    }
}

pub async fn batch_get_report_groups(
    api: &BuildApi,
    i: BatchGetReportGroupsInput,
) -> Result<BatchGetReportGroupsOutput, AwsError> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for a in i.report_group_arns {
        match api
            .0
            .store
            .report_group(&key_of(&a, api))
            .await
            .map_err(internal)?
        {
            Some((row, m)) => found.extend(group_doc(&row, m)),
            None => missing.push(a),
        }
    }
    Ok(BatchGetReportGroupsOutput {
        report_groups: Some(found),
        report_groups_not_found: Some(missing),
    })
}

pub async fn list_report_groups(
    api: &BuildApi,
    i: ListReportGroupsInput,
) -> Result<ListReportGroupsOutput, AwsError> {
    let mut rows = api.0.store.report_groups().await.map_err(internal)?;
    match i.sort_by.unwrap_or(ReportGroupSortByType::CreatedTime) {
        ReportGroupSortByType::Name => {}
        ReportGroupSortByType::CreatedTime => rows.sort_by_key(|(r, _)| r.created_ms),
        ReportGroupSortByType::LastModifiedTime => rows.sort_by_key(|(_, m)| *m),
    }
    if i.sort_order == Some(SortOrderType::Descending) {
        rows.reverse();
    }
    let (start, size) = page_bounds(i.next_token.as_deref(), i.max_results, 100)?;
    let arns: Vec<String> = rows
        .iter()
        .skip(start)
        .take(size)
        .map(|(r, _)| r.arn.clone())
        .collect();
    Ok(ListReportGroupsOutput {
        next_token: next_token(start, size, rows.len()),
        report_groups: Some(arns),
    })
}

fn report_status_matches(doc: &str, want: Option<ReportStatusType>) -> bool {
    match want {
        None => true,
        Some(w) => serde_json::from_str::<Report>(doc).is_ok_and(|r| r.status == Some(w)),
    }
}

pub async fn list_reports_for_report_group(
    api: &BuildApi,
    i: ListReportsForReportGroupInput,
) -> Result<ListReportsForReportGroupOutput, AwsError> {
    let arn = key_of(&i.report_group_arn, api);
    if api
        .0
        .store
        .report_group(&arn)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Err(not_found(format!("Report group {arn} does not exist")));
    }
    let mut rows = api.0.store.reports(Some(&arn)).await.map_err(internal)?;
    let want = i.filter.and_then(|f| f.status);
    rows.retain(|r| report_status_matches(&r.document, want));
    if i.sort_order != Some(SortOrderType::Ascending) {
        rows.reverse();
    }
    let (start, size) = page_bounds(i.next_token.as_deref(), i.max_results, 100)?;
    Ok(ListReportsForReportGroupOutput {
        next_token: next_token(start, size, rows.len()),
        reports: Some(
            rows.iter()
                .skip(start)
                .take(size)
                .map(|r| r.arn.clone())
                .collect(),
        ),
    })
}

pub async fn list_reports(
    api: &BuildApi,
    i: ListReportsInput,
) -> Result<ListReportsOutput, AwsError> {
    let mut rows = api.0.store.reports(None).await.map_err(internal)?;
    let want = i.filter.and_then(|f| f.status);
    rows.retain(|r| report_status_matches(&r.document, want));
    if i.sort_order != Some(SortOrderType::Ascending) {
        rows.reverse();
    }
    let (start, size) = page_bounds(i.next_token.as_deref(), i.max_results, 100)?;
    Ok(ListReportsOutput {
        next_token: next_token(start, size, rows.len()),
        reports: Some(
            rows.iter()
                .skip(start)
                .take(size)
                .map(|r| r.arn.clone())
                .collect(),
        ),
    })
}

pub async fn batch_get_reports(
    api: &BuildApi,
    i: BatchGetReportsInput,
) -> Result<BatchGetReportsOutput, AwsError> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for a in i.report_arns {
        match api.0.store.report(&a).await.map_err(internal)? {
            Some(r) => {
                found.push(serde_json::from_str::<Report>(&r.document).map_err(AwsError::internal)?)
            }
            None => missing.push(a),
        }
    }
    Ok(BatchGetReportsOutput {
        reports: Some(found),
        reports_not_found: Some(missing),
    })
}

pub async fn delete_report(
    api: &BuildApi,
    i: DeleteReportInput,
) -> Result<DeleteReportOutput, AwsError> {
    api.0.store.delete_report(&i.arn).await.map_err(internal)?;
    Ok(DeleteReportOutput::default())
}

pub async fn describe_test_cases(
    api: &BuildApi,
    i: DescribeTestCasesInput,
) -> Result<DescribeTestCasesOutput, AwsError> {
    if api
        .0
        .store
        .report(&i.report_arn)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Err(not_found(format!("Report {} does not exist", i.report_arn)));
    }
    let after = match i.next_token.as_deref() {
        Some(t) => ferry_types::page::decode(t)
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| invalid("Invalid next token"))?,
        None => -1,
    };
    let size = i.max_results.unwrap_or(50).clamp(1, 100) as i64;
    let filter = i.filter.unwrap_or_default();
    let mut rows = api
        .0
        .store
        .test_cases(
            &i.report_arn,
            after,
            filter.status.as_deref(),
            filter.keyword.as_deref(),
            size + 1,
        )
        .await
        .map_err(internal)?;
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    let next = if more {
        rows.last()
            .map(|(seq, _)| ferry_types::page::encode(&seq.to_string()))
    } else {
        None
    };
    Ok(DescribeTestCasesOutput {
        next_token: next,
        test_cases: Some(
            rows.into_iter()
                .map(|(_, c)| TestCase {
                    report_arn: Some(i.report_arn.clone()),
                    test_raw_data_path: Some(c.raw_path),
                    prefix: c.prefix,
                    name: Some(c.name),
                    status: Some(c.status),
                    duration_in_nano_seconds: Some(c.duration_ns),
                    message: c.message,
                    test_suite_name: c.suite,
                    ..TestCase::default()
                })
                .collect(),
        ),
    })
}

pub async fn describe_code_coverages(
    api: &BuildApi,
    i: DescribeCodeCoveragesInput,
) -> Result<DescribeCodeCoveragesOutput, AwsError> {
    if api
        .0
        .store
        .report(&i.report_arn)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Err(not_found(format!("Report {} does not exist", i.report_arn)));
    }
    let mut rows = api
        .0
        .store
        .coverage(&i.report_arn)
        .await
        .map_err(internal)?;
    let min = i.min_line_coverage_percentage.unwrap_or(0.0);
    let max = i.max_line_coverage_percentage.unwrap_or(100.0);
    rows.retain(|r| {
        let p = r.line_pct.unwrap_or(0.0);
        p >= min && p <= max
    });
    match i
        .sort_by
        .unwrap_or(ReportCodeCoverageSortByType::LineCoveragePercentage)
    {
        ReportCodeCoverageSortByType::FilePath => {}
        ReportCodeCoverageSortByType::LineCoveragePercentage => rows.sort_by(|a, b| {
            a.line_pct
                .unwrap_or(0.0)
                .total_cmp(&b.line_pct.unwrap_or(0.0))
                .then_with(|| a.file_path.cmp(&b.file_path))
        }),
    }
    if i.sort_order == Some(SortOrderType::Descending) {
        rows.reverse();
    }
    let (start, size) = page_bounds(i.next_token.as_deref(), i.max_results, 50)?;
    let total = rows.len();
    Ok(DescribeCodeCoveragesOutput {
        next_token: next_token(start, size, total),
        code_coverages: Some(
            rows.into_iter()
                .skip(start)
                .take(size)
                .map(|r| CodeCoverage {
                    id: Some(format!("{}:{}", i.report_arn, r.file_path)),
                    report_arn: Some(i.report_arn.clone()),
                    file_path: Some(r.file_path),
                    line_coverage_percentage: r.line_pct,
                    lines_covered: r.lines_covered.map(|v| v as i32),
                    lines_missed: r.lines_missed.map(|v| v as i32),
                    branch_coverage_percentage: r.branch_pct,
                    branches_covered: r.branches_covered.map(|v| v as i32),
                    branches_missed: r.branches_missed.map(|v| v as i32),
                    ..CodeCoverage::default()
                })
                .collect(),
        ),
    })
}

pub async fn get_report_group_trend(
    api: &BuildApi,
    i: GetReportGroupTrendInput,
) -> Result<GetReportGroupTrendOutput, AwsError> {
    let arn = key_of(&i.report_group_arn, api);
    if api
        .0
        .store
        .report_group(&arn)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Err(not_found(format!("Report group {arn} does not exist")));
    }
    let n = i.num_of_reports.unwrap_or(100).clamp(1, 100) as usize;
    let mut rows = api.0.store.reports(Some(&arn)).await.map_err(internal)?;
    rows.reverse();
    rows.truncate(n);
    let mut raw = Vec::new();
    let mut values = Vec::new();
    for r in rows {
        let Ok(rep) = serde_json::from_str::<Report>(&r.document) else {
            continue;
        };
        let t = rep.test_summary.as_ref();
        let c = rep.code_coverage_summary.as_ref();
        let v: Option<f64> = match i.trend_field {
            ReportGroupTrendFieldType::PassRate => t.filter(|t| t.total > 0).map(|t| {
                100.0 * f64::from(*t.status_counts.get("SUCCEEDED").unwrap_or(&0))
                    / f64::from(t.total)
            }),
            ReportGroupTrendFieldType::Duration => t.map(|t| t.duration_in_nano_seconds as f64),
            ReportGroupTrendFieldType::Total => t.map(|t| f64::from(t.total)),
            ReportGroupTrendFieldType::LineCoverage => c.and_then(|c| c.line_coverage_percentage),
            ReportGroupTrendFieldType::LinesCovered => {
                c.and_then(|c| c.lines_covered).map(f64::from)
            }
            ReportGroupTrendFieldType::LinesMissed => c.and_then(|c| c.lines_missed).map(f64::from),
            ReportGroupTrendFieldType::BranchCoverage => {
                c.and_then(|c| c.branch_coverage_percentage)
            }
            ReportGroupTrendFieldType::BranchesCovered => {
                c.and_then(|c| c.branches_covered).map(f64::from)
            }
            ReportGroupTrendFieldType::BranchesMissed => {
                c.and_then(|c| c.branches_missed).map(f64::from)
            }
        };
        if let Some(v) = v {
            values.push(v);
            raw.push(ReportWithRawData {
                report_arn: Some(r.arn),
                data: Some(fmt_num(v)),
            });
        }
    }
    let stats = (!values.is_empty()).then(|| ReportGroupTrendStats {
        average: Some(fmt_num(values.iter().sum::<f64>() / values.len() as f64)),
        max: Some(fmt_num(values.iter().cloned().fold(f64::MIN, f64::max))),
        min: Some(fmt_num(values.iter().cloned().fold(f64::MAX, f64::min))),
    });
    Ok(GetReportGroupTrendOutput {
        stats: Some(stats.unwrap_or_default()),
        raw_data: Some(raw),
    })
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}
