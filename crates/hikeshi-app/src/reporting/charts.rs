//! Charts as SVG text for the pages: horizontal bars (current beside previous), columns over
//! time, and the maturity radar. Labels are escaped; sizes are fixed so pages do not jump.

use std::fmt::Write;

const CURRENT: &str = "#c0392b";
const PREVIOUS: &str = "#95a5a6";

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A chart's element id and the words a screen reader says for it (its section's heading).
#[derive(Debug, Clone, Copy)]
pub struct ChartName<'a> {
    pub id: &'a str,
    pub title: &'a str,
}

/// The opening `<svg>` with its accessible name, as an attribute and as the first `<title>`.
fn open(name: ChartName, width: &str, height: &str) -> String {
    format!(
        r#"<svg id="{id}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{title}"><title>{title}</title>"#,
        id = esc(name.id),
        title = esc(name.title),
    )
}

/// One row per label with the current value's bar and, under it, the previous period's.
pub fn paired_bars(name: ChartName, rows: &[(String, i64, i64)], legend: (&str, &str)) -> String {
    let row_h = 26;
    let label_w = 170.0;
    let bar_w = 300.0;
    let height = rows.len() as i64 * row_h + 30;
    let max = rows.iter().map(|r| r.1.max(r.2)).max().unwrap_or(0).max(1) as f64;
    let mut svg = open(name, "520", &height.to_string());
    for (i, (label, current, previous)) in rows.iter().enumerate() {
        let y = i as i64 * row_h + 4;
        let wc = *current as f64 / max * bar_w;
        let wp = *previous as f64 / max * bar_w;
        let _ = write!(
            svg,
            r##"<text x="0" y="{}" font-size="12">{}</text><rect x="{label_w}" y="{y}" width="{wc:.1}" height="10" fill="{CURRENT}"/><text x="{:.1}" y="{}" font-size="10">{current}</text><rect x="{label_w}" y="{}" width="{wp:.1}" height="8" fill="{PREVIOUS}"/><text x="{:.1}" y="{}" font-size="10" fill="#555">{previous}</text>"##,
            y + 12,
            esc(label),
            label_w + wc + 4.0,
            y + 9,
            y + 11,
            label_w + wp + 4.0,
            y + 19,
        );
    }
    let ly = height - 10;
    let _ = write!(
        svg,
        r#"<rect x="{label_w}" y="{}" width="10" height="10" fill="{CURRENT}"/><text x="{}" y="{ly}" font-size="11">{}</text><rect x="{}" y="{}" width="10" height="10" fill="{PREVIOUS}"/><text x="{}" y="{ly}" font-size="11">{}</text></svg>"#,
        ly - 9,
        label_w + 14.0,
        esc(legend.0),
        label_w + 140.0,
        ly - 9,
        label_w + 154.0,
        esc(legend.1),
    );
    svg
}

/// Columns over time (months or quarters), the value above each.
pub fn columns(name: ChartName, points: &[(String, i64)]) -> String {
    let col_w = 36.0;
    let chart_h = 140.0;
    let width = (points.len() as f64 * col_w + 10.0).max(100.0);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let mut svg = open(name, &width.to_string(), "190");
    for (i, (label, value)) in points.iter().enumerate() {
        let h = *value as f64 / max * chart_h;
        let x = i as f64 * col_w + 6.0;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{CURRENT}"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{value}</text><text x="{:.1}" y="180" font-size="9" text-anchor="middle">{}</text>"#,
            chart_h + 15.0 - h,
            col_w - 10.0,
            x + (col_w - 10.0) / 2.0,
            chart_h + 12.0 - h,
            x + (col_w - 10.0) / 2.0,
            esc(label.get(2..).unwrap_or(label)),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A radar of per-area scores on a 0–4 scale: as-is filled, to-be outlined.
pub fn radar(
    name: ChartName,
    axes: &[String],
    as_is: &[f64],
    to_be: &[f64],
    legend: (&str, &str),
) -> String {
    let (cx, cy, r) = (260.0, 190.0, 130.0);
    let n = axes.len().max(3) as f64;
    let point = |i: usize, v: f64| {
        let angle = -std::f64::consts::FRAC_PI_2 + i as f64 * std::f64::consts::TAU / n;
        (
            cx + r * v / 4.0 * angle.cos(),
            cy + r * v / 4.0 * angle.sin(),
        )
    };
    let polygon = |values: &[f64]| {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let (x, y) = point(i, v.clamp(0.0, 4.0));
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = open(name, "520", "400");
    for ring in 1..=4 {
        let ring_values = vec![ring as f64; axes.len()];
        let _ = write!(
            svg,
            r##"<polygon points="{}" fill="none" stroke="#ccc"/>"##,
            polygon(&ring_values)
        );
    }
    for (i, axis) in axes.iter().enumerate() {
        let (x, y) = point(i, 4.0);
        let (lx, ly) = point(i, 4.6);
        let anchor = if (lx - cx).abs() < 5.0 {
            "middle"
        } else if lx > cx {
            "start"
        } else {
            "end"
        };
        let _ = write!(
            svg,
            r##"<line x1="{cx}" y1="{cy}" x2="{x:.1}" y2="{y:.1}" stroke="#ccc"/><text x="{lx:.1}" y="{ly:.1}" font-size="11" text-anchor="{anchor}">{}</text>"##,
            esc(axis)
        );
    }
    let _ = write!(
        svg,
        r##"<polygon class="to-be" points="{}" fill="none" stroke="#2c3e50" stroke-width="2" stroke-dasharray="5,3"/><polygon class="as-is" points="{}" fill="{CURRENT}" fill-opacity="0.35" stroke="{CURRENT}" stroke-width="2"/>"##,
        polygon(to_be),
        polygon(as_is)
    );
    let _ = write!(
        svg,
        r##"<rect x="10" y="375" width="10" height="10" fill="{CURRENT}"/><text x="24" y="384" font-size="11">{}</text><rect x="120" y="379" width="14" height="2" fill="#2c3e50"/><text x="138" y="384" font-size="11">{}</text></svg>"##,
        esc(legend.0),
        esc(legend.1)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale() {
        let svg = paired_bars(
            ChartName {
                id: "c",
                title: "<t>",
            },
            &[("<x>".into(), 10, 5)],
            ("now", "before"),
        );
        assert!(svg.contains("&lt;x&gt;"));
        assert!(svg.contains(r#"width="300.0""#));
        assert!(svg.contains(r#"width="150.0""#));
        assert!(svg.contains(r#"aria-label="&lt;t&gt;"><title>&lt;t&gt;</title>"#));
    }
}
