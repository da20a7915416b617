//! Renderers of the 土地资源和技术控制指标清单: printable HTML, PDF (Typst) and XLSX.
//!
//! All three read one view of the checklist ([`View`]) in which every number is already
//! formatted the way the checklist prints it, so the documents agree to the character. The PDF
//! and HTML share the map figure ([`map_svg`]). User strings never become markup: HTML goes
//! through minijinja's autoescape, the SVG through XML escaping, and the PDF reads its data as
//! JSON inside Typst.

mod dispatch;
pub mod html;
#[cfg(feature = "pdf")]
pub mod pdf;
pub mod svg;
pub mod txt;
pub mod xlsx;

use serde::Serialize;
use thiserror::Error;

use crate::checklist::build::{area_text, fmt_num};
use crate::checklist::{Checklist, Item, SourceRef, Status};

pub use dispatch::{Rendered, render};
pub use html::render_html;
#[cfg(feature = "pdf")]
pub use pdf::{Fonts, render_pdf};
pub use svg::map_svg;
pub use xlsx::render_xlsx;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error(
        "font file {path} is missing or unreadable ({reason}); install the Debian package `fonts-noto-cjk`"
    )]
    FontMissing { path: String, reason: String },
    #[error(
        "font file {path} holds no `{family}` face; install the Debian package `fonts-noto-cjk`"
    )]
    FontFace { path: String, family: String },
    #[error("Typst compile: {0}")]
    Typst(String),
    #[error("PDF export: {0}")]
    PdfExport(String),
    #[error("HTML template: {0}")]
    Html(String),
    #[error("XLSX: {0}")]
    Xlsx(String),
    #[error("report data: {0}")]
    Data(String),
    #[error("rendering: {0}")]
    Render(String),
    #[error("unknown format `{0}`")]
    UnknownFormat(String),
}

/// A label and its printed value.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerdictView {
    pub line: String,
    pub status: String,
    pub text: String,
    pub area: String,
    pub warn: bool,
}

/// An item's detail rows as a table: the union of the rows' cell names, in order of first use.
#[derive(Debug, Clone, Serialize)]
pub struct DetailTable {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    /// Running number across the whole checklist.
    pub no: usize,
    pub id: String,
    pub name: String,
    /// The value split at its line breaks.
    pub lines: Vec<String>,
    pub unit: String,
    pub status: String,
    /// `ok`, `warning`, `required`, `info` or `no_data`.
    pub status_class: String,
    pub department: String,
    pub rule: String,
    pub basis: String,
    /// `控规 v3` for each source layer.
    pub sources: Vec<String>,
    pub detail: Option<DetailTable>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionView {
    pub id: String,
    pub title: String,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceView {
    pub layer: String,
    pub title: String,
    pub version: String,
    pub short_hash: String,
    pub hash: String,
    pub issuing_body: String,
    pub approval_no: String,
    pub approval_date: String,
    pub vintage: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PointView {
    pub name: String,
    pub ring: u32,
    pub x: String,
    pub y: String,
}

/// One SPGL field: its code in the national system, its name and the value.
#[derive(Debug, Clone, Serialize)]
pub struct SpglField {
    pub code: String,
    pub label: String,
    pub value: String,
}

/// Everything a renderer prints, formatted.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub title: String,
    pub issuer: String,
    pub issued_at: String,
    pub template_version: String,
    pub sha256: String,
    pub site: Vec<Field>,
    pub verdicts: Vec<VerdictView>,
    pub sections: Vec<SectionView>,
    /// `name@version`.
    pub blueprint: String,
    pub crs: String,
    pub sources: Vec<SourceView>,
    pub boundary: Vec<PointView>,
    pub spgl: Vec<SpglField>,
}

/// The title of the data-source section, which the renderers add after the template's A–G.
pub const SOURCES_TITLE: &str = "H. 数据来源";
/// The caption of the map figure.
pub const MAP_CAPTION: &str = "地块位置示意图";
/// Characters of the layer hash printed in the source list.
pub const SHORT_HASH: usize = 12;

fn or_dash(s: &str) -> String {
    if s.trim().is_empty() {
        "—".to_string()
    } else {
        s.to_string()
    }
}

fn opt_or_dash(s: &Option<String>) -> String {
    or_dash(s.as_deref().unwrap_or_default())
}

/// A coordinate as the 界址点 table prints it: 3 decimals, no grouping (so it can be copied).
pub fn coord(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "—".to_string()
    }
}

fn degrees(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.6}")
    } else {
        "—".to_string()
    }
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Warning => "warning",
        Status::Required => "required",
        Status::Info => "info",
        Status::NoData => "no_data",
    }
}

fn source_label(s: &SourceRef) -> String {
    format!("{} v{}", s.title, s.version)
}

fn detail(item: &Item) -> Option<DetailTable> {
    if item.rows.is_empty() {
        return None;
    }
    let mut headers: Vec<String> = Vec::new();
    for row in &item.rows {
        for (k, _) in &row.cells {
            if !headers.contains(k) {
                headers.push(k.clone());
            }
        }
    }
    let with_indicators = item.rows.iter().any(|r| !r.indicators.is_empty());
    let rows = item
        .rows
        .iter()
        .map(|row| {
            let mut cells: Vec<String> = headers
                .iter()
                .map(|h| {
                    row.cells
                        .iter()
                        .find(|(k, _)| k == h)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect();
            if with_indicators {
                cells.push(
                    row.indicators
                        .iter()
                        .map(|i| format!("{} {}", i.name, i.text))
                        .collect::<Vec<_>>()
                        .join("；"),
                );
            }
            cells
        })
        .collect();
    if with_indicators {
        headers.push("规划指标".to_string());
    }
    Some(DetailTable { headers, rows })
}

impl View {
    pub fn new(c: &Checklist) -> View {
        let s = &c.site;
        let site = vec![
            ("地块编号", or_dash(&s.id)),
            ("地块名称", or_dash(&s.name)),
            (
                "项目代码",
                s.project_code
                    .clone()
                    .unwrap_or_else(|| "未提供".to_string()),
            ),
            ("坐落", or_dash(&s.town)),
            ("用地面积（椭球）", area_text(s.ellipsoidal_area_m2)),
            ("用地面积（投影）", area_text(s.area_m2)),
            (
                "中心点坐标",
                format!(
                    "X={}, Y={}（{}）",
                    fmt_num(s.point_n, 3),
                    fmt_num(s.point_e, 3),
                    s.crs
                ),
            ),
            (
                "中心点经纬度",
                format!("E {}°, N {}°（CGCS2000）", degrees(s.lon), degrees(s.lat)),
            ),
        ]
        .into_iter()
        .map(|(label, value)| Field {
            label: label.to_string(),
            value,
        })
        .collect();
        let verdicts = c
            .verdicts
            .iter()
            .map(|v| VerdictView {
                line: v.line.clone(),
                status: v.status.label().to_string(),
                text: v.text.clone(),
                area: format!("{} m²", fmt_num(v.area_m2, 2)),
                warn: v.status == Status::Warning,
            })
            .collect();
        let mut no = 0;
        let sections = c
            .sections
            .iter()
            .map(|sec| SectionView {
                id: sec.id.clone(),
                title: sec.title.clone(),
                items: sec
                    .items
                    .iter()
                    .map(|it| {
                        no += 1;
                        ItemView {
                            no,
                            id: it.id.clone(),
                            name: it.name.clone(),
                            lines: it.value.lines().map(str::to_string).collect(),
                            unit: it.unit.clone(),
                            status: it.status.label().to_string(),
                            status_class: status_class(it.status).to_string(),
                            department: it.department.clone(),
                            rule: it.rule.clone(),
                            basis: it.basis.clone(),
                            sources: it.sources.iter().map(source_label).collect(),
                            detail: detail(it),
                        }
                    })
                    .collect(),
            })
            .collect();
        let sources = c
            .blueprint
            .layers
            .iter()
            .map(|l| SourceView {
                layer: l.layer.clone(),
                title: l.title.clone(),
                version: format!("v{}", l.version),
                short_hash: l.hash.chars().take(SHORT_HASH).collect(),
                hash: l.hash.clone(),
                issuing_body: opt_or_dash(&l.issuing_body),
                approval_no: opt_or_dash(&l.approval_no),
                approval_date: opt_or_dash(&l.approval_date),
                vintage: opt_or_dash(&l.vintage),
            })
            .collect();
        let boundary = s
            .boundary
            .iter()
            .map(|p| PointView {
                name: p.name.clone(),
                ring: p.ring,
                x: coord(p.x),
                y: coord(p.y),
            })
            .collect();
        let sp = &c.spgl;
        let spgl = [
            ("xmdm", "项目代码", opt_or_dash(&sp.xmdm)),
            ("sfwcqypg", "是否完成区域评估", or_dash(&sp.sfwcqypg)),
            ("ydmj", "用地面积（m²）", fmt_num(sp.ydmj, 2)),
            ("xmjsddx", "项目建设地点 X（经度）", degrees(sp.xmjsddx)),
            ("xmjsddy", "项目建设地点 Y（纬度）", degrees(sp.xmjsddy)),
            ("jsddxzqh", "建设地点行政区划代码", or_dash(&sp.jsddxzqh)),
        ]
        .into_iter()
        .map(|(code, label, value)| SpglField {
            code: code.to_string(),
            label: label.to_string(),
            value,
        })
        .collect();
        View {
            title: c.title.clone(),
            issuer: c.issuer.clone(),
            issued_at: c.issued_at.clone(),
            template_version: c.template_version.clone(),
            sha256: c.sha256.clone(),
            site,
            verdicts,
            sections,
            blueprint: format!("{}@{}", c.blueprint.name, c.blueprint.version),
            crs: c.blueprint.crs.clone(),
            sources,
            boundary,
            spgl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::{Indicator, Row};

    fn item_with(rows: Vec<Row>) -> Item {
        Item {
            id: "X1".into(),
            name: "测试".into(),
            value: "第一行\n第二行".into(),
            unit: String::new(),
            status: Status::Info,
            department: String::new(),
            rule: String::new(),
            basis: String::new(),
            sources: Vec::new(),
            rows,
        }
    }

    #[test]
    fn detail_headers_are_the_union_in_order_and_missing_cells_are_blank() {
        let rows = vec![
            Row {
                cells: vec![("编号".into(), "T1".into()), ("树种".into(), "榕树".into())],
                indicators: Vec::new(),
            },
            Row {
                cells: vec![
                    ("编号".into(), "P1".into()),
                    ("管径(mm)".into(), "300".into()),
                ],
                indicators: vec![Indicator {
                    name: "容积率".into(),
                    lower: None,
                    upper: None,
                    unit: String::new(),
                    text: "≤2.5".into(),
                }],
            },
        ];
        let d = detail(&item_with(rows)).expect("rows");
        assert_eq!(d.headers, ["编号", "树种", "管径(mm)", "规划指标"]);
        assert_eq!(d.rows[0], ["T1", "榕树", "", ""]);
        assert_eq!(d.rows[1], ["P1", "", "300", "容积率 ≤2.5"]);
        assert!(detail(&item_with(Vec::new())).is_none());
    }

    #[test]
    fn coordinates_have_three_decimals_without_grouping() {
        assert_eq!(coord(2_412_345.678_9), "2412345.679");
        assert_eq!(coord(f64::NAN), "—");
    }
}
