//! Mapbox Vector Tiles (MVT 2.1, EPSG:3857) of every layer version and of the conflict ledger,
//! cached per (version, z, x, y).
//!
//! Each layer is projected to Web Mercator once per version (on its first tile) with its own
//! R-tree; a tile is then a window query, a clip to the tile plus a buffer, a one-pixel
//! simplification and the protobuf encoding below (written out because the format is a dozen
//! fields; GDAL's MVT reader checks it in the tests).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use geo::{
    Area, BooleanOps, Coord, LineString, MultiLineString, MultiPolygon, Polygon, Rect, Simplify,
};

use super::{ApiError, AppState, Caller, Permission};
use crate::crs::{Crs, CrsSource, ResolvedCrs, Transformer};
use crate::layer::{Feature, Geom, GeomKind, LayerData, LayerIndex, Value};

/// Half the Web Mercator world width (m).
const ORIGIN: f64 = 20_037_508.342_789_244;
pub const EXTENT: u32 = 4096;
const BUFFER: f64 = 64.0;
pub const MAX_ZOOM: u8 = 20;

/// A layer in Web Mercator with its own index and the attributes a map label needs.
pub struct WebLayer {
    pub data: LayerData,
    pub index: LayerIndex,
    /// Per feature: (key, value) attributes written into tiles.
    pub props: Vec<Vec<(String, Value)>>,
}

/// (layer version or conflict revision, z, x, y)
type TileKey = (String, u8, u32, u32);
/// The tiles and their insertion order, for eviction.
type TileStore = (HashMap<TileKey, Arc<Vec<u8>>>, VecDeque<TileKey>);

/// Tiles and projected layers, bounded in memory.
pub struct TileCache {
    capacity: usize,
    tiles: Mutex<TileStore>,
    web: Mutex<HashMap<String, Arc<WebLayer>>>,
}

impl TileCache {
    pub fn new(capacity: usize) -> TileCache {
        TileCache {
            capacity,
            tiles: Mutex::new((HashMap::new(), VecDeque::new())),
            web: Mutex::new(HashMap::new()),
        }
    }

    pub fn clear(&self) {
        if let Ok(mut t) = self.tiles.lock() {
            t.0.clear();
            t.1.clear();
        }
        if let Ok(mut w) = self.web.lock() {
            w.clear();
        }
    }

    fn get(&self, key: &TileKey) -> Option<Arc<Vec<u8>>> {
        self.tiles.lock().ok()?.0.get(key).cloned()
    }

    fn put(&self, key: TileKey, tile: Arc<Vec<u8>>) {
        if let Ok(mut t) = self.tiles.lock() {
            if t.0.len() >= self.capacity
                && let Some(old) = t.1.pop_front()
            {
                t.0.remove(&old);
            }
            if t.0.insert(key.clone(), tile).is_none() {
                t.1.push_back(key);
            }
        }
    }

    fn web_layer(&self, key: &str) -> Option<Arc<WebLayer>> {
        self.web.lock().ok()?.get(key).cloned()
    }

    fn put_web(&self, key: String, w: Arc<WebLayer>) {
        if let Ok(mut m) = self.web.lock() {
            m.insert(key, w);
        }
    }
}

fn to_mercator(working: &Crs) -> Result<Transformer, crate::crs::CrsError> {
    Transformer::new(
        &ResolvedCrs {
            crs: working.clone(),
            swapped: false,
            source: CrsSource::Declared,
        },
        &Crs::Epsg(3857),
    )
}

/// Projects a layer to Web Mercator and indexes it.
pub fn project(
    layer: &LayerData,
    working: &Crs,
    props: impl Fn(usize) -> Vec<(String, Value)>,
) -> Result<WebLayer, String> {
    let t = to_mercator(working).map_err(|e| e.to_string())?;
    let mut data = LayerData::new(layer.kind, Vec::new());
    let mut all_props = Vec::with_capacity(layer.features.len());
    for (i, f) in layer.features.iter().enumerate() {
        let mut g = f.geom.clone();
        if t.geom(&mut g).is_err() {
            continue;
        }
        data.features.push(Feature {
            id: f.id.clone(),
            class: f.class.clone(),
            geom: g,
            attrs: Vec::new(),
        });
        all_props.push(props(i));
    }
    let index = LayerIndex::build(&data);
    Ok(WebLayer {
        data,
        index,
        props: all_props,
    })
}

/// Tile bounds in Web Mercator.
pub fn tile_bounds(z: u8, x: u32, y: u32) -> Rect<f64> {
    let size = 2.0 * ORIGIN / f64::from(1u32 << z);
    let min_x = -ORIGIN + f64::from(x) * size;
    let max_y = ORIGIN - f64::from(y) * size;
    Rect::new(
        Coord {
            x: min_x,
            y: max_y - size,
        },
        Coord {
            x: min_x + size,
            y: max_y,
        },
    )
}

// --- protobuf --------------------------------------------------------------------------

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from((field << 3) | wire));
}

fn bytes_field(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    key(out, field, 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The MVT geometry command stream of one feature.
struct Cursor {
    x: i64,
    y: i64,
    cmds: Vec<u32>,
}

impl Cursor {
    fn command(&mut self, id: u32, count: u32) {
        self.cmds.push((id & 0x7) | (count << 3));
    }

    fn delta(&mut self, p: (i64, i64)) {
        self.cmds.push(zigzag(p.0 - self.x) as u32);
        self.cmds.push(zigzag(p.1 - self.y) as u32);
        self.x = p.0;
        self.y = p.1;
    }

    fn path(&mut self, pts: &[(i64, i64)], close: bool) {
        let Some((first, rest)) = pts.split_first() else {
            return;
        };
        self.command(1, 1);
        self.delta(*first);
        if !rest.is_empty() {
            self.command(2, rest.len() as u32);
            for p in rest {
                self.delta(*p);
            }
        }
        if close {
            self.command(7, 1);
        }
    }
}

/// Maps Web Mercator to tile pixels (y down) and drops repeated points.
fn pixels(ring: &LineString<f64>, b: &Rect<f64>, closed: bool) -> Vec<(i64, i64)> {
    let sx = f64::from(EXTENT) / b.width();
    let sy = f64::from(EXTENT) / b.height();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        let p = (
            ((c.x - b.min().x) * sx).round() as i64,
            ((b.max().y - c.y) * sy).round() as i64,
        );
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    if closed && out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

fn shoelace(pts: &[(i64, i64)]) -> i64 {
    let n = pts.len();
    (0..n)
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

/// Encodes a geometry already clipped and simplified; `None` when nothing remains at this zoom.
fn encode_geometry(g: &Geom, b: &Rect<f64>) -> Option<(u32, Vec<u32>)> {
    let mut c = Cursor {
        x: 0,
        y: 0,
        cmds: Vec::new(),
    };
    let ty = match g {
        Geom::Point(mp) => {
            let pts: Vec<(i64, i64)> =
                mp.0.iter()
                    .flat_map(|p| pixels(&LineString(vec![p.0]), b, false))
                    .collect();
            if pts.is_empty() {
                return None;
            }
            c.command(1, pts.len() as u32);
            for p in pts {
                c.delta(p);
            }
            1
        }
        Geom::Line(ml) => {
            for l in &ml.0 {
                let pts = pixels(l, b, false);
                if pts.len() >= 2 {
                    c.path(&pts, false);
                }
            }
            2
        }
        Geom::Polygon(mp) => {
            for poly in &mp.0 {
                let mut ext = pixels(poly.exterior(), b, true);
                let area = shoelace(&ext);
                if ext.len() < 3 || area == 0 {
                    continue;
                }
                // MVT: exterior rings have positive area in tile coordinates (y down).
                if area < 0 {
                    ext.reverse();
                }
                c.path(&ext, true);
                for h in poly.interiors() {
                    let mut hole = pixels(h, b, true);
                    let a = shoelace(&hole);
                    if hole.len() < 3 || a == 0 {
                        continue;
                    }
                    if a > 0 {
                        hole.reverse();
                    }
                    c.path(&hole, true);
                }
            }
            3
        }
    };
    (!c.cmds.is_empty()).then_some((ty, c.cmds))
}

fn value_bytes(v: &Value) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match v {
        Value::Null => return None,
        Value::Text(s) => bytes_field(&mut out, 1, s.as_bytes()),
        Value::Real(r) => {
            key(&mut out, 3, 1);
            out.extend_from_slice(&r.to_le_bytes());
        }
        Value::Int(i) => {
            key(&mut out, 6, 0);
            varint(&mut out, zigzag(*i));
        }
    }
    Some(out)
}

/// Clips a projected geometry to `r` and simplifies it to `tolerance`.
fn clip(g: &Geom, r: &Rect<f64>, tolerance: f64) -> Option<Geom> {
    let rect_poly: Polygon<f64> = r.to_polygon();
    match g {
        Geom::Polygon(mp) => {
            let bbox = geo::BoundingRect::bounding_rect(mp)?;
            let inside = r.min().x <= bbox.min().x
                && r.min().y <= bbox.min().y
                && bbox.max().x <= r.max().x
                && bbox.max().y <= r.max().y;
            let clipped: MultiPolygon<f64> = if inside {
                mp.clone()
            } else {
                mp.intersection(&rect_poly)
            };
            let simplified = clipped.simplify(tolerance);
            let kept: Vec<Polygon<f64>> = simplified
                .0
                .into_iter()
                .filter(|p| p.unsigned_area() >= tolerance * tolerance)
                .collect();
            (!kept.is_empty()).then_some(Geom::Polygon(MultiPolygon(kept)))
        }
        Geom::Line(ml) => {
            let clipped: MultiLineString<f64> = MultiPolygon(vec![rect_poly]).clip(ml, false);
            let simplified = clipped.simplify(tolerance);
            (!simplified.0.is_empty()).then_some(Geom::Line(simplified))
        }
        Geom::Point(mp) => {
            let kept: Vec<_> = mp.0.iter().filter(|p| r.intersects(*p)).copied().collect();
            (!kept.is_empty()).then_some(Geom::Point(geo::MultiPoint(kept)))
        }
    }
}

use geo::Intersects;

/// Encodes one MVT tile with one layer.
pub fn encode_tile(layer_name: &str, web: &WebLayer, z: u8, x: u32, y: u32) -> Vec<u8> {
    let b = tile_bounds(z, x, y);
    let pad = b.width() * BUFFER / f64::from(EXTENT);
    let query = Rect::new(
        Coord {
            x: b.min().x - pad,
            y: b.min().y - pad,
        },
        Coord {
            x: b.max().x + pad,
            y: b.max().y + pad,
        },
    );
    let tolerance = b.width() / f64::from(EXTENT);
    let mut keys: Vec<String> = Vec::new();
    let mut key_index: HashMap<String, u32> = HashMap::new();
    let mut values: Vec<Vec<u8>> = Vec::new();
    let mut value_index: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut features = Vec::new();
    let mut candidates: Vec<usize> = web.index.candidates(&query).collect();
    candidates.sort_unstable();
    for i in candidates {
        let f = &web.data.features[i];
        let Some(g) = clip(&f.geom, &query, tolerance) else {
            continue;
        };
        let Some((ty, cmds)) = encode_geometry(&g, &b) else {
            continue;
        };
        let mut tags = Vec::new();
        for (k, v) in web.props.get(i).map(Vec::as_slice).unwrap_or_default() {
            let Some(vb) = value_bytes(v) else { continue };
            let ki = *key_index.entry(k.clone()).or_insert_with(|| {
                keys.push(k.clone());
                (keys.len() - 1) as u32
            });
            let vi = match value_index.get(&vb) {
                Some(v) => *v,
                None => {
                    values.push(vb.clone());
                    let idx = (values.len() - 1) as u32;
                    value_index.insert(vb, idx);
                    idx
                }
            };
            tags.push(ki);
            tags.push(vi);
        }
        let mut fb = Vec::new();
        key(&mut fb, 1, 0);
        varint(&mut fb, i as u64 + 1);
        if !tags.is_empty() {
            let mut packed = Vec::new();
            for t in tags {
                varint(&mut packed, u64::from(t));
            }
            bytes_field(&mut fb, 2, &packed);
        }
        key(&mut fb, 3, 0);
        varint(&mut fb, u64::from(ty));
        let mut packed = Vec::new();
        for c in cmds {
            varint(&mut packed, u64::from(c));
        }
        bytes_field(&mut fb, 4, &packed);
        features.push(fb);
    }
    if features.is_empty() {
        return Vec::new();
    }
    let mut lb = Vec::new();
    key(&mut lb, 15, 0);
    varint(&mut lb, 2);
    bytes_field(&mut lb, 1, layer_name.as_bytes());
    for f in &features {
        bytes_field(&mut lb, 2, f);
    }
    for k in &keys {
        bytes_field(&mut lb, 3, k.as_bytes());
    }
    for v in &values {
        bytes_field(&mut lb, 4, v);
    }
    key(&mut lb, 5, 0);
    varint(&mut lb, u64::from(EXTENT));
    let mut tile = Vec::new();
    bytes_field(&mut tile, 3, &lb);
    tile
}

// --- routes ------------------------------------------------------------------------------

fn parse_y(y: &str) -> Option<u32> {
    y.trim_end_matches(".pbf")
        .trim_end_matches(".mvt")
        .parse()
        .ok()
}

fn check_tile(z: u8, x: u32, y: u32) -> Result<(), ApiError> {
    if z > MAX_ZOOM || x >= (1u32 << z) || y >= (1u32 << z) {
        return Err(ApiError::bad_request(format!(
            "tile {z}/{x}/{y} does not exist (zoom ≤ {MAX_ZOOM})"
        ))
        .with_input(format!("{z}/{x}/{y}")));
    }
    Ok(())
}

fn mvt_response(tile: Arc<Vec<u8>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/vnd.mapbox-vector-tile"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        tile.as_ref().clone(),
    )
        .into_response()
}

fn layer_props(
    layer: &crate::blueprint::LoadedLayer,
) -> impl Fn(usize) -> Vec<(String, Value)> + '_ {
    let sys = layer
        .spec()
        .class
        .as_ref()
        .and_then(|c| crate::codes::CodeTables::builtin().system(&c.system).ok());
    move |i| {
        let f = &layer.data.features[i];
        let mut p = vec![("id".to_string(), Value::Text(f.id.clone()))];
        if let Some(c) = &f.class {
            p.push(("class".to_string(), Value::Text(c.clone())));
            if let Some(s) = sys {
                p.push(("class_name".to_string(), Value::Text(s.classify(c).name)));
            }
        }
        for key in [
            "name",
            "kind",
            "level",
            "species",
            "town",
            "diameter_mm",
            "voltage_kv",
            "valid_until",
        ] {
            if let Some(field) = layer.spec().field(key) {
                let v = layer.data.attr(i, field);
                if !v.is_null() {
                    p.push((key.to_string(), v.clone()));
                }
            }
        }
        p
    }
}

/// A vector tile of one layer of the active blueprint.
async fn layer_tile(
    State(state): State<AppState>,
    caller: Caller,
    Path((layer, z, x, y)): Path<(String, u8, u32, String)>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let y = parse_y(&y)
        .ok_or_else(|| ApiError::bad_request("tile y must be a number").with_input(y.clone()))?;
    check_tile(z, x, y)?;
    let bp = state.blueprint();
    let loaded = bp.layer(&layer).cloned().ok_or_else(|| {
        ApiError::not_found(format!("no layer `{layer}` in {}", bp.label()))
            .with_input(layer.clone())
    })?;
    let hash = loaded.version.hash.clone();
    let cache_key = (hash.clone(), z, x, y);
    state.metrics.tiles_served.fetch_add(1, Ordering::Relaxed);
    if let Some(t) = state.tiles.get(&cache_key) {
        state
            .metrics
            .tile_cache_hits
            .fetch_add(1, Ordering::Relaxed);
        return Ok(mvt_response(t));
    }
    let cache = state.tiles.clone();
    let crs = bp.crs.clone();
    let tile = state
        .cpu(move || -> Result<Arc<Vec<u8>>, String> {
            let web = match cache.web_layer(&hash) {
                Some(w) => w,
                None => {
                    let w = Arc::new(project(&loaded.data, &crs, layer_props(&loaded))?);
                    cache.put_web(hash.clone(), w.clone());
                    w
                }
            };
            let t = Arc::new(encode_tile(loaded.id(), &web, z, x, y));
            cache.put(cache_key, t.clone());
            Ok(t)
        })
        .await?
        .map_err(ApiError::internal)?;
    Ok(mvt_response(tile))
}

/// Conflict parcels of the ledger (present ones) as a tile layer `conflicts`.
async fn conflict_tile(
    State(state): State<AppState>,
    caller: Caller,
    Path((z, x, y)): Path<(u8, u32, String)>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let y = parse_y(&y)
        .ok_or_else(|| ApiError::bad_request("tile y must be a number").with_input(y.clone()))?;
    check_tile(z, x, y)?;
    let bp = state.blueprint();
    let store = state.store.clone();
    let cache = state.tiles.clone();
    state.metrics.tiles_served.fetch_add(1, Ordering::Relaxed);
    let tile = state
        .cpu(move || -> Result<Arc<Vec<u8>>, String> {
            // The ledger changes with every run: key its projection by the newest run.
            let last_run: String = store
                .conn()
                .query_row(
                    "SELECT COALESCE(MAX(run_id), '') FROM conflict_runs WHERE blueprint = ?1",
                    [&bp.meta.name],
                    |r| r.get(0),
                )
                .map_err(|e| e.to_string())?;
            let web_key = format!("conflicts:{}:{last_run}", bp.meta.name);
            let cache_key = (web_key.clone(), z, x, y);
            if let Some(t) = cache.get(&cache_key) {
                return Ok(t);
            }
            let web = match cache.web_layer(&web_key) {
                Some(w) => w,
                None => {
                    let (data, props) = ledger_layer(&store, &bp.meta.name)?;
                    let w = Arc::new(project(&data, &bp.crs, |i| props[i].clone())?);
                    cache.put_web(web_key.clone(), w.clone());
                    w
                }
            };
            let t = Arc::new(encode_tile("conflicts", &web, z, x, y));
            cache.put(cache_key, t.clone());
            Ok(t)
        })
        .await?
        .map_err(ApiError::internal)?;
    Ok(mvt_response(tile))
}

#[allow(clippy::type_complexity)]
fn ledger_layer(
    store: &crate::store::Store,
    blueprint: &str,
) -> Result<(LayerData, Vec<Vec<(String, Value)>>), String> {
    let conn = store.conn();
    let mut stmt = conn
        .prepare("SELECT id, rule_id, state, town, ellipsoidal_area_m2, geom FROM conflicts WHERE blueprint = ?1 AND presence = 'present' ORDER BY id")
        .map_err(|e| e.to_string())?;
    let mut data = LayerData::new(GeomKind::Polygon, Vec::new());
    let mut props = Vec::new();
    let rows = stmt
        .query_map([blueprint], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, f64>(4)?,
                r.get::<_, Vec<u8>>(5)?,
            ))
        })
        .map_err(|e| e.to_string())?;
    for row in rows {
        let (id, rule, st, town, area, blob) = row.map_err(|e| e.to_string())?;
        let Some(mp) = super::routes::conflicts::decode_blob(&blob) else {
            continue;
        };
        data.features.push(Feature {
            id: id.clone(),
            class: Some(rule.clone()),
            geom: Geom::Polygon(mp),
            attrs: Vec::new(),
        });
        props.push(vec![
            ("id".to_string(), Value::Text(id)),
            ("rule".to_string(), Value::Text(rule)),
            ("state".to_string(), Value::Text(st)),
            ("town".to_string(), Value::Text(town)),
            (
                "area_m2".to_string(),
                Value::Real((area * 100.0).round() / 100.0),
            ),
        ]);
    }
    Ok((data, props))
}

/// A TileJSON-like list of the tile layers.
async fn tile_index(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    caller.require(Permission::Read)?;
    let bp = state.blueprint();
    let layers: Vec<serde_json::Value> = bp
        .layers
        .iter()
        .map(|l| {
            serde_json::json!({
                "id": l.id(), "title": l.spec().display_title(), "role": l.role().as_str(),
                "kind": l.data.kind.as_str(), "version": l.version.seq,
                "tiles": [format!("/tiles/{}/{{z}}/{{x}}/{{y}}.pbf", l.id())],
            })
        })
        .collect();
    Ok(axum::Json(serde_json::json!({
        "tilejson": "3.0.0",
        "blueprint": bp.label(),
        "maxzoom": MAX_ZOOM,
        "layers": layers,
        "conflicts": "/tiles/conflicts/{z}/{x}/{y}.pbf",
    })))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tiles.json", axum::routing::get(tile_index))
        .route(
            "/tiles/conflicts/{z}/{x}/{y}",
            axum::routing::get(conflict_tile),
        )
        .route("/tiles/{layer}/{z}/{x}/{y}", axum::routing::get(layer_tile))
}
