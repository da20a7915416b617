//! lantu (蓝图): every plan of a district on one coordinate base — import, validate and version
//! plan layers, reconcile them into conflict parcels (差异图斑), check candidate sites and issue the
//! 土地资源和技术控制指标清单.
//!
//! # Layout
//! Data flows one way: `import` → `layer`/`store`/`blueprint` → overlay/rules → reconcile/site →
//! checklist/report → server/cli.
//! - [`crs`]: CRS declarations, detection by coordinate magnitude, reprojection, GCJ-02.
//! - [`geometry`]: validation and repair, planar and ellipsoidal area.
//! - [`codes`]: class code tables (GB 50137, GB/T 21010, 用地用海 …) as data.
//! - [`layer`]: the feature model and the per-layer R-tree.
//! - [`import`]: reading office formats into layers, with an import report.
//! - [`store`]: content-addressed FlatGeobuf layer versions and the SQLite catalog.
//! - [`blueprint`]: the manifest, atomic manifest import, loading a blueprint into memory.
//! - [`export`]: writing layer versions back out (GPKG, Shapefile GBK, GeoJSON).
//! - [`report`]: the checklist rendered as printable HTML, PDF (Typst) and XLSX.
//! - [`sample`]: the deterministic generator of the sample district.

pub mod blueprint;
pub mod checklist;
pub mod codes;
pub mod crs;
pub mod export;
pub mod geometry;
pub mod gpkg;
pub mod import;
pub mod layer;
pub mod overlay;
pub mod reconcile;
pub mod report;
pub mod rules;
pub mod sample;
pub mod server;
pub mod site;
pub mod store;
