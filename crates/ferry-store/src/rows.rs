//! Statements that write many rows at once: the `VALUES` list of a multi-row `INSERT`, and
//! how many rows one statement takes.

use crate::Backend;

/// Rows written by one statement (at most 10 values each, far below every engine's limit on
/// parameters).
pub(crate) const PER_STATEMENT: usize = 50;

/// `($1, $2, ...), (...)` for `rows` rows: a column is a parameter where `columns` holds ""
/// and that SQL text otherwise; parameters are numbered on across the rows. On SQLite they
/// are plain `?` (taken in order): SQLite finds a numbered parameter's name by a walk of
/// all of them, so binding hundreds of numbered ones costs their number squared.
pub(crate) fn values(backend: Backend, rows: usize, columns: &[&str]) -> String {
    let mut n = 0;
    let mut sql = String::new();
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for (c, fixed) in columns.iter().enumerate() {
            if c > 0 {
                sql.push_str(", ");
            }
            if fixed.is_empty() {
                n += 1;
                match backend {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => sql.push_str(&format!("${n}")),
                }
            } else {
                sql.push_str(fixed);
            }
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use crate::Backend;

    #[test]
    fn parameters_are_numbered_across_rows() {
        assert_eq!(super::values(Backend::Postgres, 1, &["", "0"]), "($1, 0)");
        assert_eq!(
            super::values(Backend::Postgres, 3, &["", "'X'", ""]),
            "($1, 'X', $2), ($3, 'X', $4), ($5, 'X', $6)"
        );
        assert_eq!(
            super::values(Backend::Sqlite, 2, &["", "'X'", ""]),
            "(?, 'X', ?), (?, 'X', ?)"
        );
    }
}
