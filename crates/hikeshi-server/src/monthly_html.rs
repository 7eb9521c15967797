//! The monthly report as a standalone HTML document: the API's `format=html` and the report
//! page both answer with it, so it lives beside them rather than in either.

use askama::Template;
use hikeshi_app::reporting::charts;
use hikeshi_app::reporting::monthly::{self, ReportData};

#[derive(Template)]
#[template(path = "monthly_report.html")]
struct MonthlyHtml<'a> {
    d: &'a ReportData,
    category_chart: String,
    severity_chart: String,
    alerts_chart: String,
    trend_chart: String,
}

/// The monthly report as a standalone HTML document.
pub fn monthly_html(d: &ReportData) -> String {
    let pairs = |bars: &[monthly::Bar]| -> Vec<(String, i64, i64)> {
        bars.iter()
            .map(|b| (b.label.clone(), b.current, b.previous))
            .collect()
    };
    let t = |k: &str| d.t.get(k).cloned().unwrap_or_default();
    let legend = (t("current"), t("previous"));
    let page = MonthlyHtml {
        d,
        category_chart: charts::paired_bars(
            charts::ChartName {
                id: "report-category",
                title: &t("by_category"),
            },
            &pairs(&d.by_category),
            (&legend.0, &legend.1),
        ),
        severity_chart: charts::paired_bars(
            charts::ChartName {
                id: "report-severity",
                title: &t("by_severity"),
            },
            &pairs(&d.by_severity),
            (&legend.0, &legend.1),
        ),
        alerts_chart: charts::columns(
            charts::ChartName {
                id: "report-alerts",
                title: &t("alerts_by_level"),
            },
            &d.alerts_by_level
                .iter()
                .map(|b| (format!("  {}", b.label), b.current))
                .collect::<Vec<_>>(),
        ),
        trend_chart: charts::columns(
            charts::ChartName {
                id: "report-trend",
                title: &t("trend_13"),
            },
            &d.trend
                .iter()
                .map(|b| (b.label.clone(), b.current))
                .collect::<Vec<_>>(),
        ),
    };
    page.render()
        .unwrap_or_else(|e| format!("report could not be rendered: {e}"))
}

/// The answer for a monthly report in the form it was asked for.
pub fn monthly_response(
    report: hikeshi_app::reporting::programme::MonthlyReport,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    use hikeshi_app::reporting::programme::MonthlyReport;
    match report {
        MonthlyReport::Json(data) => axum::Json(*data).into_response(),
        MonthlyReport::Html(data) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            monthly_html(&data),
        )
            .into_response(),
        MonthlyReport::Pdf { bytes, file } => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{file}.pdf\""),
                ),
            ],
            bytes,
        )
            .into_response(),
    }
}
