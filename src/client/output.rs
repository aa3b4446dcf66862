//! How the client prints: aligned tables for people, or the server's JSON for scripts.

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns (the default).
    #[default]
    Table,
    /// The server's JSON answer, one document, for scripts.
    Json,
}

/// `--output` for every client command.
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct OutputArgs {
    /// How to print the result: `table` for people, `json` for scripts (errors too, on
    /// standard error).
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// Left-aligned columns separated by two spaces, with a header row; cells are single-line
/// (line breaks shown as spaces) so a row stays a row.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let clean = |s: &str| s.replace(['\n', '\r', '\t'], " ");
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, &w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A Unix time in milliseconds as `YYYY-MM-DD HH:MM` (UTC, so every reader sees one time).
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ms.to_string())
}

pub fn opt_time(ms: Option<i64>) -> String {
    ms.map(time).unwrap_or_else(|| "-".into())
}

pub fn json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value serialises") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let t = table(
            &["NAME", "DESCRIPTION", "CREATED"],
            &[
                vec!["A".into(), "first\nline".into(), "x".into()],
                vec!["LONG_NAME".into(), "".into(), "y".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME       DESCRIPTION  CREATED\nA          first line   x\nLONG_NAME               y\n"
        );
    }

    #[test]
    fn times_are_utc_minutes() {
        assert_eq!(time(0), "1970-01-01 00:00");
        assert_eq!(time(1_795_000_000_000), "2026-11-18 11:06");
        assert_eq!(opt_time(None), "-");
    }
}
