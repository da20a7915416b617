//! Shared helpers for the integration tests.

use std::path::{Path, PathBuf};

use lantu::blueprint::LayerSpec;
use lantu::layer::LayerRole;

/// The project's shared folder with real public data (read-only, never copied into the repo).
pub fn shared() -> PathBuf {
    match std::env::var_os("LANTU_SHARED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    }
}

pub fn data_real(rel: &str) -> PathBuf {
    let p = shared().join("data-real").join(rel);
    assert!(
        p.exists(),
        "real test data {} is missing (set LANTU_SHARED to the shared folder)",
        p.display()
    );
    p
}

pub fn spec(id: &str, role: LayerRole) -> LayerSpec {
    LayerSpec::new(id, role)
}

/// A GeoJSON FeatureCollection in EPSG:4546 (declared with a `crs` member) from rings given as
/// (x, y) lists; properties `{"BH": id}`.
pub fn geojson_4546(features: &[(&str, Vec<Vec<(f64, f64)>>)]) -> String {
    let feats: Vec<serde_json::Value> = features
        .iter()
        .map(|(id, rings)| {
            serde_json::json!({
                "type": "Feature",
                "properties": {"BH": id},
                "geometry": {"type": "Polygon", "coordinates": rings.iter().map(|r| {
                    r.iter().map(|(x, y)| serde_json::json!([x, y])).collect::<Vec<_>>()
                }).collect::<Vec<_>>()}
            })
        })
        .collect();
    serde_json::json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4546"}},
        "features": feats,
    })
    .to_string()
}

/// A closed axis-aligned rectangle ring.
pub fn rect(x: f64, y: f64, w: f64, h: f64) -> Vec<(f64, f64)> {
    vec![(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)]
}
