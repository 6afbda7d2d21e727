//! Human output: plain aligned columns (no borders, no terminal-width guessing, so what a
//! script or a snapshot test sees is what a person sees) and the small formatters the
//! tables share.

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

/// A column: its header and whether its cells are numbers (right-aligned).
pub struct Col(pub &'static str, pub bool);

/// A table with `cols` and `rows` (each row as many cells as columns), rendered with a
/// trailing newline and no trailing spaces.
pub fn render(cols: &[Col], rows: &[Vec<String>]) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(cols.iter().map(|c| c.0));
    for row in rows {
        table.add_row(row);
    }
    for (i, col) in cols.iter().enumerate() {
        if let Some(column) = table.column_mut(i) {
            column.set_padding((0, 2));
            if col.1 {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    let mut out = String::new();
    for line in table.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// How long ago `then_ms` was, both in ms since the Unix epoch, as `4s`, `2m05s`,
/// `3h07m`, `5d02h`; `never` for 0 (cjdns's "no packet yet").
pub fn age(now_ms: u64, then_ms: u64) -> String {
    if then_ms == 0 {
        return "never".into();
    }
    duration(now_ms.saturating_sub(then_ms) / 1000)
}

/// A span of seconds in the same short form as [`age`].
pub fn duration(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..=86_399 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{:02}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// A byte count as `512 B`, `4.4 KiB`, `12.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_sizes() {
        assert_eq!(age(10_000, 0), "never");
        assert_eq!(age(10_000, 12_000), "0s");
        assert_eq!(age(130_000, 5_000), "2m05s");
        assert_eq!(duration(3 * 3600 + 7 * 60), "3h07m");
        assert_eq!(duration(5 * 86_400 + 2 * 3600 + 1), "5d02h");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(4476), "4.4 KiB");
        assert_eq!(bytes(12 * 1024 * 1024), "12.0 MiB");
    }

    #[test]
    fn numbers_right_aligned_no_trailing_space() {
        let out = render(
            &[Col("NAME", false), Col("N", true)],
            &[
                vec!["a".into(), "1".into()],
                vec!["bbb".into(), "100".into()],
            ],
        );
        assert_eq!(out, "NAME    N\na       1\nbbb   100\n");
    }
}
