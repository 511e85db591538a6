//! Plain-text tables with left-aligned columns, for terminal output.

use serde_json::Value;

/// Default maximum width of one cell, in characters.
pub const DEFAULT_MAX_CELL: usize = 60;

/// A table: a header row and data rows of string cells.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    max_cell: usize,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            max_cell: DEFAULT_MAX_CELL,
        }
    }

    /// Sets the maximum cell width (at least 2); longer cells end in `…`.
    pub fn max_cell(mut self, width: usize) -> Self {
        self.max_cell = width.max(2);
        self
    }

    /// Appends a row; missing cells are empty, extra cells are dropped.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut row: Vec<String> = cells
            .into_iter()
            .map(|c| clean(&c.into(), self.max_cell))
            .collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as lines separated by two spaces between columns, without
    /// trailing spaces, ending in a newline.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Replaces control characters (which would break the layout) by spaces and
/// truncates to `max` characters.
fn clean(s: &str, max: usize) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() <= max {
        return s;
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

/// A JSON value as a compact cell: strings without quotes, `null` as empty,
/// arrays joined with `", "`, objects as compact JSON.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn columns_are_aligned_without_trailing_spaces() {
        let mut t = Table::new(&["ID", "NAME", "OS"]);
        t.row(["1", "web01", "Debian"]);
        t.row(["1234", "db", ""]);
        assert_eq!(
            t.render(),
            "ID    NAME   OS\n1     web01  Debian\n1234  db\n"
        );
    }

    #[test]
    fn short_and_long_rows_are_normalised() {
        let mut t = Table::new(&["A", "B"]);
        t.row(["x"]);
        t.row(["y", "z", "dropped"]);
        assert_eq!(t.render(), "A  B\nx\ny  z\n");
        assert!(!t.is_empty());
        assert_eq!(Table::new(&["ONLY"]).render(), "ONLY\n");
    }

    #[test]
    fn long_cells_are_truncated_and_control_chars_removed() {
        let mut t = Table::new(&["K", "V"]).max_cell(10);
        t.row(["k", &"x".repeat(50)]);
        t.row(["héllo wörld, how are you", "a\nb\tc"]);
        let out = t.render();
        assert!(out.contains(&format!("{}…", "x".repeat(9))), "{out}");
        assert!(out.contains("héllo wör…  a b c"), "{out}");
        assert!(
            out.lines().all(|l| l.chars().count() <= 10 + 2 + 10),
            "{out}"
        );
        let mut d = Table::new(&["V"]);
        d.row(["y".repeat(200)]);
        assert_eq!(
            d.render().lines().nth(1).unwrap().chars().count(),
            DEFAULT_MAX_CELL
        );
    }

    #[test]
    fn json_cells_are_compact() {
        assert_eq!(cell(&json!("web01")), "web01");
        assert_eq!(cell(&json!(8)), "8");
        assert_eq!(cell(&json!(true)), "true");
        assert_eq!(cell(&json!(null)), "");
        assert_eq!(cell(&json!(["10.0.0.5", "fe80::1"])), "10.0.0.5, fe80::1");
        assert_eq!(cell(&json!({"a": 1})), r#"{"a":1}"#);
    }
}
