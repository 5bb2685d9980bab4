//! Markdown pipe tables, padded so they also read well in a terminal
//! (paste them into `docs/BENCHMARKS.md` as they are).

use std::fmt::Write as _;

/// A table: a header row and data rows; the first column is left-aligned,
/// the others right-aligned.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells are blank, extra cells dropped).
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).collect();
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
    }

    /// The table as Markdown.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(3)
            })
            .collect();
        let mut out = String::new();
        let line = |out: &mut String, cells: &[String]| {
            out.push('|');
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                if i == 0 {
                    let _ = write!(out, " {c:<w$} |");
                } else {
                    let _ = write!(out, " {c:>w$} |");
                }
            }
            out.push('\n');
        };
        line(&mut out, &self.header);
        out.push('|');
        for (i, w) in widths.iter().enumerate() {
            let dashes = "-".repeat(*w);
            if i == 0 {
                let _ = write!(out, " {dashes} |");
            } else {
                let _ = write!(out, " {}: |", &dashes[1..]);
            }
        }
        out.push('\n');
        for r in &self.rows {
            line(&mut out, r);
        }
        out
    }
}

/// `x` with `digits` decimals, or `-` for `None` or a non-finite value.
pub fn num(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "-".to_owned(),
    }
}

/// A ratio as `1.23x` (more decimals below 0.01), or `-`.
pub fn ratio(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() && v.abs() > 0.0 && v.abs() < 0.01 => format!("{v:.5}x"),
        Some(v) if v.is_finite() => format!("{v:.2}x"),
        _ => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_keep_small_figures_and_print_zero_plainly() {
        assert_eq!(ratio(Some(1.234)), "1.23x");
        assert_eq!(ratio(Some(0.00061)), "0.00061x");
        assert_eq!(ratio(Some(0.0)), "0.00x");
        assert_eq!(ratio(None), "-");
    }

    #[test]
    fn renders_markdown() {
        let mut t = Table::new(["case", "ns"]);
        t.row(["small", "12.5"]);
        assert_eq!(
            t.render(),
            "| case  |   ns |\n| ----- | ---: |\n| small | 12.5 |\n"
        );
    }
}
