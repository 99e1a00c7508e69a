//! [`Table`]: the generic query result (named columns, rows of optional text cells),
//! which the CLI prints as table/jsonl/csv and the playbook runner records.

use serde::{Deserialize, Serialize};

/// A query result: named columns and rows of optional text cells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows; each row has one cell per column (`None` is SQL NULL / absent).
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Table {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row. A row shorter than the column list is padded with `None`; cells
    /// beyond the last column are dropped, so every row always has one cell per column.
    pub fn push_row(&mut self, mut row: Vec<Option<String>>) {
        row.resize(self.columns.len(), None);
        self.rows.push(row);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Index of the column called `name` (exact match first, then ASCII case-insensitive).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name).or_else(|| {
            self.columns
                .iter()
                .position(|c| c.eq_ignore_ascii_case(name))
        })
    }

    /// The cells of column `name`, top to bottom (empty when there is no such column).
    pub fn column_values<'t>(&'t self, name: &str) -> impl Iterator<Item = Option<&'t str>> + 't {
        let index = self.column_index(name);
        self.rows
            .iter()
            .filter(move |_| index.is_some())
            .map(move |row| {
                index
                    .and_then(|i| row.get(i))
                    .and_then(|cell| cell.as_deref())
            })
    }

    /// The cell at `row`, column `name`.
    pub fn cell(&self, row: usize, name: &str) -> Option<&str> {
        let index = self.column_index(name)?;
        self.rows.get(row)?.get(index)?.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_padded_and_columns_found() {
        let mut t = Table::new(["a", "B"]);
        t.push_row(vec![Some("1".into())]);
        t.push_row(vec![
            Some("2".into()),
            Some("x".into()),
            Some("dropped".into()),
        ]);
        assert_eq!(t.len(), 2);
        assert_eq!(t.rows[0], vec![Some("1".to_string()), None]);
        assert_eq!(t.rows[1].len(), 2);
        assert_eq!(t.column_index("b"), Some(1));
        assert_eq!(
            t.column_values("b").collect::<Vec<_>>(),
            vec![None, Some("x")]
        );
        assert_eq!(t.column_values("missing").count(), 0);
        assert_eq!(t.cell(1, "a"), Some("2"));
    }
}
