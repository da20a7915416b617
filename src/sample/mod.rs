//! The deterministic sample district: a synthetic 阳东区 (EPSG:4546) with a 控规 layer, an
//! independently digitised 土规, the three control lines, the city 四线, 区域评估 coverage,
//! status-survey points and pipelines, town boundaries and candidate sites as a 界址点 TXT, all
//! in office formats, with seeded conflicts whose answers are written to `expected.json`.
//!
//! The same [`SampleParams`] give the same features: GeoJSON and TXT byte for byte, GeoPackages
//! up to GDAL's timestamps. Randomness comes from keyed splitmix64 streams ([`rng`]), so every
//! decision depends only on the seed and on what it decides.
//!
//! How it is built: a Voronoi partition of jittered sites, dense in the towns' planning areas
//! (sized so they hold `parcels` cells) and coarse in the countryside, is held as a topology
//! whose edges are densified once ([`mesh`]); each cell gets a "true" land use ([`world`]);
//! every layer is a union of cells, moved by its plan family's smooth displacement field
//! ([`layers`]); the seeded rectangles and candidate sites are placed last ([`sites`]).

pub mod layers;
pub mod mesh;
pub mod names;
pub mod rng;
pub mod sites;
pub mod world;
mod write;

use std::path::{Path, PathBuf};
use std::time::Instant;

use geo::{MapCoords, Validation};
use serde::Serialize;
use thiserror::Error;

use crate::crs::Crs;
use crate::export::{self, ExportError, ExportFormat, ExportOptions};
use crate::layer::{Geom, LayerData};
use layers::Built;
use sites::{SeededOverlap, SiteDef};
use world::World;

#[derive(Debug, Error)]
pub enum SampleError {
    #[error("sample parameters: {0}")]
    Params(String),
    #[error("building the partition: {0}")]
    Mesh(String),
    #[error("placing the sample features: {0}")]
    Placement(String),
    #[error("layer `{layer}` feature {id} is not a valid geometry: {reason}")]
    InvalidGeometry {
        layer: String,
        id: String,
        reason: String,
    },
    #[error(
        "{0} exists and was not written by `lantu sample`; choose another directory or pass --force"
    )]
    Exists(PathBuf),
    #[error("GDAL while writing {path}: {reason}")]
    Gdal { path: PathBuf, reason: String },
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("writing the candidate sites: {0}")]
    Txt(String),
    #[error("the generated manifest does not parse: {0}")]
    Manifest(String),
}

/// What to generate.
#[derive(Debug, Clone, Serialize)]
pub struct SampleParams {
    /// 控规 parcels (the planning areas hold about this many cells; at least this many).
    pub parcels: usize,
    pub seed: u64,
    /// True cells per 土规 管制区 zone; by default 4 below 50 000 parcels, 1 (district scale,
    /// both plan layers ≈ `parcels` polygons) above.
    pub merge: Option<usize>,
    /// Most intermediate vertices per partition edge; by default 1 (parcels of ~5–14 vertices)
    /// below 50 000 parcels, 7 with at least 1 (≈ 8–60 vertices) above.
    pub edge_points: Option<usize>,
}

impl Default for SampleParams {
    fn default() -> Self {
        SampleParams {
            parcels: 20_000,
            seed: 2019,
            merge: None,
            edge_points: None,
        }
    }
}

/// One written file.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub name: String,
    pub bytes: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct SampleSummary {
    pub out_dir: PathBuf,
    /// (layer id, feature count) in manifest order.
    pub layers: Vec<(String, usize)>,
    pub files: Vec<FileSummary>,
    pub total_bytes: u64,
    pub seconds: f64,
}

/// The sample in memory.
#[derive(Debug)]
pub struct Sample {
    pub world: World,
    pub built: Built,
    pub overlaps: Vec<SeededOverlap>,
    pub sites: Vec<SiteDef>,
    pub expected: serde_json::Value,
}

/// Files the generator writes (and `--force` may replace).
pub const FILES: [&str; 20] = [
    "kg.gpkg",
    "gzq.shp",
    "gzq.shx",
    "gzq.dbf",
    "ytq.gpkg",
    "sanxian.gpkg",
    "sixian.gpkg",
    "qypg.geojson",
    "xcpc.gpkg",
    "guanxian.gpkg",
    "towns.shp",
    "towns.shx",
    "towns.dbf",
    "towns.cpg",
    "towns.prj",
    "sites.txt",
    "blueprint.toml",
    "expected.json",
    "gzq.cpg",
    "gzq.prj",
];

/// Builds the whole sample in memory and checks every polygon.
pub fn build(params: &SampleParams) -> Result<Sample, SampleError> {
    if params.parcels < 1_000 {
        return Err(SampleError::Params(format!(
            "--parcels {} is too small: the seeded clusters need at least 1 000 parcels",
            params.parcels
        )));
    }
    if params.parcels > 2_000_000 {
        return Err(SampleError::Params(format!(
            "--parcels {} is beyond district scale",
            params.parcels
        )));
    }
    let t = Instant::now();
    let world = World::build(params)?;
    tracing::info!(
        "sample: partition of {} cells, s0 {:.1} m, {:.2}s",
        world.n(),
        world.s0,
        t.elapsed().as_secs_f64()
    );
    let mut built = layers::build(&world)?;
    tracing::info!("sample: layers {:.2}s", t.elapsed().as_secs_f64());
    let (overlaps, origin0) = sites::seed_rectangles(&world, &mut built)?;
    tracing::info!(
        "sample: seeded rectangles {:.2}s",
        t.elapsed().as_secs_f64()
    );
    let mut sites = sites::sites(&world, &built, origin0)?;
    if let Some(s5) = sites.last_mut() {
        let tree = sites::seed_tree(&world, &mut built, s5)?;
        s5.purpose = s5.purpose.replace("{tree}", &tree);
    }
    tracing::info!("sample: sites {:.2}s", t.elapsed().as_secs_f64());
    for (id, layer) in &built.layers {
        let t = Instant::now();
        check_layer(id, layer)?;
        tracing::debug!(
            "sample: validated {id} in {:.2}s",
            t.elapsed().as_secs_f64()
        );
    }
    tracing::info!("sample: validated {:.2}s", t.elapsed().as_secs_f64());
    let expected = sites::expected(
        &world,
        &built,
        &overlaps,
        &sites,
        serde_json::to_value(params).unwrap_or_default(),
    )?;
    tracing::info!("sample: expected answers {:.2}s", t.elapsed().as_secs_f64());
    Ok(Sample {
        world,
        built,
        overlaps,
        sites,
        expected,
    })
}

fn check_layer(id: &str, layer: &LayerData) -> Result<(), SampleError> {
    use rayon::prelude::*;
    let bad = layer.features.par_iter().find_first(|f| match &f.geom {
        Geom::Polygon(mp) => !mesh::multipolygon_is_simple(mp),
        Geom::Line(ml) => ml.0.iter().any(|l| l.0.len() < 2),
        Geom::Point(mp) => mp.0.is_empty(),
    });
    match bad {
        None => Ok(()),
        Some(f) => Err(SampleError::InvalidGeometry {
            layer: id.to_string(),
            id: f.id.clone(),
            reason: match &f.geom {
                Geom::Polygon(mp) => mp
                    .validation_errors()
                    .first()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "empty".into()),
                _ => "degenerate".into(),
            },
        }),
    }
}

/// Generates the sample into `out_dir` (created if missing). A directory holding files of the
/// generator's names is only overwritten when an earlier run of the generator wrote it.
pub fn generate(params: &SampleParams, out_dir: &Path) -> Result<SampleSummary, SampleError> {
    generate_with(params, out_dir, false)
}

/// [`generate`], with `force` overwriting files of the generator's names whoever wrote them.
pub fn generate_with(
    params: &SampleParams,
    out_dir: &Path,
    force: bool,
) -> Result<SampleSummary, SampleError> {
    let started = Instant::now();
    std::fs::create_dir_all(out_dir).map_err(|source| SampleError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    // A directory the generator wrote before (its manifest says so) is regenerated in place;
    // anything else holding one of its file names needs `force`.
    let ours = std::fs::read_to_string(out_dir.join("blueprint.toml"))
        .is_ok_and(|t| t.starts_with(write::MANIFEST_HEADER));
    let existing: Vec<PathBuf> = FILES
        .iter()
        .map(|name| out_dir.join(name))
        .filter(|p| p.exists())
        .collect();
    if let Some(p) = existing.first()
        && !force
        && !ours
    {
        return Err(SampleError::Exists(p.clone()));
    }
    let sample = build(params)?;
    for p in existing {
        std::fs::remove_file(&p).map_err(|source| SampleError::Io {
            path: p.clone(),
            source,
        })?;
    }
    write_all(&sample, out_dir)?;
    let mut files = Vec::new();
    for name in FILES {
        let p = out_dir.join(name);
        if let Ok(m) = std::fs::metadata(&p) {
            files.push(FileSummary {
                name: name.to_string(),
                bytes: m.len(),
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let total_bytes = files.iter().map(|f| f.bytes).sum();
    Ok(SampleSummary {
        out_dir: out_dir.to_path_buf(),
        layers: sample
            .built
            .layers
            .iter()
            .map(|(id, l)| (id.to_string(), l.features.len()))
            .chain(std::iter::once(("sites".to_string(), sample.sites.len())))
            .collect(),
        files,
        total_bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn layer<'a>(built: &'a Built, id: &str) -> Result<&'a LayerData, SampleError> {
    built
        .layer(id)
        .ok_or_else(|| SampleError::Placement(format!("layer {id} was not built")))
}

fn write_all(sample: &Sample, dir: &Path) -> Result<(), SampleError> {
    let b = &sample.built;
    let working = Crs::Epsg(4546);
    write::gpkg(&dir.join("kg.gpkg"), &[("kg", layer(b, "kg")?)], 4546)?;

    let gzq = dir.join("gzq.shp");
    write::shapefile(&gzq, "gzq", layer(b, "gzq")?, 4546)?;
    write::strip_declarations(&gzq)?;

    // 土地用途区 in the zone-prefixed CRS: import must reproject it.
    let mut ytq = layer(b, "ytq")?.clone();
    for f in &mut ytq.features {
        if let Geom::Polygon(mp) = &f.geom {
            f.geom = Geom::Polygon(mp.map_coords(|c| geo::Coord {
                x: c.x + 37_000_000.0,
                y: c.y,
            }));
        }
    }
    write::gpkg(&dir.join("ytq.gpkg"), &[("ytq", &ytq)], 4525)?;

    let group = |ids: &[&'static str]| -> Result<Vec<(&'static str, &LayerData)>, SampleError> {
        ids.iter().map(|id| Ok((*id, layer(b, id)?))).collect()
    };
    write::gpkg(
        &dir.join("sanxian.gpkg"),
        &group(&["yjjbnt", "sthx", "czkfbj"])?,
        4546,
    )?;
    write::gpkg(
        &dir.join("sixian.gpkg"),
        &group(&["lanxian", "zixian", "lvxian", "huangxian"])?,
        4546,
    )?;
    export::write(
        layer(b, "qypg")?,
        &working,
        ExportFormat::GeoJson,
        &dir.join("qypg.geojson"),
        "qypg",
        &ExportOptions::default(),
    )?;
    write::gpkg(
        &dir.join("xcpc.gpkg"),
        &group(&["wenwu", "lsjz", "gsmm", "whp"])?,
        4546,
    )?;
    write::gpkg(
        &dir.join("guanxian.gpkg"),
        &group(&["js", "ys", "ws", "rq", "dl", "tx"])?,
        4546,
    )?;
    write::shapefile(&dir.join("towns.shp"), "towns", layer(b, "towns")?, 4546)?;

    write_sites(sample, &dir.join("sites.txt"))?;

    let text = manifest_text();
    crate::blueprint::Manifest::parse(&text, &dir.join("blueprint.toml"))
        .map_err(|e| SampleError::Manifest(e.to_string()))?;
    let io = |path: PathBuf| {
        move |source| SampleError::Io {
            path: path.clone(),
            source,
        }
    };
    let p = dir.join("blueprint.toml");
    std::fs::write(&p, text).map_err(io(p.clone()))?;
    let p = dir.join("expected.json");
    let json = serde_json::to_string_pretty(&sample.expected).map_err(|e| SampleError::Io {
        path: p.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&p, json + "\n").map_err(io(p.clone()))?;
    Ok(())
}

/// The candidate sites as a 界址点 TXT: GBK, zone 37 prefixed eastings, areas in 公顷
/// (ellipsoidal, as 报批 files declare them).
fn write_sites(sample: &Sample, path: &Path) -> Result<(), SampleError> {
    use crate::import::jzd_txt::{self, Datum, JzdFile, JzdHeader, ParcelMeta, TxtEncoding};
    let zone = layers::zone()?;
    let entry = |k: &str, v: &str| (k.to_string(), v.to_string());
    let header = JzdHeader {
        entries: vec![
            entry("格式版本号", "1.00版本"),
            entry("数据产生单位", "阳江市自然资源局阳东分局（样例）"),
            entry("数据产生日期", "2024-05-01"),
        ],
        datum: Datum::Cgcs2000,
        zone_width: Some(3),
        zone: Some(37),
        precision: Some(0.001),
        unit: Some("米".to_string()),
        transform_params: None,
    };
    let parcels = sample
        .sites
        .iter()
        .map(|s| {
            jzd_txt::parcel_from_multipolygon(
                &s.geom,
                ParcelMeta {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    shape: "面".to_string(),
                    sheet: String::new(),
                    usage: s.usage.clone(),
                    class_code: s.class_code.clone(),
                    area_ha: Some(
                        crate::geometry::area::ellipsoidal_area(&s.geom, &zone) / 10_000.0,
                    ),
                },
                Some(37),
                3,
            )
        })
        .collect();
    let file = JzdFile {
        header,
        parcels,
        warnings: Vec::new(),
    };
    let bytes =
        jzd_txt::write(&file, TxtEncoding::Gbk).map_err(|e| SampleError::Txt(e.to_string()))?;
    std::fs::write(path, bytes).map_err(|source| SampleError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn manifest_text() -> String {
    use write::ManifestLayer as L;
    let none = [None; 4];
    let kg_prov = [
        Some("阳江市阳东区人民政府"),
        None,
        None,
        Some("各镇控规 2017—2019 年批复（批准文号见 PFNAME）"),
    ];
    let tg_prov = [
        Some("阳江市人民政府"),
        Some("粤府函〔2017〕190号（样例）"),
        Some("2017-08-15"),
        Some("土地利用总体规划（2010—2020年）调整完善"),
    ];
    let sx_prov = [
        Some("阳江市阳东区自然资源局"),
        None,
        None,
        Some("2022年三区三线划定成果"),
    ];
    let city_prov = [
        Some("阳江市阳东区自然资源局"),
        None,
        None,
        Some("2019年城市四线"),
    ];
    let survey = |body: &'static str| [Some(body), None, None, Some("2023年现状普查")];
    let pipe_prov = survey("阳江市阳东区住房和城乡建设局");
    let pipe_fields: &[(&str, &str)] = &[
        ("diameter_mm", "GJ"),
        ("material", "CZ"),
        ("depth_m", "MS"),
        ("owner", "QSDW"),
    ];
    let layers = [
        L {
            id: "kg",
            role: "urban_plan",
            title: "控制性详细规划",
            source: "kg.gpkg",
            source_layer: Some("kg"),
            id_field: Some("DKBH"),
            class: Some(("YDXZDM", "GB50137-2011")),
            provenance: kg_prov,
            fields: &[
                ("far_max", "RJLSX"),
                ("far_min", "RJLXX"),
                ("density_max", "JZMDZ"),
                ("green_min", "LDLLX"),
                ("height_max", "JZXG"),
                ("town", "SUOSZQ"),
                ("town_code", "ZQCODE"),
                ("area", "YDMJ"),
                ("class_name", "YDXZMC"),
                ("approval_no", "PFNAME"),
                ("approval_date", "PFDATE"),
            ],
        },
        L {
            id: "gzq",
            role: "landuse_plan",
            title: "土地利用总体规划·建设用地管制区",
            source: "gzq.shp",
            source_layer: None,
            id_field: Some("BSM"),
            class: Some(("GZQLXDM", "TDGH-GZQ")),
            provenance: tg_prov,
            fields: &[
                ("class_name", "GZQMC"),
                ("town", "XZQMC"),
                ("town_code", "XZQDM"),
                ("area", "MJ"),
            ],
        },
        L {
            id: "ytq",
            role: "landuse_plan",
            title: "土地利用总体规划·土地用途区",
            source: "ytq.gpkg",
            source_layer: Some("ytq"),
            id_field: Some("BSM"),
            class: Some(("TDYTQLXDM", "TDGH-YTQ")),
            provenance: tg_prov,
            fields: &[
                ("class_name", "TDYTQMC"),
                ("town", "XZQMC"),
                ("town_code", "XZQDM"),
                ("area", "MJ"),
            ],
        },
        L {
            id: "yjjbnt",
            role: "control_line",
            title: "永久基本农田",
            source: "sanxian.gpkg",
            source_layer: Some("yjjbnt"),
            id_field: Some("BSM"),
            class: Some(("DLBM", "GBT21010-2017")),
            provenance: sx_prov,
            fields: &[
                ("area", "TBMJ"),
                ("net_area", "TBDLMJ"),
                ("deduction", "KCXS"),
                ("class_name", "DLMC"),
                ("town", "XZQMC"),
            ],
        },
        L {
            id: "sthx",
            role: "control_line",
            title: "生态保护红线",
            source: "sanxian.gpkg",
            source_layer: Some("sthx"),
            id_field: Some("BSM"),
            class: None,
            provenance: sx_prov,
            fields: &[
                ("name", "HXMC"),
                ("kind", "HXLX"),
                ("area", "MJ"),
                ("approval_no", "PZWH"),
            ],
        },
        L {
            id: "czkfbj",
            role: "control_line",
            title: "城镇开发边界",
            source: "sanxian.gpkg",
            source_layer: Some("czkfbj"),
            id_field: Some("BSM"),
            class: None,
            provenance: sx_prov,
            fields: &[("town", "XZQMC"), ("kind", "LX"), ("area", "MJ")],
        },
        L {
            id: "lanxian",
            role: "control_line",
            title: "城市蓝线",
            source: "sixian.gpkg",
            source_layer: Some("lanxian"),
            id_field: Some("BSM"),
            class: None,
            provenance: city_prov,
            fields: &[("name", "MC"), ("kind", "LX"), ("rule", "GLYQ")],
        },
        L {
            id: "zixian",
            role: "control_line",
            title: "城市紫线",
            source: "sixian.gpkg",
            source_layer: Some("zixian"),
            id_field: Some("BSM"),
            class: None,
            provenance: city_prov,
            fields: &[("name", "MC"), ("kind", "LX"), ("approval_no", "PZWH")],
        },
        L {
            id: "lvxian",
            role: "control_line",
            title: "城市绿线",
            source: "sixian.gpkg",
            source_layer: Some("lvxian"),
            id_field: Some("BSM"),
            class: None,
            provenance: city_prov,
            fields: &[("name", "MC"), ("kind", "LX")],
        },
        L {
            id: "huangxian",
            role: "control_line",
            title: "城市黄线",
            source: "sixian.gpkg",
            source_layer: Some("huangxian"),
            id_field: Some("BSM"),
            class: None,
            provenance: city_prov,
            fields: &[("name", "MC"), ("kind", "LX")],
        },
        L {
            id: "qypg",
            role: "assessment",
            title: "区域评估成果",
            source: "qypg.geojson",
            source_layer: None,
            id_field: Some("BSM"),
            class: None,
            provenance: [
                Some("阳江市阳东区人民政府"),
                None,
                None,
                Some("2017—2021年区域评估"),
            ],
            fields: &[
                ("kind", "PGLX"),
                ("area_name", "PGQY"),
                ("report_no", "BGBH"),
                ("approver", "PFJG"),
                ("approval_date", "PFRQ"),
                ("valid_until", "YXQZ"),
                ("conclusion", "JL"),
                ("indicator_name", "ZBMC"),
                ("indicator_value", "ZBZ"),
            ],
        },
        L {
            id: "wenwu",
            role: "survey",
            title: "文物保护单位",
            source: "xcpc.gpkg",
            source_layer: Some("wenwu"),
            id_field: Some("BH"),
            class: None,
            provenance: survey("阳江市阳东区文化广电旅游体育局"),
            fields: &[
                ("name", "MC"),
                ("level", "JB"),
                ("kind", "LB"),
                ("radius_m", "BHFW_M"),
                ("control_m", "JSKZDD_M"),
            ],
        },
        L {
            id: "lsjz",
            role: "survey",
            title: "历史建筑",
            source: "xcpc.gpkg",
            source_layer: Some("lsjz"),
            id_field: Some("BH"),
            class: None,
            provenance: survey("阳江市阳东区住房和城乡建设局"),
            fields: &[("name", "MC"), ("kind", "JZLX"), ("radius_m", "BHFW_M")],
        },
        L {
            id: "gsmm",
            role: "survey",
            title: "古树名木",
            source: "xcpc.gpkg",
            source_layer: Some("gsmm"),
            id_field: Some("BH"),
            class: None,
            provenance: survey("阳江市阳东区林业局"),
            fields: &[
                ("species", "SZ"),
                ("age", "SL"),
                ("level", "JB"),
                ("radius_m", "BHBJ_M"),
                ("town", "XZQMC"),
            ],
        },
        L {
            id: "whp",
            role: "survey",
            title: "危险化学品企业",
            source: "xcpc.gpkg",
            source_layer: Some("whp"),
            id_field: Some("BH"),
            class: None,
            provenance: survey("阳江市阳东区应急管理局"),
            fields: &[
                ("name", "QYMC"),
                ("kind", "WHPLX"),
                ("storage_t", "CCL_T"),
                ("safety_m", "AQJL_M"),
                ("major_hazard", "ZDWXY"),
            ],
        },
        L {
            id: "js",
            role: "survey",
            title: "给水管线",
            source: "guanxian.gpkg",
            source_layer: Some("js"),
            id_field: Some("BH"),
            class: None,
            provenance: pipe_prov,
            fields: pipe_fields,
        },
        L {
            id: "ys",
            role: "survey",
            title: "雨水管线",
            source: "guanxian.gpkg",
            source_layer: Some("ys"),
            id_field: Some("BH"),
            class: None,
            provenance: pipe_prov,
            fields: pipe_fields,
        },
        L {
            id: "ws",
            role: "survey",
            title: "污水管线",
            source: "guanxian.gpkg",
            source_layer: Some("ws"),
            id_field: Some("BH"),
            class: None,
            provenance: pipe_prov,
            fields: pipe_fields,
        },
        L {
            id: "rq",
            role: "survey",
            title: "燃气管线",
            source: "guanxian.gpkg",
            source_layer: Some("rq"),
            id_field: Some("BH"),
            class: None,
            provenance: pipe_prov,
            fields: &[
                ("diameter_mm", "GJ"),
                ("pressure", "YLJB"),
                ("material", "CZ"),
                ("owner", "QSDW"),
            ],
        },
        L {
            id: "dl",
            role: "survey",
            title: "电力管线",
            source: "guanxian.gpkg",
            source_layer: Some("dl"),
            id_field: Some("BH"),
            class: None,
            provenance: pipe_prov,
            fields: &[("voltage_kv", "DY"), ("laying", "FSFS"), ("owner", "QSDW")],
        },
        L {
            id: "tx",
            role: "survey",
            title: "通信管线",
            source: "guanxian.gpkg",
            source_layer: Some("tx"),
            id_field: Some("BH"),
            class: None,
            provenance: pipe_prov,
            fields: &[("diameter_mm", "GJ"), ("ducts", "KS"), ("owner", "QSDW")],
        },
        L {
            id: "towns",
            role: "boundary",
            title: "镇级行政区",
            source: "towns.shp",
            source_layer: None,
            id_field: Some("XZQDM"),
            class: None,
            provenance: [Some("阳江市阳东区民政局"), None, None, Some("2023年")],
            fields: &[("code", "XZQDM"), ("name", "XZQMC"), ("area", "MJ")],
        },
        L {
            id: "sites",
            role: "site",
            title: "候选地块（界址点坐标）",
            source: "sites.txt",
            source_layer: None,
            id_field: Some("地块编号"),
            class: None,
            provenance: none,
            fields: &[
                ("name", "地块名称"),
                ("usage", "地块用途"),
                ("class_code", "地类编码"),
            ],
        },
    ];
    write::manifest(
        "阳东区一张蓝图（合成样例）",
        "Synthetic sample district generated by `lantu sample`; seeded conflicts and their answers are in expected.json.",
        &layers,
    )
}
