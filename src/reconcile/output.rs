//! What a reconciliation run writes: `conflicts.gpkg` (always), `summary.json` (always), the
//! Chinese XLSX ledger with its summary sheets, and on request GeoJSON in EPSG:4490 and a GBK
//! Shapefile. Pieces are streamed into every open writer as they arrive.

use std::path::{Path, PathBuf};

use geo::MultiPolygon;
use rust_xlsxwriter::{Format, Workbook, Worksheet};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ConflictPiece, ReconcileError, RunReport, Sink, Tally};
use crate::blueprint::Blueprint;
use crate::crs::Transformer;
use crate::geometry::area::{hectares, mu};
use crate::gpkg::{Cell, ColumnType, GpkgWriter};
use crate::layer::{Feature, Field, FieldType, Geom, GeomKind, LayerData, Value};

/// An output written piece by piece and closed at the end.
pub trait ExtraOutput: Send {
    fn add(&mut self, p: &ConflictPiece) -> Result<(), ReconcileError>;
    fn finish(self: Box<Self>) -> Result<(), ReconcileError>;
}

/// Opens an [`ExtraOutput`] in a run's output directory.
pub type ExtraFactory = fn(&Path, &Blueprint) -> Result<Box<dyn ExtraOutput>, ReconcileError>;

/// Makers of the outputs that need PROJ (GeoJSON in EPSG:4490) or GDAL (Shapefile). They are
/// handed to [`FileSink::create`] rather than called by it, so that a binary which never asks
/// for them links neither library: the batch front end `lantu` starts in a few milliseconds
/// instead of the ~50 ms GDAL's shared libraries take to load.
#[derive(Clone, Copy, Default)]
pub struct GisWriters {
    pub geojson: Option<ExtraFactory>,
    pub shapefile: Option<ExtraFactory>,
}

impl GisWriters {
    pub fn all() -> GisWriters {
        GisWriters {
            geojson: Some(|dir, bp| {
                Ok(Box::new(GeoJsonWriter::create(
                    &dir.join("conflicts.geojson"),
                    bp,
                )?))
            }),
            shapefile: Some(|dir, bp| {
                Ok(Box::new(ShapefileWriter {
                    layer: shapefile_layer(),
                    crs: bp.crs.clone(),
                    path: dir.join("conflicts.shp"),
                }))
            }),
        }
    }
}

/// Which optional outputs to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Formats {
    pub xlsx: bool,
    pub geojson: bool,
    pub shapefile: bool,
}

impl Default for Formats {
    fn default() -> Self {
        Formats {
            xlsx: true,
            geojson: false,
            shapefile: false,
        }
    }
}

/// The GeoPackage columns of the `conflicts` layer.
pub const COLUMNS: [(&str, ColumnType); 17] = [
    ("conflict_id", ColumnType::Text),
    ("rule_id", ColumnType::Text),
    ("diff_type", ColumnType::Text),
    ("category", ColumnType::Text),
    ("subject_layer", ColumnType::Text),
    ("subject_id", ColumnType::Text),
    ("subject_class", ColumnType::Text),
    ("other_layer", ColumnType::Text),
    ("other_id", ColumnType::Text),
    ("other_class", ColumnType::Text),
    ("town_code", ColumnType::Text),
    ("town", ColumnType::Text),
    ("area_m2", ColumnType::Real),
    ("ellipsoidal_area_m2", ColumnType::Real),
    ("area_ha", ColumnType::Real),
    ("flags", ColumnType::Text),
    ("state", ColumnType::Text),
];

/// The initial lifecycle state of a new piece.
pub const INITIAL_STATE: &str = "待核实";

fn cells(p: &ConflictPiece, state: &str) -> Vec<Cell> {
    let t = |s: &str| Cell::Text(s.to_string());
    vec![
        t(&p.conflict_id),
        t(&p.rule_id),
        t(&p.diff_type),
        t(&p.category),
        t(&p.subject_layer),
        t(&p.subject_id),
        t(&p.subject_class),
        t(&p.other_layer),
        p.other_id.as_deref().map(t).unwrap_or(Cell::Null),
        t(&p.other_class),
        t(&p.town_code),
        t(&p.town),
        Cell::Real(p.area_m2),
        Cell::Real(p.ellipsoidal_area_m2),
        Cell::Real(hectares(p.ellipsoidal_area_m2)),
        t(&p.flags.label()),
        t(state),
    ]
}

/// XLSX ledger rows stream into a constant-memory sheet; summary sheets are filled at the end.
struct XlsxLedger {
    workbook: Workbook,
    path: PathBuf,
    row: u32,
}

const LEDGER_HEADERS: [&str; 18] = [
    "序号",
    "图斑编号",
    "规则",
    "差异类型代码",
    "差异分区",
    "主体图层",
    "主体要素编号",
    "主体用地分类",
    "对比图层",
    "对比要素编号",
    "对比用地分类",
    "镇街代码",
    "镇街",
    "投影面积(m²)",
    "椭球面积(m²)",
    "面积(公顷)",
    "面积(亩)",
    "标记",
];

fn xerr(e: rust_xlsxwriter::XlsxError) -> ReconcileError {
    ReconcileError::Output(format!("XLSX: {e}"))
}

impl XlsxLedger {
    fn create(path: &Path) -> Result<XlsxLedger, ReconcileError> {
        let mut workbook = Workbook::new();
        // Sheet order: summary sheets first (filled at the end), then the streamed ledger.
        for name in ["汇总", "按镇街统计", "两规交叉统计"] {
            workbook.add_worksheet().set_name(name).map_err(xerr)?;
        }
        let bold = Format::new().set_bold();
        let sheet = workbook
            .add_worksheet_with_constant_memory()
            .map_err(xerr)?;
        sheet.set_name("差异图斑台账").map_err(xerr)?;
        for (c, h) in LEDGER_HEADERS.iter().enumerate() {
            sheet
                .write_with_format(0, c as u16, *h, &bold)
                .map_err(xerr)?;
            sheet
                .set_column_width(c as u16, if c == 1 { 20.0 } else { 14.0 })
                .map_err(xerr)?;
        }
        Ok(XlsxLedger {
            workbook,
            path: path.to_path_buf(),
            row: 1,
        })
    }

    fn add(&mut self, p: &ConflictPiece, rule_name: &str) -> Result<(), ReconcileError> {
        let row = self.row;
        let sheet = self.workbook.worksheet_from_index(3).map_err(xerr)?;
        let texts: [(u16, &str); 12] = [
            (1, &p.conflict_id),
            (2, rule_name),
            (3, &p.diff_type),
            (4, &p.category),
            (5, &p.subject_layer),
            (6, &p.subject_id),
            (7, &p.subject_class),
            (8, &p.other_layer),
            (9, p.other_id.as_deref().unwrap_or("")),
            (10, &p.other_class),
            (11, &p.town_code),
            (12, &p.town),
        ];
        sheet.write_number(row, 0, f64::from(row)).map_err(xerr)?;
        for (c, v) in texts {
            sheet.write_string(row, c, v).map_err(xerr)?;
        }
        let round = |v: f64, dp: i32| {
            let f = 10f64.powi(dp);
            (v * f).round() / f
        };
        sheet
            .write_number(row, 13, round(p.area_m2, 2))
            .map_err(xerr)?;
        sheet
            .write_number(row, 14, round(p.ellipsoidal_area_m2, 2))
            .map_err(xerr)?;
        sheet
            .write_number(row, 15, round(hectares(p.ellipsoidal_area_m2), 4))
            .map_err(xerr)?;
        sheet
            .write_number(row, 16, round(mu(p.ellipsoidal_area_m2), 2))
            .map_err(xerr)?;
        sheet.write_string(row, 17, p.flags.label()).map_err(xerr)?;
        self.row += 1;
        Ok(())
    }

    fn finish(mut self, summary: &Summary) -> Result<(), ReconcileError> {
        let bold = Format::new().set_bold();
        let write_table = |sheet: &mut Worksheet,
                           start: u32,
                           headers: &[&str],
                           rows: &[Vec<XCell>]|
         -> Result<u32, ReconcileError> {
            for (c, h) in headers.iter().enumerate() {
                sheet
                    .write_with_format(start, c as u16, *h, &bold)
                    .map_err(xerr)?;
                sheet.set_column_width(c as u16, 16.0).map_err(xerr)?;
            }
            for (r, row) in rows.iter().enumerate() {
                let rr = start + 1 + r as u32;
                for (c, v) in row.iter().enumerate() {
                    match v {
                        XCell::T(s) => sheet.write_string(rr, c as u16, s).map_err(xerr)?,
                        XCell::N(n) => sheet.write_number(rr, c as u16, *n).map_err(xerr)?,
                    };
                }
            }
            Ok(start + 1 + rows.len() as u32)
        };
        let tally_cells = |t: &Tally| {
            vec![
                XCell::N(t.count as f64),
                XCell::N((t.area_m2 * 100.0).round() / 100.0),
                XCell::N((t.ellipsoidal_area_m2 * 100.0).round() / 100.0),
                XCell::N((hectares(t.ellipsoidal_area_m2) * 1e4).round() / 1e4),
                XCell::N((mu(t.ellipsoidal_area_m2) * 100.0).round() / 100.0),
            ]
        };
        {
            let sheet = self.workbook.worksheet_from_index(0).map_err(xerr)?;
            sheet
                .write_with_format(0, 0, "差异图斑汇总", &bold)
                .map_err(xerr)?;
            sheet
                .write_string(
                    1,
                    0,
                    format!(
                        "蓝图 {} · 辖区椭球面积 {:.4} 公顷 · 参数: 最小面积 {} m², 最小宽度 {} m, 细碎阈值 {} m²",
                        summary.blueprint,
                        hectares(summary.district_area_m2),
                        summary.params.sliver.min_area_m2,
                        summary.params.sliver.min_width_m,
                        summary.params.sliver.fine_area_m2
                    ),
                )
                .map_err(xerr)?;
            let rows: Vec<Vec<XCell>> = summary
                .rules
                .iter()
                .map(|r| {
                    let mut row = vec![
                        XCell::T(r.id.clone()),
                        XCell::T(r.name.clone()),
                        XCell::T(r.category.clone()),
                        XCell::T(r.diff_type.clone()),
                        XCell::T(format!("{} → {}", r.subject_layer, r.other_layer)),
                    ];
                    row.extend(tally_cells(&r.kept));
                    row.push(XCell::N((r.share_of_district * 1e4).round() / 1e4));
                    row.push(XCell::N(r.fine.count as f64));
                    row.push(XCell::N(r.dropped_noise.count as f64));
                    row.push(XCell::N(r.dropped_sliver.count as f64));
                    row.push(XCell::N((r.dropped_sliver.area_m2 * 100.0).round() / 100.0));
                    row
                })
                .collect();
            write_table(
                sheet,
                3,
                &[
                    "规则编号",
                    "规则",
                    "类别",
                    "差异类型代码",
                    "图层",
                    "图斑数",
                    "投影面积(m²)",
                    "椭球面积(m²)",
                    "面积(公顷)",
                    "面积(亩)",
                    "占辖区面积(%)",
                    "细碎图斑数",
                    "剔除噪声数",
                    "剔除边界狭长数",
                    "剔除边界狭长面积(m²)",
                ],
                &rows,
            )?;
        }
        {
            let sheet = self.workbook.worksheet_from_index(1).map_err(xerr)?;
            let mut rows = Vec::new();
            for t in &summary.by_town {
                for (rule, tally) in &t.rules {
                    let mut row = vec![
                        XCell::T(t.code.clone()),
                        XCell::T(t.name.clone()),
                        XCell::T(rule.clone()),
                    ];
                    row.extend(tally_cells(tally));
                    rows.push(row);
                }
            }
            write_table(
                sheet,
                0,
                &[
                    "镇街代码",
                    "镇街",
                    "规则",
                    "图斑数",
                    "投影面积(m²)",
                    "椭球面积(m²)",
                    "面积(公顷)",
                    "面积(亩)",
                ],
                &rows,
            )?;
        }
        {
            let sheet = self.workbook.worksheet_from_index(2).map_err(xerr)?;
            let mut rows = Vec::new();
            for (rule, cells) in &summary.crosstab {
                for c in cells {
                    let mut row = vec![
                        XCell::T(rule.clone()),
                        XCell::T(c.subject_class.clone()),
                        XCell::T(c.other_class.clone()),
                    ];
                    row.extend(tally_cells(&c.tally));
                    rows.push(row);
                }
            }
            write_table(
                sheet,
                0,
                &[
                    "规则",
                    "城规用地代码/名称",
                    "土规分区代码/名称",
                    "要素个数",
                    "投影面积(m²)",
                    "椭球面积(m²)",
                    "面积(公顷)",
                    "面积(亩)",
                ],
                &rows,
            )?;
        }
        self.workbook.save(&self.path).map_err(xerr)
    }
}

enum XCell {
    T(String),
    N(f64),
}

/// GeoJSON features written one by one (EPSG:4490 lon/lat), so memory stays flat.
struct GeoJsonWriter {
    out: std::io::BufWriter<std::fs::File>,
    first: bool,
    lonlat: Transformer,
    path: PathBuf,
}

impl GeoJsonWriter {
    fn create(path: &Path, bp: &Blueprint) -> Result<GeoJsonWriter, ReconcileError> {
        use std::io::Write;
        let file = std::fs::File::create(path)
            .map_err(|e| ReconcileError::Output(format!("{}: {e}", path.display())))?;
        let mut out = std::io::BufWriter::new(file);
        write!(
            out,
            "{{\"type\":\"FeatureCollection\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::4490\"}}}},\"features\":["
        )
        .map_err(|e| ReconcileError::Output(e.to_string()))?;
        let lonlat =
            crate::export::to_lonlat(&bp.crs).map_err(|e| ReconcileError::Output(e.to_string()))?;
        Ok(GeoJsonWriter {
            out,
            first: true,
            lonlat,
            path: path.to_path_buf(),
        })
    }
}

impl ExtraOutput for GeoJsonWriter {
    fn add(&mut self, p: &ConflictPiece) -> Result<(), ReconcileError> {
        use std::io::Write;
        let geometry =
            crate::export::geometry_json(&Geom::Polygon(p.geometry.clone()), &self.lonlat)
                .map_err(|e| ReconcileError::Output(e.to_string()))?;
        let mut props = serde_json::Map::new();
        for ((name, _), cell) in COLUMNS.iter().zip(cells(p, INITIAL_STATE)) {
            props.insert(
                name.to_string(),
                match cell {
                    Cell::Null => serde_json::Value::Null,
                    Cell::Text(s) => json!(s),
                    Cell::Integer(i) => json!(i),
                    Cell::Real(r) => json!(r),
                },
            );
        }
        let f = json!({"type": "Feature", "id": p.conflict_id, "properties": props, "geometry": geometry});
        if !self.first {
            self.out
                .write_all(b",")
                .map_err(|e| ReconcileError::Output(e.to_string()))?;
        }
        self.first = false;
        serde_json::to_writer(&mut self.out, &f).map_err(|e| ReconcileError::Output(e.to_string()))
    }

    fn finish(mut self: Box<Self>) -> Result<(), ReconcileError> {
        use std::io::Write;
        self.out
            .write_all(b"]}")
            .and_then(|_| self.out.flush())
            .map_err(|e| ReconcileError::Output(format!("{}: {e}", self.path.display())))
    }
}

/// The files a run writes into its output directory (a Shapefile's sidecars go with its `.shp`).
const OUTPUT_FILES: [&str; 9] = [
    "conflicts.gpkg",
    "summary.json",
    "conflicts.xlsx",
    "conflicts.geojson",
    "conflicts.shp",
    "conflicts.shx",
    "conflicts.dbf",
    "conflicts.prj",
    "conflicts.cpg",
];

/// The sink writing every file output of a run.
pub struct FileSink {
    dir: PathBuf,
    gpkg: Option<GpkgWriter>,
    xlsx: Option<XlsxLedger>,
    extras: Vec<Box<dyn ExtraOutput>>,
    rule_names: std::collections::HashMap<String, String>,
    pub pieces: u64,
}

impl FileSink {
    pub fn create(
        dir: &Path,
        bp: &Blueprint,
        rule_names: std::collections::HashMap<String, String>,
        formats: Formats,
        gis: GisWriters,
    ) -> Result<FileSink, ReconcileError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ReconcileError::Output(format!("{}: {e}", dir.display())))?;
        for name in OUTPUT_FILES {
            let p = dir.join(name);
            if p.exists() {
                return Err(ReconcileError::Output(format!(
                    "{} exists: choose an empty --out directory",
                    p.display()
                )));
            }
        }
        let epsg = match &bp.crs {
            crate::crs::Crs::Epsg(c) => *c as i32,
            other => {
                return Err(ReconcileError::Output(format!(
                    "working CRS {other} has no EPSG code"
                )));
            }
        };
        let wkt = bp.zone.wkt1();
        let gpkg = GpkgWriter::create(
            &dir.join("conflicts.gpkg"),
            "conflicts",
            &COLUMNS,
            epsg,
            &bp.meta.crs,
            &wkt,
        )
        .map_err(|e| ReconcileError::Output(e.to_string()))?;
        let xlsx = if formats.xlsx {
            Some(XlsxLedger::create(&dir.join("conflicts.xlsx"))?)
        } else {
            None
        };
        let mut extras = Vec::new();
        for (wanted, maker, what) in [
            (formats.geojson, gis.geojson, "GeoJSON"),
            (formats.shapefile, gis.shapefile, "Shapefile"),
        ] {
            if !wanted {
                continue;
            }
            let make = maker.ok_or_else(|| {
                ReconcileError::Output(format!("{what} output needs the GDAL build (lantu-full)"))
            })?;
            extras.push(make(dir, bp)?);
        }
        Ok(FileSink {
            dir: dir.to_path_buf(),
            gpkg: Some(gpkg),
            xlsx,
            extras,
            rule_names,
            pieces: 0,
        })
    }

    /// Closes every writer and removes the files they made (a run that failed before its first
    /// piece), and the output directory if that leaves it empty.
    pub fn discard(mut self) {
        self.gpkg = None;
        self.xlsx = None;
        self.extras.clear();
        for name in OUTPUT_FILES {
            let _ = std::fs::remove_file(self.dir.join(name));
        }
        let _ = std::fs::remove_dir(&self.dir);
    }

    /// Closes every writer and writes `summary.json` (and the XLSX summary sheets).
    pub fn finish(mut self, summary: &Summary) -> Result<(), ReconcileError> {
        if let Some(g) = self.gpkg.take() {
            g.finish("差异图斑 (lantu reconcile)")
                .map_err(|e| ReconcileError::Output(e.to_string()))?;
        }
        if let Some(x) = self.xlsx.take() {
            x.finish(summary)?;
        }
        for e in std::mem::take(&mut self.extras) {
            e.finish()?;
        }
        let text = serde_json::to_string_pretty(summary)
            .map_err(|e| ReconcileError::Output(e.to_string()))?;
        std::fs::write(self.dir.join("summary.json"), text)
            .map_err(|e| ReconcileError::Output(format!("summary.json: {e}")))
    }
}

/// The `conflicts` schema with Shapefile field names.
fn shapefile_layer() -> LayerData {
    LayerData::new(
        GeomKind::Polygon,
        COLUMNS
            .iter()
            .map(|(n, t)| Field {
                name: shp_name(n).to_string(),
                ty: match t {
                    ColumnType::Real => FieldType::Real,
                    ColumnType::Integer => FieldType::Int,
                    ColumnType::Text => FieldType::Text,
                },
            })
            .collect(),
    )
}

/// Pieces kept for the Shapefile, written through GDAL (GBK, with `.cpg`) at the end.
struct ShapefileWriter {
    layer: LayerData,
    crs: crate::crs::Crs,
    path: PathBuf,
}

impl ExtraOutput for ShapefileWriter {
    fn add(&mut self, p: &ConflictPiece) -> Result<(), ReconcileError> {
        let attrs = cells(p, INITIAL_STATE)
            .into_iter()
            .map(|c| match c {
                Cell::Null => Value::Null,
                Cell::Text(s) => Value::Text(s),
                Cell::Integer(i) => Value::Int(i),
                Cell::Real(r) => Value::Real(r),
            })
            .collect();
        self.layer.features.push(Feature {
            id: p.conflict_id.clone(),
            class: None,
            geom: Geom::Polygon(p.geometry.clone()),
            attrs,
        });
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), ReconcileError> {
        crate::export::write(
            &self.layer,
            &self.crs,
            crate::export::ExportFormat::Shapefile,
            &self.path,
            "conflicts",
            &crate::export::ExportOptions::default(),
        )
        .map_err(|e| ReconcileError::Output(e.to_string()))
    }
}

/// Shapefile field names are at most 10 bytes.
fn shp_name(n: &str) -> &str {
    match n {
        "conflict_id" => "CONFLICTID",
        "subject_layer" => "SUBJ_LAYER",
        "subject_id" => "SUBJ_ID",
        "subject_class" => "SUBJ_CLASS",
        "other_layer" => "OTHR_LAYER",
        "other_class" => "OTHR_CLASS",
        "ellipsoidal_area_m2" => "ELLIP_M2",
        other => other,
    }
}

impl Sink for FileSink {
    fn piece(&mut self, p: &ConflictPiece) -> Result<(), ReconcileError> {
        if let Some(g) = self.gpkg.as_mut() {
            g.add(&p.geometry, cells(p, INITIAL_STATE))
                .map_err(|e| ReconcileError::Output(e.to_string()))?;
        }
        if let Some(x) = self.xlsx.as_mut() {
            let name = self.rule_names.get(&p.rule_id).cloned().unwrap_or_default();
            x.add(p, &name)?;
        }
        for e in self.extras.iter_mut() {
            e.add(p)?;
        }
        self.pieces += 1;
        Ok(())
    }
}

/// Fans pieces out to several sinks.
pub struct Tee<'a> {
    pub sinks: Vec<&'a mut dyn Sink>,
}

impl Sink for Tee<'_> {
    fn piece(&mut self, p: &ConflictPiece) -> Result<(), ReconcileError> {
        for s in self.sinks.iter_mut() {
            s.piece(p)?;
        }
        Ok(())
    }
}

/// Per-rule line of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSummary {
    pub id: String,
    pub name: String,
    pub category: String,
    pub diff_type: String,
    pub severity: String,
    pub subject_layer: String,
    pub other_layer: String,
    pub clause: String,
    pub count: u64,
    pub area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    pub area_ha: f64,
    pub area_mu: f64,
    /// Share of the district's ellipsoidal area, in percent.
    pub share_of_district: f64,
    /// Share of the total kept conflict area, in percent.
    pub share_of_conflicts: f64,
    pub kept: Tally,
    pub fine: Tally,
    pub dropped_noise: Tally,
    pub dropped_sliver: Tally,
    pub subject_features: u64,
    pub candidate_pairs: u64,
    pub overlays: u64,
    pub contained: u64,
    pub errors: u64,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TownSummary {
    pub code: String,
    pub name: String,
    pub total: Tally,
    pub rules: std::collections::BTreeMap<String, Tally>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossCell {
    pub subject_class: String,
    pub other_class: String,
    pub tally: Tally,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerVersionRef {
    pub layer: String,
    pub title: String,
    pub version: i64,
    pub hash: String,
    pub source: String,
    pub source_hash: String,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub run_id: String,
    pub blueprint: String,
    pub crs: String,
    pub params: super::Params,
    pub grid_exact: bool,
    pub district_area_m2: f64,
    pub total: Tally,
    pub rules: Vec<RuleSummary>,
    pub skipped_rules: std::collections::BTreeMap<String, String>,
    pub by_town: Vec<TownSummary>,
    pub crosstab: std::collections::BTreeMap<String, Vec<CrossCell>>,
    pub layers: Vec<LayerVersionRef>,
    pub errors: Vec<super::PairError>,
    pub ledger: Option<super::ledger::LedgerDiff>,
    pub seconds: f64,
}

/// The district's ellipsoidal area: the boundary layer's, else the union extent of the plans.
pub fn district_area(bp: &Blueprint) -> f64 {
    bp.by_role(crate::layer::LayerRole::Boundary)
        .next()
        .map(|l| {
            l.data
                .features
                .iter()
                .filter_map(|f| f.geom.as_polygons())
                .map(|p: &MultiPolygon<f64>| crate::geometry::area::ellipsoidal_area(p, &bp.zone))
                .sum()
        })
        .unwrap_or(0.0)
}

/// Builds `summary.json` from a run report.
pub fn summarise(
    run_id: &str,
    bp: &Blueprint,
    report: &RunReport,
    ledger: Option<super::ledger::LedgerDiff>,
) -> Summary {
    let district = district_area(bp);
    let mut total = Tally::default();
    for r in &report.rules {
        total.count += r.kept.count;
        total.area_m2 += r.kept.area_m2;
        total.ellipsoidal_area_m2 += r.kept.ellipsoidal_area_m2;
    }
    let pct = |part: f64, whole: f64| {
        if whole > 0.0 {
            100.0 * part / whole
        } else {
            0.0
        }
    };
    let rules = report
        .rules
        .iter()
        .map(|r| RuleSummary {
            id: r.id.clone(),
            name: r.name.clone(),
            category: r.category.clone(),
            diff_type: r.diff_type.clone(),
            severity: r.severity.clone(),
            subject_layer: r.subject_layer.clone(),
            other_layer: r.other_layer.clone(),
            clause: r.clause.clone(),
            count: r.kept.count,
            area_m2: r.kept.area_m2,
            ellipsoidal_area_m2: r.kept.ellipsoidal_area_m2,
            area_ha: hectares(r.kept.ellipsoidal_area_m2),
            area_mu: mu(r.kept.ellipsoidal_area_m2),
            share_of_district: pct(r.kept.ellipsoidal_area_m2, district),
            share_of_conflicts: pct(r.kept.ellipsoidal_area_m2, total.ellipsoidal_area_m2),
            kept: r.kept,
            fine: r.fine,
            dropped_noise: r.dropped_noise,
            dropped_sliver: r.dropped_sliver,
            subject_features: r.subject_features,
            candidate_pairs: r.candidate_pairs,
            overlays: r.overlays,
            contained: r.contained,
            errors: r.errors,
            seconds: r.seconds,
        })
        .collect();
    let by_town = report
        .by_town
        .iter()
        .map(|(code, rules)| {
            let mut t = Tally::default();
            for v in rules.values() {
                t.count += v.count;
                t.area_m2 += v.area_m2;
                t.ellipsoidal_area_m2 += v.ellipsoidal_area_m2;
            }
            TownSummary {
                code: code.clone(),
                name: report.town_names.get(code).cloned().unwrap_or_default(),
                total: t,
                rules: rules.clone(),
            }
        })
        .collect();
    let crosstab = report
        .crosstab
        .iter()
        .map(|(rule, cells)| {
            (
                rule.clone(),
                cells
                    .iter()
                    .map(|(k, t)| {
                        let (s, o) = k.split_once(" × ").unwrap_or((k.as_str(), ""));
                        CrossCell {
                            subject_class: s.to_string(),
                            other_class: o.to_string(),
                            tally: *t,
                        }
                    })
                    .collect(),
            )
        })
        .collect();
    Summary {
        run_id: run_id.to_string(),
        blueprint: report.blueprint.clone(),
        crs: bp.meta.crs.clone(),
        params: report.params,
        grid_exact: report.grid_exact,
        district_area_m2: district,
        total,
        rules,
        skipped_rules: report.skipped_rules.clone(),
        by_town,
        crosstab,
        layers: bp
            .meta
            .layers
            .iter()
            .filter(|v| report.layers_read.contains(&v.layer_id))
            .map(|v| LayerVersionRef {
                layer: v.layer_id.clone(),
                title: v.spec.display_title().to_string(),
                version: v.seq,
                hash: v.hash.clone(),
                source: v.source.name.clone(),
                source_hash: v.source.hash.clone(),
            })
            .collect(),
        errors: report.errors.clone(),
        ledger,
        seconds: report.seconds,
    }
}
