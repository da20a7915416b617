//! Filling the template from a site analysis.

use geo::MultiPolygon;

use super::{
    BlueprintRef, Bound, BoundaryPoint, Checklist, ChecklistError, Indicator, Item, Row, Section,
    SiteIdentity, SourceRef, Spgl, Status, Template, TemplateItem, Verdict, project_code,
};
use crate::blueprint::{Blueprint, LoadedLayer};
use crate::codes::{CodeTables, Construction};
use crate::geometry::area::{hectares, mu};
use crate::layer::Value;
use crate::overlay::{self, IntPoly};
use crate::rules::glob;
use crate::site::{AssessmentHit, ProximityHit, Site, SiteAnalysis};

/// Areas at or above this count as "touching" a line in a verdict; smaller overlaps are the
/// boundary noise of independently drawn lines (the reconcile noise floor).
pub const VERDICT_MIN_M2: f64 = 1.0;

/// Options of one checklist.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub project_code: Option<String>,
    /// RFC 3339 time of issue (part of the hashed content).
    pub issued_at: String,
}

/// Thousands separators and fixed decimals, the way numbers are printed on the checklist.
pub fn fmt_num(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (s.clone(), None),
    };
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if v < 0.0 && v.abs() >= 0.5 * 10f64.powi(-(decimals as i32)) {
        "-"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `12,345.67 m²（1.2346 公顷，18.52 亩）`.
pub fn area_text(m2: f64) -> String {
    format!(
        "{} m²（{} 公顷，{} 亩）",
        fmt_num(m2, 2),
        fmt_num(hectares(m2), 4),
        fmt_num(mu(m2), 2)
    )
}

fn pct(share: f64) -> String {
    format!("{}%", fmt_num(share * 100.0, 2))
}

fn source_of(layer: &LoadedLayer) -> SourceRef {
    let p = &layer.spec().provenance;
    SourceRef {
        layer: layer.id().to_string(),
        title: layer.spec().display_title().to_string(),
        version: layer.version.seq,
        hash: layer.version.hash.clone(),
        issuing_body: p.issuing_body.clone(),
        approval_no: p.approval_no.clone(),
        approval_date: p.approval_date.clone(),
        vintage: p.vintage.clone(),
    }
}

fn item(t: &TemplateItem, value: String, status: Status, sources: Vec<SourceRef>) -> Item {
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
        rows: Vec::new(),
    }
}

fn no_data(t: &TemplateItem, layer: &str) -> Item {
    item(
        t,
        format!("无数据：蓝图中没有图层 `{layer}`"),
        Status::NoData,
        Vec::new(),
    )
}

fn text(v: &Value) -> String {
    match v {
        Value::Real(r) if r.fract() == 0.0 => format!("{}", *r as i64),
        other => other.to_string(),
    }
}

fn field_text(fields: &std::collections::BTreeMap<String, Value>, key: &str) -> Option<String> {
    fields.get(key).map(text).filter(|s| !s.is_empty())
}

/// The indicators of a 控规 parcel from its semantic fields, as ranges with operators.
pub fn indicators(fields: &std::collections::BTreeMap<String, Value>) -> Vec<Indicator> {
    let op_or = |key: &str, default: &str| {
        fields
            .get(key)
            .and_then(|v| v.as_text().map(str::to_string))
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    let mut out = Vec::new();
    let mut push =
        |name: &str, unit: &str, lower: Option<(String, f64)>, upper: Option<(String, f64)>| {
            if lower.is_none() && upper.is_none() {
                return;
            }
            let fmt = |v: f64| {
                let s = format!("{v:.2}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            };
            let mut parts = Vec::new();
            if let Some((op, v)) = &lower {
                parts.push(format!("{op}{}{unit}", fmt(*v)));
            }
            if let Some((op, v)) = &upper {
                parts.push(format!("{op}{}{unit}", fmt(*v)));
            }
            out.push(Indicator {
                name: name.to_string(),
                lower: lower.map(|(op, value)| Bound { op, value }),
                upper: upper.map(|(op, value)| Bound { op, value }),
                unit: unit.to_string(),
                text: parts.join(", "),
            });
        };
    let num = |key: &str| fields.get(key).and_then(Value::as_f64);
    push(
        "容积率",
        "",
        num("far_min").map(|v| (op_or("far_min_op", ">"), v)),
        num("far_max").map(|v| (op_or("far_max_op", "≤"), v)),
    );
    push(
        "建筑密度",
        "%",
        num("density_min").map(|v| (op_or("density_min_op", "≥"), v)),
        num("density_max").map(|v| (op_or("density_max_op", "≤"), v)),
    );
    push(
        "绿地率",
        "%",
        num("green_min").map(|v| (op_or("green_min_op", "≥"), v)),
        num("green_max").map(|v| (op_or("green_max_op", "≤"), v)),
    );
    push(
        "建筑限高",
        " m",
        None,
        num("height_max").map(|v| (op_or("height_max_op", "≤"), v)),
    );
    out
}

fn rule_name(rule: &str) -> &'static str {
    match rule {
        "radius_m" => "保护范围",
        "control_m" => "建设控制地带",
        "safety_m" => "安全防护距离",
        "clearance_m" => "管线净距",
        _ => "距离要求",
    }
}

fn proximity_row(h: &ProximityHit) -> Row {
    let mut cells = vec![("编号".to_string(), h.feature_id.clone())];
    for (key, label) in [
        ("name", "名称"),
        ("species", "树种"),
        ("kind", "类别"),
        ("level", "级别"),
        ("age", "树龄"),
        ("diameter_mm", "管径(mm)"),
        ("voltage_kv", "电压(kV)"),
        ("pressure", "压力级别"),
        ("material", "材质"),
        ("owner", "权属单位"),
    ] {
        if let Some(v) = field_text(&h.fields, key) {
            cells.push((label.to_string(), v));
        }
    }
    cells.push((
        "距离".to_string(),
        if h.distance_m == 0.0 {
            "位于地块内/穿越地块".to_string()
        } else {
            format!("{} m", fmt_num(h.distance_m, 2))
        },
    ));
    cells.push((
        rule_name(&h.rule).to_string(),
        format!("{} m", fmt_num(h.limit_m, 1)),
    ));
    if h.length_inside_m > 0.0 {
        cells.push((
            "地块内长度".to_string(),
            format!("{} m", fmt_num(h.length_inside_m, 2)),
        ));
    }
    Row {
        cells,
        indicators: Vec::new(),
    }
}

fn assessment_value(hits: &[&AssessmentHit], name: &str) -> (String, Status) {
    let covering: Vec<&&AssessmentHit> = hits.iter().filter(|h| h.share_of_site > 0.0).collect();
    let share: f64 = covering
        .iter()
        .fold(0.0, |s, h| s + h.share_of_site)
        .min(1.0);
    if covering.is_empty() {
        return (
            format!("未纳入区域评估范围，需开展项目级{name}"),
            Status::Required,
        );
    }
    let best = covering
        .iter()
        .max_by(|a, b| a.share_of_site.total_cmp(&b.share_of_site))
        .map(|h| **h);
    let Some(h) = best else {
        return (format!("需开展项目级{name}"), Status::Required);
    };
    let report = field_text(&h.fields, "report_no").unwrap_or_else(|| h.feature_id.clone());
    let approver = field_text(&h.fields, "approver").unwrap_or_default();
    let date = field_text(&h.fields, "approval_date").unwrap_or_default();
    let until = h.valid_until.clone().unwrap_or_else(|| "长期".to_string());
    let conclusion = field_text(&h.fields, "conclusion").unwrap_or_default();
    let indicator = match (
        field_text(&h.fields, "indicator_name"),
        field_text(&h.fields, "indicator_value"),
    ) {
        (Some(n), Some(v)) => format!("；{n}：{v}"),
        _ => String::new(),
    };
    let head = format!("区域评估 {report}（{approver} {date} 批复，有效期至 {until}）");
    if share < 0.999 {
        return (
            format!(
                "{head}仅覆盖地块 {}，其余部分需开展项目级{name}",
                pct(share)
            ),
            Status::Required,
        );
    }
    if !h.valid {
        return (
            format!("{head}已过有效期，需重新评估或开展项目级{name}"),
            Status::Required,
        );
    }
    (
        format!("已完成区域评估：{head}；结论：{conclusion}{indicator}。可实行告知承诺制"),
        Status::Ok,
    )
}

/// The two-plan class of the site: area of (site ∩ urban feature ∩ land-use feature) by
/// construction status on each side.
fn two_plan(
    bp: &Blueprint,
    site: &MultiPolygon<f64>,
    urban: &LoadedLayer,
    landuse: &LoadedLayer,
) -> Vec<(String, f64)> {
    let grid = &bp.grid;
    let tables = CodeTables::builtin();
    let flag = |layer: &LoadedLayer, i: usize| -> Construction {
        let sys = layer
            .spec()
            .class
            .as_ref()
            .and_then(|c| tables.system(&c.system).ok());
        match (sys, layer.data.features[i].class.as_deref()) {
            (Some(s), Some(c)) => s.classify(c).flags.construction,
            _ => Construction::Unknown,
        }
    };
    let Some(site_ip) = IntPoly::from_multipolygon(site, grid) else {
        return Vec::new();
    };
    let Some(rect) = geo::BoundingRect::bounding_rect(site) else {
        return Vec::new();
    };
    let site_area = site_ip.area_m2(grid);
    let mut totals: std::collections::BTreeMap<&'static str, f64> = Default::default();
    let mut covered_u = 0.0;
    let mut covered_l = 0.0;
    let pieces_of = |layer: &LoadedLayer| -> Vec<(usize, IntPoly)> {
        layer
            .index
            .candidates(&rect)
            .filter_map(|j| {
                let mp = layer.data.features[j].geom.as_polygons()?;
                let other = IntPoly::from_multipolygon(mp, grid)?;
                let (piece, _) = overlay::intersection(&site_ip, &other, grid).ok()?;
                if piece.is_empty() {
                    return None;
                }
                let mp = piece.to_multipolygon(grid);
                Some((j, IntPoly::from_multipolygon(&mp, grid)?))
            })
            .collect()
    };
    let urban_pieces = pieces_of(urban);
    let landuse_pieces = pieces_of(landuse);
    for (_, p) in &urban_pieces {
        covered_u += p.area_m2(grid);
    }
    for (_, p) in &landuse_pieces {
        covered_l += p.area_m2(grid);
    }
    for (i, up) in &urban_pieces {
        for (j, lp) in &landuse_pieces {
            let Ok((piece, _)) = overlay::intersection(up, lp, grid) else {
                continue;
            };
            let a = piece.area_m2(grid);
            if a <= 0.0 {
                continue;
            }
            let class = match (flag(urban, *i), flag(landuse, *j)) {
                (Construction::No, Construction::No) => "01 两规均为非建设用地",
                (Construction::Yes, Construction::Yes) => "02 两规均为建设用地",
                (Construction::No, Construction::Yes) => "03 土规建设用地、城规非建设用地",
                (Construction::Yes, Construction::No) => "04 土规非建设用地、城规建设用地",
                (_, Construction::Conditional) => "有条件建设区",
                _ => "分类未知",
            };
            *totals.entry(class).or_default() += a;
        }
    }
    let mut out: Vec<(String, f64)> = totals
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    if site_area - covered_u > VERDICT_MIN_M2 {
        out.push(("城规无数据（未覆盖）".to_string(), site_area - covered_u));
    }
    if site_area - covered_l > VERDICT_MIN_M2 {
        out.push(("土规无数据（未覆盖）".to_string(), site_area - covered_l));
    }
    out
}

/// The 界址点 table: the cadastral numbering of the 界址点 TXT writer (outer rings clockwise from
/// the north-west vertex, J1… across the parcel, rings closed), so table and TXT agree.
fn boundary_points(mp: &MultiPolygon<f64>) -> Vec<BoundaryPoint> {
    let parcel = crate::import::jzd_txt::parcel_from_multipolygon(
        mp,
        crate::import::jzd_txt::ParcelMeta::default(),
        None,
        3,
    );
    parcel
        .rings
        .iter()
        .flat_map(|r| {
            r.points.iter().map(move |p| BoundaryPoint {
                name: p.name.clone(),
                ring: r.ring_no,
                x: p.x,
                y: p.y,
            })
        })
        .collect()
}

/// Builds the checklist of a site from its analysis.
pub fn build(
    bp: &Blueprint,
    site: &Site,
    analysis: &SiteAnalysis,
    template: &Template,
    options: &BuildOptions,
) -> Result<Checklist, ChecklistError> {
    if let Some(code) = &options.project_code {
        project_code::validate(code)?;
    }
    let (lon, lat) = crate::export::to_lonlat(&bp.crs)
        .ok()
        .and_then(|t| {
            t.point(geo::Coord {
                x: analysis.point.0,
                y: analysis.point.1,
            })
            .ok()
        })
        .map(|c| (c.x, c.y))
        .unwrap_or((f64::NAN, f64::NAN));
    let town_layer = template
        .sections
        .iter()
        .flat_map(|s| s.items.iter())
        .find(|i| i.kind == "site_town")
        .and_then(|i| i.layer.clone());
    let (town, town_code) = town_layer
        .as_deref()
        .and_then(|l| analysis.layer(l))
        .and_then(|o| o.features.first())
        .map(|f| {
            (
                field_text(&f.fields, "name").unwrap_or_else(|| f.feature_id.clone()),
                field_text(&f.fields, "code").unwrap_or_else(|| f.feature_id.clone()),
            )
        })
        .unwrap_or_default();
    let e = analysis.ellipsoidal_area_m2;
    let mut verdicts = Vec::new();
    let mut sections = Vec::new();
    let mut assessments_all_ok = true;
    let mut any_assessment = false;
    for ts in &template.sections {
        let mut items = Vec::new();
        for t in &ts.items {
            let layer = t.layer.as_deref();
            let loaded = layer.and_then(|l| bp.layer(l));
            let it = match t.kind.as_str() {
                "site_id" => item(t, site.id.clone(), Status::Info, Vec::new()),
                "site_name" => item(
                    t,
                    if site.name.is_empty() {
                        "—".to_string()
                    } else {
                        site.name.clone()
                    },
                    Status::Info,
                    Vec::new(),
                ),
                "project_code" => match &options.project_code {
                    Some(c) => {
                        let division = project_code::validate(c)?;
                        item(t, format!("{c}（{division}）"), Status::Ok, Vec::new())
                    }
                    None => item(t, "未提供".to_string(), Status::Info, Vec::new()),
                },
                "site_area" => {
                    let mut it = item(t, area_text(e), Status::Info, Vec::new());
                    it.rows.push(Row {
                        cells: vec![
                            ("椭球面积".into(), format!("{} m²", fmt_num(e, 2))),
                            (
                                "高斯投影面积".into(),
                                format!("{} m²", fmt_num(analysis.area_m2, 2)),
                            ),
                        ],
                        indicators: Vec::new(),
                    });
                    it
                }
                "site_point" => item(
                    t,
                    format!(
                        "X={}, Y={}（{}；E {:.6}°, N {:.6}°）",
                        fmt_num(analysis.point.1, 3),
                        fmt_num(analysis.point.0, 3),
                        bp.meta.crs,
                        lon,
                        lat
                    ),
                    Status::Info,
                    Vec::new(),
                ),
                "site_town" => match loaded {
                    None => no_data(t, layer.unwrap_or_default()),
                    Some(l) => item(
                        t,
                        if town.is_empty() {
                            "—".to_string()
                        } else {
                            format!("{town}（{town_code}）")
                        },
                        Status::Info,
                        vec![source_of(l)],
                    ),
                },
                "classes" => match (loaded, layer.and_then(|l| analysis.layer(l))) {
                    (Some(l), Some(o)) => {
                        let mut it = item(
                            t,
                            if o.by_class.is_empty() {
                                "地块不在该图层覆盖范围内（无数据）".to_string()
                            } else {
                                o.by_class
                                    .iter()
                                    .map(|c| {
                                        format!(
                                            "{} {} {}（{}）",
                                            c.code,
                                            c.name,
                                            area_text(c.ellipsoidal_area_m2),
                                            pct(c.share_of_site)
                                        )
                                    })
                                    .collect::<Vec<_>>()
                                    .join("；")
                            },
                            Status::Info,
                            vec![source_of(l)],
                        );
                        it.rows = o
                            .by_class
                            .iter()
                            .map(|c| Row {
                                cells: vec![
                                    ("代码".into(), c.code.clone()),
                                    ("名称".into(), c.name.clone()),
                                    ("面积(m²)".into(), fmt_num(c.ellipsoidal_area_m2, 2)),
                                    ("占地块比例".into(), pct(c.share_of_site)),
                                ],
                                indicators: Vec::new(),
                            })
                            .collect();
                        it
                    }
                    _ => no_data(t, layer.unwrap_or_default()),
                },
                "overlap" => match (loaded, layer.and_then(|l| analysis.layer(l))) {
                    (Some(l), Some(o)) => {
                        let hit = o.area_m2 >= VERDICT_MIN_M2;
                        let value = if hit {
                            format!(
                                "是，{}，占地块 {}。{}",
                                area_text(o.ellipsoidal_area_m2),
                                pct(o.share_of_site),
                                t.warn
                            )
                        } else if o.area_m2 > 0.0 {
                            format!(
                                "否（边界重叠 {} m²，小于 {} m² 的数字化误差）。{}",
                                fmt_num(o.area_m2, 2),
                                VERDICT_MIN_M2,
                                t.ok
                            )
                        } else {
                            format!("否。{}", t.ok)
                        };
                        let status = if hit { Status::Warning } else { Status::Ok };
                        verdicts.push(Verdict {
                            item: t.id.clone(),
                            line: l.spec().display_title().to_string(),
                            status,
                            text: if hit { t.warn.clone() } else { t.ok.clone() },
                            area_m2: o.ellipsoidal_area_m2,
                        });
                        let mut it = item(t, value, status, vec![source_of(l)]);
                        it.rows = o
                            .features
                            .iter()
                            .map(|f| Row {
                                cells: vec![
                                    ("要素编号".into(), f.feature_id.clone()),
                                    (
                                        "名称".into(),
                                        field_text(&f.fields, "name")
                                            .or_else(|| field_text(&f.fields, "class_name"))
                                            .unwrap_or_default(),
                                    ),
                                    ("重叠面积(m²)".into(), fmt_num(f.ellipsoidal_area_m2, 2)),
                                    ("占地块比例".into(), pct(f.share_of_site)),
                                ],
                                indicators: Vec::new(),
                            })
                            .collect();
                        it
                    }
                    _ => no_data(t, layer.unwrap_or_default()),
                },
                "inside" => match (loaded, layer.and_then(|l| analysis.layer(l))) {
                    (Some(l), Some(o)) => {
                        let outside = (analysis.area_m2 - o.area_m2).max(0.0);
                        let (value, status) = if outside < VERDICT_MIN_M2 {
                            (
                                format!("是，全部位于{}内。{}", l.spec().display_title(), t.ok),
                                Status::Ok,
                            )
                        } else if o.area_m2 < VERDICT_MIN_M2 {
                            (
                                format!("否，全部位于{}外。{}", l.spec().display_title(), t.warn),
                                Status::Warning,
                            )
                        } else {
                            (
                                format!(
                                    "部分，位于边界外 {}（{}）。{}",
                                    area_text(
                                        outside * analysis.ellipsoidal_area_m2
                                            / analysis.area_m2.max(1e-9)
                                    ),
                                    pct(outside / analysis.area_m2.max(1e-9)),
                                    t.warn
                                ),
                                Status::Warning,
                            )
                        };
                        verdicts.push(Verdict {
                            item: t.id.clone(),
                            line: l.spec().display_title().to_string(),
                            status,
                            text: if status == Status::Ok {
                                t.ok.clone()
                            } else {
                                t.warn.clone()
                            },
                            area_m2: outside,
                        });
                        item(t, value, status, vec![source_of(l)])
                    }
                    _ => no_data(t, layer.unwrap_or_default()),
                },
                "two_plan" => {
                    let (u, l) = (
                        t.urban.as_deref().unwrap_or_default(),
                        t.landuse.as_deref().unwrap_or_default(),
                    );
                    match (bp.layer(u), bp.layer(l)) {
                        (Some(ul), Some(ll)) => {
                            let classes = two_plan(bp, &site.geometry, ul, ll);
                            let conflict = classes.iter().any(|(c, a)| {
                                (c.starts_with("03") || c.starts_with("04")) && *a >= VERDICT_MIN_M2
                            });
                            let mut it = item(
                                t,
                                classes
                                    .iter()
                                    .map(|(c, a)| format!("{c} {}", area_text(*a)))
                                    .collect::<Vec<_>>()
                                    .join("；"),
                                if conflict {
                                    Status::Warning
                                } else {
                                    Status::Ok
                                },
                                vec![source_of(ul), source_of(ll)],
                            );
                            it.rows = classes
                                .iter()
                                .map(|(c, a)| Row {
                                    cells: vec![
                                        ("两规分类".into(), c.clone()),
                                        ("面积(m²)".into(), fmt_num(*a, 2)),
                                        ("占地块比例".into(), pct(a / analysis.area_m2.max(1e-9))),
                                    ],
                                    indicators: Vec::new(),
                                })
                                .collect();
                            it
                        }
                        (None, _) => no_data(t, u),
                        (_, None) => no_data(t, l),
                    }
                }
                "indicators" => match (loaded, layer.and_then(|l| analysis.layer(l))) {
                    (Some(l), Some(o)) => {
                        let parcels: Vec<_> = o
                            .features
                            .iter()
                            .filter(|f| f.area_m2 >= VERDICT_MIN_M2)
                            .collect();
                        let value = if parcels.is_empty() {
                            "地块不在控规覆盖范围内（无数据），规划条件须另行核定".to_string()
                        } else {
                            parcels
                                .iter()
                                .map(|f| {
                                    let ind = indicators(&f.fields);
                                    format!(
                                        "{} {} {}（占地块 {}）：{}",
                                        f.feature_id,
                                        f.class_code,
                                        f.class_name,
                                        pct(f.share_of_site),
                                        if ind.is_empty() {
                                            "无强制性指标".to_string()
                                        } else {
                                            ind.iter()
                                                .map(|i| format!("{} {}", i.name, i.text))
                                                .collect::<Vec<_>>()
                                                .join("；")
                                        }
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("\n")
                        };
                        let mut it = item(
                            t,
                            value,
                            if parcels.is_empty() {
                                Status::Required
                            } else {
                                Status::Info
                            },
                            vec![source_of(l)],
                        );
                        it.rows = parcels
                            .iter()
                            .map(|f| Row {
                                cells: vec![
                                    ("地块编号".into(), f.feature_id.clone()),
                                    (
                                        "用地性质".into(),
                                        format!("{} {}", f.class_code, f.class_name),
                                    ),
                                    ("面积(m²)".into(), fmt_num(f.ellipsoidal_area_m2, 2)),
                                    ("占地块比例".into(), pct(f.share_of_site)),
                                    ("占控规地块比例".into(), pct(f.share_of_feature)),
                                ],
                                indicators: indicators(&f.fields),
                            })
                            .collect();
                        it
                    }
                    _ => no_data(t, layer.unwrap_or_default()),
                },
                "proximity" => {
                    let missing: Vec<&String> =
                        t.layers.iter().filter(|l| bp.layer(l).is_none()).collect();
                    if let Some(m) = missing.first() {
                        no_data(t, m)
                    } else {
                        let hits: Vec<&ProximityHit> = analysis
                            .proximity
                            .iter()
                            .filter(|h| t.layers.contains(&h.layer))
                            .collect();
                        let pipeline = hits.iter().all(|h| h.rule == "clearance_m");
                        let (value, status) = if hits.is_empty() {
                            (
                                if t.ok.is_empty() {
                                    "未发现".to_string()
                                } else {
                                    t.ok.clone()
                                },
                                Status::Ok,
                            )
                        } else {
                            let inside = hits.iter().filter(|h| h.distance_m == 0.0).count();
                            (
                                format!(
                                    "发现 {} 处（其中位于或穿越地块 {} 处），最近距离 {} m",
                                    hits.len(),
                                    inside,
                                    fmt_num(hits[0].distance_m, 2)
                                ),
                                if pipeline {
                                    Status::Info
                                } else {
                                    Status::Warning
                                },
                            )
                        };
                        let sources = t
                            .layers
                            .iter()
                            .filter_map(|l| bp.layer(l))
                            .map(|l| source_of(l))
                            .collect();
                        let mut it = item(t, value, status, sources);
                        it.rows = hits.iter().map(|h| proximity_row(h)).collect();
                        it
                    }
                }
                "assessment" => match loaded {
                    None => no_data(t, layer.unwrap_or_default()),
                    Some(l) => {
                        let kind = t.assessment.clone().unwrap_or_else(|| t.name.clone());
                        let hits: Vec<&AssessmentHit> = analysis
                            .assessments
                            .iter()
                            .filter(|h| {
                                h.layer == l.id()
                                    && (h.kind.contains(&kind)
                                        || kind.contains(&h.kind) && !h.kind.is_empty())
                            })
                            .collect();
                        let (value, status) = assessment_value(&hits, &t.name);
                        any_assessment = true;
                        if status != Status::Ok {
                            assessments_all_ok = false;
                        }
                        let mut it = item(t, value, status, vec![source_of(l)]);
                        it.rows = hits
                            .iter()
                            .map(|h| Row {
                                cells: vec![
                                    ("评估编号".into(), h.feature_id.clone()),
                                    (
                                        "报告编号".into(),
                                        field_text(&h.fields, "report_no").unwrap_or_default(),
                                    ),
                                    ("覆盖比例".into(), pct(h.share_of_site)),
                                    ("有效期至".into(), h.valid_until.clone().unwrap_or_default()),
                                    (
                                        "是否有效".into(),
                                        if h.valid { "是".into() } else { "否".into() },
                                    ),
                                ],
                                indicators: Vec::new(),
                            })
                            .collect();
                        it
                    }
                },
                "text" | "note" => item(t, t.value.clone(), Status::Info, Vec::new()),
                "by_class" => match (loaded, layer.and_then(|l| analysis.layer(l))) {
                    (Some(l), Some(o)) => {
                        let main = o
                            .features
                            .first()
                            .map(|f| f.class_code.clone())
                            .unwrap_or_default();
                        let case = t.cases.iter().find(|c| {
                            c.codes
                                .iter()
                                .any(|p| glob(p, &main) || main.split('/').any(|m| glob(p, m)))
                        });
                        match case {
                            Some(c) => {
                                item(t, c.value.clone(), Status::Required, vec![source_of(l)])
                            }
                            None => item(t, t.otherwise.clone(), Status::Info, vec![source_of(l)]),
                        }
                    }
                    _ => no_data(t, layer.unwrap_or_default()),
                },
                other => {
                    return Err(ChecklistError::Template {
                        origin: template.version.clone(),
                        reason: format!("item {}: unknown kind `{other}`", t.id),
                    });
                }
            };
            items.push(it);
        }
        sections.push(Section {
            id: ts.id.clone(),
            title: ts.title.clone(),
            items,
        });
    }
    let district = bp
        .meta
        .settings
        .get("district")
        .and_then(|d| d.as_str())
        .unwrap_or_default()
        .to_string();
    let mut checklist = Checklist {
        title: template.title.clone(),
        template_version: template.version.clone(),
        issuer: template.issuer.clone(),
        issued_at: options.issued_at.clone(),
        site: SiteIdentity {
            id: site.id.clone(),
            name: site.name.clone(),
            project_code: options.project_code.clone(),
            area_m2: analysis.area_m2,
            ellipsoidal_area_m2: e,
            area_ha: hectares(e),
            area_mu: mu(e),
            town: town.clone(),
            point_e: analysis.point.0,
            point_n: analysis.point.1,
            lon,
            lat,
            crs: bp.meta.crs.clone(),
            boundary: boundary_points(&site.geometry),
        },
        verdicts,
        sections,
        spgl: Spgl {
            xmdm: options.project_code.clone(),
            sfwcqypg: if any_assessment && assessments_all_ok {
                "是".to_string()
            } else {
                "否".to_string()
            },
            ydmj: (e * 100.0).round() / 100.0,
            xmjsddx: lon,
            xmjsddy: lat,
            jsddxzqh: if town_code.is_empty() {
                district
            } else {
                town_code
            },
        },
        blueprint: BlueprintRef {
            name: bp.meta.name.clone(),
            version: bp.meta.version,
            crs: bp.meta.crs.clone(),
            layers: bp.layers.iter().map(|l| source_of(l)).collect(),
        },
        params: serde_json::json!({
            "site": analysis.params,
            "verdict_min_m2": VERDICT_MIN_M2,
            "template": template.version,
        }),
        sha256: String::new(),
    };
    checklist.seal()?;
    Ok(checklist)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_the_chinese_way() {
        assert_eq!(fmt_num(1234567.891, 2), "1,234,567.89");
        assert_eq!(fmt_num(0.5, 4), "0.5000");
        assert_eq!(fmt_num(-12.0, 0), "-12");
        assert_eq!(area_text(20_000.0), "20,000.00 m²（2.0000 公顷，30.00 亩）");
    }

    #[test]
    fn indicators_are_ranges_with_operators() {
        let mut f = std::collections::BTreeMap::new();
        f.insert("far_min".to_string(), Value::Real(1.0));
        f.insert("far_max".to_string(), Value::Real(2.5));
        f.insert("density_max".to_string(), Value::Real(30.0));
        f.insert("green_min".to_string(), Value::Text("35".into()));
        f.insert("height_max".to_string(), Value::Int(54));
        let ind = indicators(&f);
        let texts: Vec<String> = ind
            .iter()
            .map(|i| format!("{} {}", i.name, i.text))
            .collect();
        assert_eq!(
            texts,
            [
                "容积率 >1, ≤2.5",
                "建筑密度 ≤30%",
                "绿地率 ≥35%",
                "建筑限高 ≤54 m"
            ]
        );
        assert_eq!(
            ind[0].lower,
            Some(Bound {
                op: ">".into(),
                value: 1.0
            })
        );
    }
}
