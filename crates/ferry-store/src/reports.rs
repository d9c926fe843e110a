//! CodeBuild reports: report groups and reports as their API documents (JSON), and each
//! report's test cases and per-file coverage as rows, written with the report in one
//! transaction.

use sqlx::Row;

use crate::{Store, StoreError};

/// A stored document with its key and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocRow {
    pub arn: String,
    pub document: String,
    pub created_ms: i64,
}

/// One test case row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestCaseRow {
    pub status: String,
    pub name: String,
    pub prefix: Option<String>,
    pub suite: Option<String>,
    pub duration_ns: i64,
    pub message: Option<String>,
    pub raw_path: String,
}

/// One file's coverage row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CoverageRow {
    pub file_path: String,
    pub line_pct: Option<f64>,
    pub lines_covered: Option<i64>,
    pub lines_missed: Option<i64>,
    pub branch_pct: Option<f64>,
    pub branches_covered: Option<i64>,
    pub branches_missed: Option<i64>,
}

impl Store {
    /// Creates a report group; `Conflict` when the name is taken.
    pub async fn create_report_group(
        &self,
        arn: &str,
        name: &str,
        document: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO cb_report_groups (arn, name, document, created_ms, modified_ms) VALUES ($1, $2, $3, $4, $4)")
            .bind(arn)
            .bind(name)
            .bind(document)
            .bind(now_ms)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(|e| StoreError::from_insert(e, name))?;
        Ok(())
    }

    /// A report group by ARN.
    pub async fn report_group(&self, arn: &str) -> Result<Option<(DocRow, i64)>, StoreError> {
        let row = sqlx::query(
            "SELECT arn, document, created_ms, modified_ms FROM cb_report_groups WHERE arn = $1",
        )
        .bind(arn)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| {
            (
                DocRow {
                    arn: r.get(0),
                    document: r.get(1),
                    created_ms: r.get(2),
                },
                r.get(3),
            )
        }))
    }

    /// Every report group: `(row, modified)`.
    pub async fn report_groups(&self) -> Result<Vec<(DocRow, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT arn, document, created_ms, modified_ms FROM cb_report_groups ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    DocRow {
                        arn: r.get(0),
                        document: r.get(1),
                        created_ms: r.get(2),
                    },
                    r.get(3),
                )
            })
            .collect())
    }

    /// Replaces a report group's document.
    pub async fn update_report_group(
        &self,
        arn: &str,
        document: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE cb_report_groups SET document = $1, modified_ms = $2 WHERE arn = $3",
        )
        .bind(document)
        .bind(now_ms)
        .bind(arn)
        .execute(&mut *self.writer().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a report group; with `with_reports` its reports go too, otherwise `Conflict`
    /// while it has any. `NotFound` when absent.
    pub async fn delete_report_group(
        &self,
        arn: &str,
        with_reports: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM cb_reports WHERE group_arn = $1")
            .bind(arn)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        if n > 0 && !with_reports {
            return Err(StoreError::Conflict(arn.to_owned()));
        }
        for table in ["cb_test_cases", "cb_coverage"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE report_arn IN (SELECT arn FROM cb_reports WHERE group_arn = $1)"
            ))
            .bind(arn)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM cb_reports WHERE group_arn = $1")
            .bind(arn)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM cb_report_groups WHERE arn = $1")
            .bind(arn)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores a report with its test cases and coverage rows.
    pub async fn insert_report(
        &self,
        arn: &str,
        group_arn: &str,
        document: &str,
        created_ms: i64,
        cases: &[TestCaseRow],
        coverage: &[CoverageRow],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO cb_reports (arn, group_arn, document, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(arn)
        .bind(group_arn)
        .bind(document)
        .bind(created_ms)
        .execute(&mut *tx)
        .await?;
        for (i, c) in cases.iter().enumerate() {
            sqlx::query(
                "INSERT INTO cb_test_cases (report_arn, seq, status, name, prefix, suite, duration_ns, message, raw_path) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(arn)
            .bind(i as i64)
            .bind(&c.status)
            .bind(&c.name)
            .bind(&c.prefix)
            .bind(&c.suite)
            .bind(c.duration_ns)
            .bind(&c.message)
            .bind(&c.raw_path)
            .execute(&mut *tx)
            .await?;
        }
        for c in coverage {
            sqlx::query(
                "INSERT INTO cb_coverage (report_arn, file_path, line_pct, lines_covered, lines_missed, branch_pct, branches_covered, branches_missed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (report_arn, file_path) DO NOTHING",
            )
            .bind(arn)
            .bind(&c.file_path)
            .bind(c.line_pct)
            .bind(c.lines_covered)
            .bind(c.lines_missed)
            .bind(c.branch_pct)
            .bind(c.branches_covered)
            .bind(c.branches_missed)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A report by ARN.
    pub async fn report(&self, arn: &str) -> Result<Option<DocRow>, StoreError> {
        let row = sqlx::query("SELECT arn, document, created_ms FROM cb_reports WHERE arn = $1")
            .bind(arn)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| DocRow {
            arn: r.get(0),
            document: r.get(1),
            created_ms: r.get(2),
        }))
    }

    /// Reports, of one group or all, oldest first.
    pub async fn reports(&self, group_arn: Option<&str>) -> Result<Vec<DocRow>, StoreError> {
        let rows = match group_arn {
            Some(g) => sqlx::query("SELECT arn, document, created_ms FROM cb_reports WHERE group_arn = $1 ORDER BY created_ms, arn")
                .bind(g)
                .fetch_all(&self.pool)
                .await?,
            None => sqlx::query("SELECT arn, document, created_ms FROM cb_reports ORDER BY created_ms, arn")
                .fetch_all(&self.pool)
                .await?,
        };
        Ok(rows
            .iter()
            .map(|r| DocRow {
                arn: r.get(0),
                document: r.get(1),
                created_ms: r.get(2),
            })
            .collect())
    }

    /// Deletes a report and its rows; whether it existed.
    pub async fn delete_report(&self, arn: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        for table in ["cb_test_cases", "cb_coverage"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE report_arn = $1"))
                .bind(arn)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM cb_reports WHERE arn = $1")
            .bind(arn)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Test cases of a report after position `after`, optionally with one status, and with a
    /// keyword in the name or prefix: `(seq, row)`.
    pub async fn test_cases(
        &self,
        report_arn: &str,
        after: i64,
        status: Option<&str>,
        keyword: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(i64, TestCaseRow)>, StoreError> {
        let kw = keyword.map(|k| k.to_lowercase());
        let rows = sqlx::query(
            "SELECT seq, status, name, prefix, suite, duration_ns, message, raw_path FROM cb_test_cases \
             WHERE report_arn = $1 AND seq > $2 AND ($3 = '' OR status = $3) ORDER BY seq",
        )
        .bind(report_arn)
        .bind(after)
        .bind(status.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let row = TestCaseRow {
                status: r.get(1),
                name: r.get(2),
                prefix: r.get(3),
                suite: r.get(4),
                duration_ns: r.get(5),
                message: r.get(6),
                raw_path: r.get(7),
            };
            if let Some(k) = &kw
                && !row.name.to_lowercase().contains(k.as_str())
                && !row
                    .prefix
                    .as_deref()
                    .unwrap_or("")
                    .to_lowercase()
                    .contains(k.as_str())
            {
                continue;
            }
            out.push((r.get(0), row));
            if out.len() as i64 >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Every coverage row of a report, by file path.
    pub async fn coverage(&self, report_arn: &str) -> Result<Vec<CoverageRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT file_path, line_pct, lines_covered, lines_missed, branch_pct, branches_covered, branches_missed \
             FROM cb_coverage WHERE report_arn = $1 ORDER BY file_path",
        )
        .bind(report_arn)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| CoverageRow {
                file_path: r.get(0),
                line_pct: r.get(1),
                lines_covered: r.get(2),
                lines_missed: r.get(3),
                branch_pct: r.get(4),
                branches_covered: r.get(5),
                branches_missed: r.get(6),
            })
            .collect())
    }
}
