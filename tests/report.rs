//! The checklist renderers on a hand-built checklist: the default template's items (sections
//! A–G) filled with realistic values, detail rows with indicators, a 永久基本农田 warning, a
//! six-point boundary and a map with polygons, a line and points. Expected strings are written
//! out by hand; the PDF is read back with poppler's `pdftotext`, the workbook with calamine.

use std::io::Cursor;

use calamine::{Data, DataType, Reader, Xlsx, open_workbook_from_rs};
use lantu::checklist::map::{MapData, MapLayer};
use lantu::checklist::{
    BlueprintRef, Bound, BoundaryPoint, Checklist, Indicator, Item, Row, Section, SiteIdentity,
    SourceRef, Spgl, Status, Template, Verdict,
};
use lantu::layer::GeomKind;
use lantu::report;

/// Typst markup, a closing bracket run, HTML and a quote: must print as it is.
const INJECTION: &str = r#"#let x = 1; ]] <script>alert(1)</script> \" #panic()"#;

/// The site: a hexagon of 23,400 m² in the plane (150 × 120 rectangle + two triangles of
/// 120 × 50 / 2 = 3,000 and 120 × 40 / 2 = 2,400), easting/northing in EPSG:4546.
const SITE: [(f64, f64); 6] = [
    (600_000.0, 2_420_000.0),
    (600_150.0, 2_420_000.0),
    (600_200.0, 2_420_060.0),
    (600_150.0, 2_420_120.0),
    (600_000.0, 2_420_120.0),
    (599_960.0, 2_420_060.0),
];
/// The ellipsoidal area the checklist carries: 2.340187 ha → 2.3402; × 0.0015 → 35.10 亩.
const ELLIPSOIDAL_M2: f64 = 23_401.87;

fn src(layer: &str, title: &str, version: i64, hash: &str) -> SourceRef {
    SourceRef {
        layer: layer.into(),
        title: title.into(),
        version,
        hash: hash.into(),
        issuing_body: Some("阳江市自然资源局".into()),
        approval_no: Some(format!("阳府函〔2023〕{version}号")),
        approval_date: Some("2023-06-30".into()),
        vintage: Some("2023".into()),
    }
}

fn sources() -> Vec<SourceRef> {
    vec![
        src(
            "kg",
            "控制性详细规划",
            3,
            "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
        ),
        src(
            "yjjbnt",
            "永久基本农田",
            2,
            "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
        ),
        src(
            "gsmm",
            "古树名木",
            1,
            "9988776655443322110099887766554433221100998877665544332211009988",
        ),
        src(
            "js",
            "供水管线",
            5,
            "5555aaaa5555aaaa5555aaaa5555aaaa5555aaaa5555aaaa5555aaaa5555aaaa",
        ),
    ]
}

fn cells(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn indicator(
    name: &str,
    lower: Option<(&str, f64)>,
    upper: Option<(&str, f64)>,
    text: &str,
) -> Indicator {
    Indicator {
        name: name.into(),
        lower: lower.map(|(op, value)| Bound {
            op: op.into(),
            value,
        }),
        upper: upper.map(|(op, value)| Bound {
            op: op.into(),
            value,
        }),
        unit: String::new(),
        text: text.into(),
    }
}

/// Value, status and detail rows of one template item.
fn fill(id: &str, kind: &str, text: &str) -> (String, Status, Vec<Row>) {
    match id {
        "A1" => ("YD-2024-017".into(), Status::Info, vec![]),
        "A2" => (INJECTION.into(), Status::Info, vec![]),
        "A3" => ("2024-441704-70-01-123456（广东省阳江市阳东区）".into(), Status::Ok, vec![]),
        "A4" => (
            "23,401.87 m²（2.3402 公顷，35.10 亩）".into(),
            Status::Info,
            vec![Row {
                cells: cells(&[("椭球面积", "23,401.87 m²"), ("高斯投影面积", "23,400.00 m²")]),
                indicators: vec![],
            }],
        ),
        "A5" => (
            "X=2,420,060.000, Y=600,080.000（EPSG:4546；E 111.962870°, N 21.870390°）".into(),
            Status::Info,
            vec![],
        ),
        "A6" => ("东城镇（441704100）".into(), Status::Info, vec![]),
        "B1" => (
            "DC-03-07 R2 二类居住用地（占地块 61.54%）：容积率 >1, ≤2.5；建筑密度 ≤30%；绿地率 ≥35%\n\
             DC-03-08 B1 商业用地（占地块 38.46%）：容积率 ≤3.2；建筑限高 ≤54 m"
                .into(),
            Status::Info,
            vec![
                Row {
                    cells: cells(&[
                        ("地块编号", "DC-03-07"),
                        ("用地性质", "R2 二类居住用地"),
                        ("面积(m²)", "14,401.15"),
                        ("占地块比例", "61.54%"),
                    ]),
                    indicators: vec![
                        indicator("容积率", Some((">", 1.0)), Some(("≤", 2.5)), ">1, ≤2.5"),
                        indicator("建筑密度", None, Some(("≤", 30.0)), "≤30%"),
                    ],
                },
                Row {
                    cells: cells(&[
                        ("地块编号", "DC-03-08"),
                        ("用地性质", "B1 商业用地"),
                        ("面积(m²)", "9,000.72"),
                        ("占地块比例", "38.46%"),
                    ]),
                    indicators: vec![indicator("建筑限高", None, Some(("≤", 54.0)), "≤54 m")],
                },
            ],
        ),
        "C1" => (
            "是，1,234.56 m²（0.1235 公顷，1.85 亩），占地块 5.28%。占用永久基本农田，须调整选址或依法报批"
                .into(),
            Status::Warning,
            vec![Row {
                cells: cells(&[
                    ("要素编号", "JBNT-0071"),
                    ("名称", "东城镇永久基本农田保护片"),
                    ("重叠面积(m²)", "1,234.56"),
                    ("占地块比例", "5.28%"),
                ]),
                indicators: vec![],
            }],
        ),
        "D1" => (
            "已完成区域评估：区域评估 DZ-2022-03（阳江市地震局 2022-05-10 批复，有效期至 2027-05-10）；结论：可建设。可实行告知承诺制"
                .into(),
            Status::Ok,
            vec![Row {
                cells: cells(&[
                    ("评估编号", "QYPG-DZ-03"),
                    ("报告编号", "DZ-2022-03"),
                    ("覆盖比例", "100.00%"),
                    ("有效期至", "2027-05-10"),
                    ("是否有效", "是"),
                ]),
                indicators: vec![],
            }],
        ),
        "D2" => ("未纳入区域评估范围，需开展项目级地质灾害危险性评估".into(), Status::Required, vec![]),
        "E3" => (
            "发现 1 处（其中位于或穿越地块 0 处），最近距离 12.40 m".into(),
            Status::Warning,
            vec![Row {
                cells: cells(&[
                    ("编号", "GS-441704-0032"),
                    ("树种", "细叶榕"),
                    ("级别", "二级"),
                    ("树龄", "310"),
                    ("距离", "12.40 m"),
                    ("保护范围", "15.0 m"),
                ]),
                indicators: vec![],
            }],
        ),
        "E5" => (
            "发现 1 处（其中位于或穿越地块 1 处），最近距离 0.00 m".into(),
            Status::Info,
            vec![Row {
                cells: cells(&[
                    ("编号", "JS-DN300-118"),
                    ("管径(mm)", "300"),
                    ("材质", "球墨铸铁"),
                    ("权属单位", "阳东区供水公司"),
                    ("距离", "位于地块内/穿越地块"),
                    ("管线净距", "1.5 m"),
                    ("地块内长度", "86.25 m"),
                ]),
                indicators: vec![],
            }],
        ),
        _ => match kind {
            "text" | "note" => (text.to_string(), Status::Info, vec![]),
            "overlap" => ("否。".into(), Status::Ok, vec![]),
            "inside" => ("是，全部位于城镇开发边界内。".into(), Status::Ok, vec![]),
            "assessment" => (
                "已完成区域评估：区域评估 QY-2022（阳东区人民政府 2022-09-01 批复，有效期至 2027-09-01）".into(),
                Status::Ok,
                vec![],
            ),
            "proximity" => ("未发现".into(), Status::Ok, vec![]),
            _ => ("—".into(), Status::Info, vec![]),
        },
    }
}

fn checklist() -> Checklist {
    let template = Template::default_template().expect("template");
    let s = sources();
    let sections = template
        .sections
        .iter()
        .map(|ts| Section {
            id: ts.id.clone(),
            title: ts.title.clone(),
            items: ts
                .items
                .iter()
                .map(|t| {
                    let (value, status, rows) = fill(&t.id, &t.kind, &t.value);
                    let sources = match t.id.as_str() {
                        "B1" => vec![s[0].clone()],
                        "C1" => vec![s[1].clone()],
                        "E3" => vec![s[2].clone()],
                        "E5" => vec![s[3].clone()],
                        _ => vec![],
                    };
                    Item {
                        id: t.id.clone(),
                        name: t.name.clone(),
                        value,
                        unit: t.unit.clone(),
                        status,
                        department: t.department.clone(),
                        rule: t.rule.clone(),
                        basis: t.basis.clone(),
                        sources,
                        rows,
                    }
                })
                .collect(),
        })
        .collect();
    // The 界址点 table lists northing as X, easting as Y, and closes the ring.
    let mut boundary: Vec<BoundaryPoint> = SITE
        .iter()
        .enumerate()
        .map(|(i, &(e, n))| BoundaryPoint {
            name: format!("J{}", i + 1),
            ring: 1,
            x: n,
            y: e,
        })
        .collect();
    boundary.push(BoundaryPoint {
        name: "J1".into(),
        ring: 1,
        x: SITE[0].1,
        y: SITE[0].0,
    });
    let mut c = Checklist {
        title: template.title.clone(),
        template_version: template.version.clone(),
        issuer: template.issuer.clone(),
        issued_at: "2024-11-05T09:30:00+08:00".into(),
        site: SiteIdentity {
            id: "YD-2024-017".into(),
            name: INJECTION.into(),
            project_code: Some("2024-441704-70-01-123456".into()),
            area_m2: 23_400.0,
            ellipsoidal_area_m2: ELLIPSOIDAL_M2,
            area_ha: 2.340187,
            area_mu: 35.102805,
            town: "东城镇".into(),
            point_e: 600_080.0,
            point_n: 2_420_060.0,
            lon: 111.96287,
            lat: 21.87039,
            crs: "EPSG:4546".into(),
            boundary,
        },
        verdicts: vec![
            Verdict {
                item: "C1".into(),
                line: "永久基本农田".into(),
                status: Status::Warning,
                text: "占用永久基本农田，须调整选址或依法报批".into(),
                area_m2: 1_234.56,
            },
            Verdict {
                item: "C2".into(),
                line: "生态保护红线".into(),
                status: Status::Ok,
                text: "未占用生态保护红线".into(),
                area_m2: 0.0,
            },
            Verdict {
                item: "C3".into(),
                line: "城镇开发边界".into(),
                status: Status::Ok,
                text: "位于城镇开发边界内".into(),
                area_m2: 0.0,
            },
        ],
        sections,
        spgl: Spgl {
            xmdm: Some("2024-441704-70-01-123456".into()),
            sfwcqypg: "否".into(),
            ydmj: ELLIPSOIDAL_M2,
            xmjsddx: 111.96287,
            xmjsddy: 21.87039,
            jsddxzqh: "441704100".into(),
        },
        blueprint: BlueprintRef {
            name: "阳东区一张蓝图（样例）".into(),
            version: 7,
            crs: "EPSG:4546".into(),
            layers: s,
        },
        params: serde_json::json!({"verdict_min_m2": 1.0}),
        sha256: String::new(),
    };
    c.seal().expect("seal");
    c
}

fn ring(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut r = pts.to_vec();
    r.push(pts[0]);
    r
}

fn map() -> MapData {
    MapData {
        frame: [599_880.0, 2_419_920.0, 600_280.0, 2_420_200.0],
        site: vec![vec![ring(&SITE)]],
        layers: vec![
            MapLayer {
                layer: "kg".into(),
                title: "控制性详细规划".into(),
                kind: GeomKind::Polygon,
                color: "#f4a582".into(),
                shapes: vec![
                    vec![ring(&[
                        (599_900.0, 2_419_950.0),
                        (600_100.0, 2_419_950.0),
                        (600_100.0, 2_420_180.0),
                        (599_900.0, 2_420_180.0),
                    ])],
                    vec![ring(&[
                        (600_100.0, 2_419_950.0),
                        (600_260.0, 2_419_950.0),
                        (600_260.0, 2_420_180.0),
                        (600_100.0, 2_420_180.0),
                    ])],
                ],
            },
            MapLayer {
                layer: "yjjbnt".into(),
                // A title from data with markup in it: escaped in the SVG.
                title: "永久基本农田 <b>&</b>".into(),
                kind: GeomKind::Polygon,
                color: "#e6c229".into(),
                shapes: vec![vec![ring(&[
                    (599_940.0, 2_420_020.0),
                    (599_990.0, 2_420_020.0),
                    (599_990.0, 2_420_060.0),
                    (599_940.0, 2_420_060.0),
                ])]],
            },
            MapLayer {
                layer: "js".into(),
                title: "供水管线".into(),
                kind: GeomKind::Line,
                color: "#00bcd4".into(),
                shapes: vec![vec![vec![
                    (599_890.0, 2_420_090.0),
                    (600_270.0, 2_420_070.0),
                ]]],
            },
            MapLayer {
                layer: "gsmm".into(),
                title: "古树名木".into(),
                kind: GeomKind::Point,
                color: "#1b5e20".into(),
                shapes: vec![vec![vec![(600_212.4, 2_420_060.0)]]],
            },
        ],
    }
}

/// Keeps a rendered document for a look by eye when `LANTU_REPORT_OUT` names a folder.
fn keep(name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("LANTU_REPORT_OUT") {
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).expect("write kept output");
    }
}

#[cfg(feature = "pdf")]
mod pdf {
    use std::process::Command;
    use std::time::Instant;

    use super::*;

    /// All whitespace removed: pdftotext spaces CJK text and table columns as it likes.
    fn squeeze(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    #[test]
    fn pdf_has_every_part_prints_user_text_literally_and_is_small() {
        let c = checklist();
        let m = map();
        let t = Instant::now();
        let pdf = report::render_pdf(&c, &m).expect("pdf");
        let first = t.elapsed();
        let t = Instant::now();
        let again = report::render_pdf(&c, &m).expect("pdf");
        let second = t.elapsed();
        eprintln!(
            "PDF: {} bytes; first render {:.0} ms (loads fonts), second {:.0} ms",
            pdf.len(),
            first.as_secs_f64() * 1e3,
            second.as_secs_f64() * 1e3
        );
        assert_eq!(pdf, again, "the same checklist renders to the same bytes");
        keep("checklist.pdf", &pdf);
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 2 * 1024 * 1024, "PDF is {} bytes", pdf.len());

        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("checklist.pdf");
        std::fs::write(&path, &pdf).expect("write");
        let out = Command::new("pdftotext")
            .arg("-layout")
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils) runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let flat = squeeze(&text);
        let has = |s: &str| flat.contains(&squeeze(s));

        assert!(has("土地资源和技术控制指标清单"), "{text}");
        assert!(has("阳江市自然资源局阳东分局"), "{text}");
        for title in [
            "A. 地块基本情况",
            "B. 规划条件",
            "C. 土地资源现状与三线管控",
            "D. 区域评估",
            "E. 现状普查",
            "F. 部门技术要求与市政接入",
            "G. 经济指标（工业用地）",
            "H. 数据来源",
            "界址点坐标",
        ] {
            assert!(has(title), "section {title} missing:\n{text}");
        }
        for name in ["地块编号", "用地面积", "古树名木", "供水接入", "亩均税收"]
        {
            assert!(has(name), "item {name} missing:\n{text}");
        }
        // Areas as printed: ellipsoidal and projected, m² / 公顷 / 亩.
        for area in [
            "23,401.87 m²",
            "2.3402 公顷",
            "35.10 亩",
            "23,400.00 m²",
            "2.3400 公顷",
        ] {
            assert!(has(area), "area {area} missing:\n{text}");
        }
        // The verdict warning and its area.
        assert!(has("占用永久基本农田，须调整选址或依法报批"), "{text}");
        assert!(has("1,234.56 m²"), "{text}");
        assert!(has("警示"), "{text}");
        // Detail rows with indicators, a tree with its distance.
        assert!(has("DC-03-07") && has("容积率 >1, ≤2.5"), "{text}");
        assert!(has("细叶榕") && has("12.40 m"), "{text}");
        // Sources: blueprint name@version, layer version, short hash, approval.
        assert!(has("阳东区一张蓝图（样例）@7"), "{text}");
        assert!(has("a1b2c3d4e5f6") && has("阳府函〔2023〕3号"), "{text}");
        // 界址点: northing as X with 3 decimals.
        assert!(
            has("J6") && has("2420060.000") && has("599960.000"),
            "{text}"
        );
        // SPGL.
        assert!(has("sfwcqypg") && has("441704100"), "{text}");
        // The injection string prints literally.
        assert!(has(INJECTION), "injection string not literal:\n{text}");

        // Every page is footed with its number and the hash.
        let pages: Vec<&str> = text
            .split('\u{c}')
            .filter(|p| !p.trim().is_empty())
            .collect();
        assert!(
            pages.len() >= 2,
            "expected several pages, got {}",
            pages.len()
        );
        let n = pages.len();
        for (i, page) in pages.iter().enumerate() {
            let p = squeeze(page);
            assert!(
                p.contains(&format!("第{}页/共{}页", i + 1, n)),
                "page {} footer missing:\n{page}",
                i + 1
            );
            assert!(
                p.contains(&format!("校验码{}", c.sha256)),
                "page {} lacks the hash",
                i + 1
            );
        }
    }
}

#[test]
fn html_is_self_contained_escaped_and_has_the_map() {
    let c = checklist();
    let html = report::render_html(&c, &map()).expect("html");
    keep("checklist.html", html.as_bytes());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(r#"<html lang="zh-CN">"#));
    // Escaped, never raw.
    assert!(!html.contains("<script>"), "raw script tag in HTML");
    // minijinja's HTML escaping also escapes `/` (as `&#x2f;`).
    assert!(
        html.contains(
            "#let x = 1; ]] &lt;script&gt;alert(1)&lt;&#x2f;script&gt; \\&quot; #panic()"
        )
    );
    assert!(
        html.contains("&lt;b&gt;&amp;&lt;/b&gt;"),
        "legend title escaped in the SVG"
    );
    // Self-contained: no external stylesheet, script or image.
    for needle in [
        "<link",
        "<script",
        "src=\"http",
        "href=\"http",
        "@import",
        "url(http",
    ] {
        assert!(!html.contains(needle), "external asset `{needle}`");
    }
    assert!(html.contains("@page") && html.contains("size: A4"));
    // Content.
    for s in [
        "A. 地块基本情况",
        "G. 经济指标（工业用地）",
        "H. 数据来源",
        "23,401.87 m²（2.3402 公顷，35.10 亩）",
        "占用永久基本农田，须调整选址或依法报批",
        "容积率 &gt;1, ≤2.5",
        "2420120.000",
        "阳东区一张蓝图（样例）@7",
        &c.sha256,
    ] {
        assert!(html.contains(s), "HTML lacks {s}");
    }
    // The value's line break survives.
    assert!(html.contains("38.46%）：容积率 ≤3.2；建筑限高 ≤54 m"));
    assert!(html.contains("35%<br>DC-03-08"));
    // The verdict row is marked as a warning.
    assert!(html.contains(r#"<tr class="warn"><td>永久基本农田</td>"#));
    // The map: inline SVG with the site, all four layers, the scale bar and the legend.
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    for layer in ["site", "kg", "yjjbnt", "js", "gsmm"] {
        assert!(
            html.contains(&format!("data-layer=\"{layer}\"")),
            "map lacks {layer}"
        );
    }
    assert!(html.contains("data-role=\"scale-bar\"") && html.contains("data-role=\"north-arrow\""));
    assert!(html.contains(">古树名木</text>") && html.contains(">地块范围</text>"));
}

#[test]
fn map_scale_bar_is_true_to_the_frame() {
    // Frame 400 m × 280 m in a 760 × 300 figure: legend 220 px, map area 760-220-16 = 524 by
    // 300-16 = 284 px, so the height limits the scale to 284/280 = 1.0143 px/m; a quarter of
    // the map width is 131 px = 129.2 m → a 100 m bar of 101.4 px, drawn as two 50.7 px halves.
    let svg = report::map_svg(&map(), 760, 300);
    assert!(svg.contains(">100 m</text>"), "{svg}");
    assert!(svg.contains(r#"width="50.7" height="4""#), "{svg}");
}

#[test]
fn xlsx_has_the_items_the_boundary_the_sources_and_spgl() {
    let c = checklist();
    let bytes = report::render_xlsx(&c).expect("xlsx");
    keep("checklist.xlsx", &bytes);
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).expect("calamine opens it");
    assert_eq!(wb.sheet_names(), ["清单", "界址点", "数据来源", "SPGL"]);

    let items = wb.worksheet_range("清单").expect("清单");
    let text_rows: Vec<Vec<String>> = items
        .rows()
        .map(|r| r.iter().map(|d| d.to_string()).collect())
        .collect();
    let find = |id: &str| {
        text_rows.iter().find(|r| {
            r.get(1).map(String::as_str) == Some(id)
                && r.get(3).is_some_and(|n| !n.contains("明细"))
        })
    };
    let template = Template::default_template().expect("template");
    let n_items: usize = template.sections.iter().map(|s| s.items.len()).sum();
    for s in &template.sections {
        for t in &s.items {
            let row = find(&t.id);
            assert!(row.is_some(), "item {} missing", t.id);
            let row = row.expect("checked above");
            assert_eq!(row[3], t.name);
            assert_eq!(row[2], s.title);
        }
    }
    let last = find("G3").expect("G3");
    assert_eq!(last[0], n_items.to_string(), "running number");
    let a2 = find("A2").expect("A2");
    assert_eq!(a2[4], INJECTION, "text stays text");
    let c1 = find("C1").expect("C1");
    assert_eq!(c1[6], "警示");
    assert!(c1[4].starts_with("是，1,234.56 m²"));
    let b1 = find("B1").expect("B1");
    assert!(b1[4].contains("≤30%；绿地率 ≥35%\nDC-03-08"), "{:?}", b1[4]);
    assert!(
        text_rows
            .iter()
            .any(|r| r.get(1).map(String::as_str) == Some("B1")
                && r[4].contains("地块编号：DC-03-07")
                && r[4].contains("规划指标：容积率 >1, ≤2.5；建筑密度 ≤30%")),
        "detail row of B1 missing"
    );
    assert!(
        text_rows
            .iter()
            .any(|r| r.iter().any(|x| x.contains(&c.sha256)))
    );

    let b = wb.worksheet_range("界址点").expect("界址点");
    let rows: Vec<&[Data]> = b.rows().collect();
    assert_eq!(rows.len(), 1 + 7, "header + 6 points + closing point");
    assert_eq!(rows[0][0].to_string(), "点号");
    for (i, &(e, n)) in SITE.iter().enumerate() {
        let r = rows[i + 1];
        assert_eq!(r[0].to_string(), format!("J{}", i + 1));
        assert_eq!(r[1].as_f64(), Some(1.0));
        assert_eq!(r[2].as_f64(), Some(n), "X is the northing");
        assert_eq!(r[3].as_f64(), Some(e), "Y is the easting");
    }
    assert_eq!(rows[7][0].to_string(), "J1");

    let s = wb.worksheet_range("数据来源").expect("数据来源");
    let srows: Vec<Vec<String>> = s
        .rows()
        .map(|r| r.iter().map(|d| d.to_string()).collect())
        .collect();
    assert!(
        srows
            .iter()
            .any(|r| r.iter().any(|c| c.contains("阳东区一张蓝图（样例）@7")))
    );
    let kg = srows.iter().find(|r| r[0] == "kg").expect("kg row");
    assert_eq!(
        kg[1..5],
        [
            "控制性详细规划",
            "v3",
            "a1b2c3d4e5f6",
            "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
        ]
    );
    assert_eq!(kg[6], "阳府函〔2023〕3号");

    let sp = wb.worksheet_range("SPGL").expect("SPGL");
    let ydmj = sp.rows().find(|r| r[0] == "ydmj").expect("ydmj row");
    assert_eq!(ydmj[2].as_f64(), Some(ELLIPSOIDAL_M2));
    let sf = sp
        .rows()
        .find(|r| r[0] == "sfwcqypg")
        .expect("sfwcqypg row");
    assert_eq!(sf[2].to_string(), "否");
}
