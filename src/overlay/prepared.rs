//! A layer's polygons prepared once for repeated queries (the site check): converted to the
//! grid, with their areas, and the large ones (an 城镇开发边界 or a 管制区 zone of thousands of
//! vertices) cut into tiles so a query touches only the few hundred vertices near it instead of
//! clipping the whole outline every time. Tile pieces come from the exact rectangle clip, so their
//! areas add up to the polygon's.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use i_overlay::i_float::int::point::IntPoint;

use super::clip::{IRect, Ring, clip_rings, twice_signed_area};
use super::{Grid, IntPoly};
use crate::layer::Feature;

/// Polygons with more vertices than this are tiled.
pub const TILE_ABOVE_VERTICES: usize = 256;
/// Side of a tile in metres.
pub const TILE_M: f64 = 250.0;

/// Marks a record without tiles, and a tile the polygon does not reach.
const NONE: u32 = u32::MAX;

/// A large polygon cut along a regular grid of tiles; the pieces are records of the layer.
#[derive(Debug, Clone)]
struct Tiling {
    x0: i64,
    y0: i64,
    step_x: i64,
    step_y: i64,
    nx: usize,
    ny: usize,
    /// Row-major record indices, `NONE` where the polygon does not reach.
    pieces: Vec<u32>,
}

impl Tiling {
    /// The record indices of the tiles meeting `r`.
    fn pieces_in(&self, r: IRect) -> impl Iterator<Item = usize> + '_ {
        let span = |lo: i64, hi: i64, o: i64, step: i64, n: usize| {
            let a = ((lo - o).div_euclid(step)).clamp(0, n as i64 - 1) as usize;
            let b = ((hi - o).div_euclid(step)).clamp(0, n as i64 - 1) as usize;
            a..=b
        };
        let xs = span(r.min_x, r.max_x, self.x0, self.step_x, self.nx);
        let ys = span(r.min_y, r.max_y, self.y0, self.step_y, self.ny);
        ys.flat_map(move |iy| xs.clone().map(move |ix| iy * self.nx + ix))
            .filter_map(|i| (self.pieces[i] != NONE).then_some(self.pieces[i] as usize))
    }
}

/// One polygon of a prepared layer (a feature, or a tile piece of a large one): a fixed-size
/// record whose vertices, id and class live in the layer's shared arrays.
#[derive(Debug)]
pub struct PolyRec {
    pub bbox: IRect,
    pub area_m2: f64,
    /// On CGCS2000, as f64 bits; NaN until a query first holds the whole polygon.
    ellipsoidal_bits: AtomicU64,
    first_ring: u32,
    rings: u32,
    tiling: u32,
    /// Index into the layer's class table, `NONE` without a class.
    class: u32,
    /// The feature id is `ids[id.0..id.1]`.
    id: (u32, u32),
}

impl PolyRec {
    /// The ellipsoidal area, computed by `compute` on first use. Racing threads compute the
    /// same value, so a relaxed store is enough.
    pub fn ellipsoidal_m2(&self, compute: impl FnOnce() -> f64) -> f64 {
        let cached = f64::from_bits(self.ellipsoidal_bits.load(Ordering::Relaxed));
        if !cached.is_nan() {
            return cached;
        }
        let v = compute();
        self.ellipsoidal_bits.store(v.to_bits(), Ordering::Relaxed);
        v
    }
}

/// A layer's polygons on one grid, laid out for cache-friendly queries: fixed-size records
/// indexed by feature, every vertex in one array, every id in one string, classes in a table.
/// A site check touches some seventy features scattered over a hundred megabytes; with one
/// allocation per ring, id and class code it spent most of its time waiting for memory.
#[derive(Debug)]
pub struct PreparedLayer {
    pub grid: Grid,
    /// One record per feature (by feature index; no rings when it has no polygon), then the
    /// tile pieces.
    recs: Vec<PolyRec>,
    /// Ring `k` is `pts[ring_starts[k]..ring_starts[k + 1]]`.
    ring_starts: Vec<usize>,
    pts: Vec<IntPoint<i64>>,
    tilings: Vec<Tiling>,
    ids: String,
    /// (code, name) of every class the layer holds, shared by every answer that names one.
    classes: Vec<(Arc<str>, Arc<str>)>,
    features: usize,
}

impl PreparedLayer {
    /// Prepares `features`, naming classes with `class_name`; `None` when the layer is too
    /// large for the records' 32-bit indices (it is then converted per query).
    ///
    /// Sequential on purpose: this runs inside a `OnceLock` that rayon workers may be waiting
    /// on, and nested rayon work from a non-worker thread would then wait for those workers.
    pub fn new(
        features: &[Feature],
        grid: Grid,
        class_name: impl Fn(&str) -> String,
    ) -> Option<PreparedLayer> {
        let mut layer = PreparedLayer {
            grid,
            recs: Vec::with_capacity(features.len()),
            ring_starts: vec![0],
            pts: Vec::new(),
            tilings: Vec::new(),
            ids: String::new(),
            classes: Vec::new(),
            features: features.len(),
        };
        let mut class_index: HashMap<&str, u32> = HashMap::new();
        let mut large = Vec::new();
        for (j, f) in features.iter().enumerate() {
            let poly = f
                .geom
                .as_polygons()
                .and_then(|mp| IntPoly::from_multipolygon(mp, &grid));
            let rec = layer.push(poly.as_ref())?;
            let id_lo = u32::try_from(layer.ids.len()).ok()?;
            layer.ids.push_str(&f.id);
            layer.recs[rec].id = (id_lo, u32::try_from(layer.ids.len()).ok()?);
            if let Some(code) = f.class.as_deref() {
                let next = u32::try_from(layer.classes.len()).ok()?;
                let k = *class_index.entry(code).or_insert_with(|| {
                    layer.classes.push((code.into(), class_name(code).into()));
                    next
                });
                layer.recs[rec].class = k;
            }
            if let Some(poly) = poly.filter(|p| p.vertex_count() > TILE_ABOVE_VERTICES) {
                large.push((j, poly));
            }
        }
        for (j, poly) in large {
            let tiling = layer.tile(&poly)?;
            layer.recs[j].tiling = u32::try_from(layer.tilings.len()).ok()?;
            layer.tilings.push(tiling);
        }
        Some(layer)
    }

    /// Appends `poly` (or an empty record) and returns its index.
    fn push(&mut self, poly: Option<&IntPoly>) -> Option<usize> {
        let first_ring = u32::try_from(self.ring_starts.len() - 1).ok()?;
        let (bbox, area_m2, rings) = match poly {
            Some(p) => {
                for ring in &p.rings {
                    self.pts.extend_from_slice(ring);
                    self.ring_starts.push(self.pts.len());
                }
                (p.bbox, p.area_m2(&self.grid), p.rings.len())
            }
            None => (
                IRect {
                    min_x: 0,
                    min_y: 0,
                    max_x: 0,
                    max_y: 0,
                },
                0.0,
                0,
            ),
        };
        self.recs.push(PolyRec {
            bbox,
            area_m2,
            ellipsoidal_bits: AtomicU64::new(f64::NAN.to_bits()),
            first_ring,
            rings: u32::try_from(rings).ok()?,
            tiling: NONE,
            class: NONE,
            id: (0, 0),
        });
        Some(self.recs.len() - 1)
    }

    /// Cuts a large polygon into tiles, each stored as a record; exact rectangle clips, so the
    /// pieces' areas add up to the polygon's.
    fn tile(&mut self, p: &IntPoly) -> Option<Tiling> {
        let b = p.bbox;
        let step_x = self.grid.dx(TILE_M).max(1);
        let step_y = self.grid.dy(TILE_M).max(1);
        let nx = usize::try_from((b.max_x - b.min_x) / step_x + 1).unwrap_or(1);
        let ny = usize::try_from((b.max_y - b.min_y) / step_y + 1).unwrap_or(1);
        let mut pieces = vec![NONE; nx * ny];
        for iy in 0..ny {
            let y = b.min_y + step_y * iy as i64;
            let row = IRect {
                min_x: b.min_x,
                max_x: b.max_x,
                min_y: y,
                max_y: y + step_y,
            };
            let (strip, area) = clip_rings(&p.rings, &row);
            if area == 0 {
                continue;
            }
            for ix in 0..nx {
                let x = b.min_x + step_x * ix as i64;
                let tile = IRect {
                    min_x: x,
                    max_x: x + step_x,
                    min_y: y,
                    max_y: y + step_y,
                };
                let (rings, twice_area) = clip_rings(&strip, &tile);
                if twice_area == 0 {
                    continue;
                }
                if let Some(bbox) = IRect::of_rings(&rings) {
                    let rec = self.push(Some(&IntPoly {
                        rings,
                        bbox,
                        twice_area,
                    }))?;
                    pieces[iy * nx + ix] = u32::try_from(rec).ok()?;
                }
            }
        }
        Some(Tiling {
            x0: b.min_x,
            y0: b.min_y,
            step_x,
            step_y,
            nx,
            ny,
            pieces,
        })
    }

    /// The record of feature `j`, `None` when it has no polygon.
    pub fn poly(&self, j: usize) -> Option<&PolyRec> {
        self.recs[..self.features].get(j).filter(|r| r.rings > 0)
    }

    /// Loads the record of each feature in `features` and the start of its vertices, in one
    /// tight loop: the loads are independent, so the memory system serves them in parallel,
    /// where the query itself walks them one dependent miss after another.
    pub fn warm(&self, features: &[usize]) {
        let mut acc = 0i64;
        for &j in features {
            if let Some(r) = self.recs.get(j) {
                acc ^= r.bbox.min_x;
                acc ^= i64::from(
                    self.ids
                        .as_bytes()
                        .get(r.id.0 as usize)
                        .copied()
                        .unwrap_or(0),
                );
                let start = self.ring_starts.get(r.first_ring as usize);
                if let Some(p) = start.and_then(|&s| self.pts.get(s)) {
                    acc ^= p.x;
                }
            }
        }
        std::hint::black_box(acc);
    }

    /// The feature id of a feature's record.
    pub fn id(&self, rec: &PolyRec) -> &str {
        self.ids
            .get(rec.id.0 as usize..rec.id.1 as usize)
            .unwrap_or_default()
    }

    /// The class table index of a record, `None` without a class.
    pub fn class_index(&self, rec: &PolyRec) -> Option<usize> {
        (rec.class != NONE).then_some(rec.class as usize)
    }

    /// The (code, name) of class `k` of the table.
    pub fn class(&self, k: usize) -> Option<&(Arc<str>, Arc<str>)> {
        self.classes.get(k)
    }

    /// The rings of a record, open, shells counter-clockwise and holes clockwise.
    pub fn rings<'a>(&'a self, rec: &PolyRec) -> impl Iterator<Item = &'a [IntPoint<i64>]> {
        let lo = rec.first_ring as usize;
        let hi = lo + rec.rings as usize;
        (lo..hi).map(|k| &self.pts[self.ring_starts[k]..self.ring_starts[k + 1]])
    }

    /// The parts a query over `r` must overlay: the tiles of a large polygon near `r`, or the
    /// whole polygon.
    pub fn parts<'a>(&'a self, rec: &'a PolyRec, r: IRect) -> impl Iterator<Item = &'a PolyRec> {
        let tiles = self
            .tilings
            .get(rec.tiling as usize)
            .map(|t| t.pieces_in(r).map(|i| &self.recs[i]));
        let whole = tiles.is_none().then_some(rec);
        tiles
            .into_iter()
            .flatten()
            .chain(whole)
            .filter(move |p| p.bbox.intersects(&r))
    }

    /// A record as a polygon of its own, for the general overlay.
    pub fn to_int_poly(&self, rec: &PolyRec) -> IntPoly {
        let rings: Vec<Ring> = self.rings(rec).map(<[IntPoint<i64>]>::to_vec).collect();
        let twice_area = rings.iter().map(|r| twice_signed_area(r)).sum();
        IntPoly {
            rings,
            bbox: rec.bbox,
            twice_area,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, coord};

    #[test]
    fn tile_pieces_add_up_to_the_polygon() {
        let grid = crate::overlay::tests::grid();
        // A wavy ring of 2 000 vertices around (600 000, 2 420 000), radius 1–1.6 km, with a hole.
        let shell: Vec<(f64, f64)> = (0..2_000)
            .map(|i| {
                let a = std::f64::consts::TAU * f64::from(i) / 2_000.0;
                let r = 1_300.0 + 300.0 * (7.0 * a).sin();
                (600_000.0 + r * a.cos(), 2_420_000.0 + r * a.sin())
            })
            .collect();
        let hole: Vec<(f64, f64)> = vec![
            (599_900.0, 2_419_900.0),
            (599_900.0, 2_420_100.0),
            (600_100.0, 2_420_100.0),
            (600_100.0, 2_419_900.0),
        ];
        let mp = MultiPolygon(vec![geo::Polygon::new(shell.into(), vec![hole.into()])]);
        let feature = Feature {
            id: "ZONE-1".into(),
            class: Some("030".into()),
            geom: crate::layer::Geom::Polygon(mp),
            attrs: Vec::new(),
        };
        let layer =
            PreparedLayer::new(&[feature], grid, |c| format!("class {c}")).expect("prepared");
        let p = layer.poly(0).expect("a polygon");
        assert_eq!(layer.id(p), "ZONE-1");
        let class = layer.class_index(p).and_then(|k| layer.class(k));
        assert_eq!(class, Some(&("030".into(), "class 030".into())));
        let everything = IRect {
            min_x: i64::MIN / 4,
            min_y: i64::MIN / 4,
            max_x: i64::MAX / 4,
            max_y: i64::MAX / 4,
        };
        let pieces: Vec<&PolyRec> = layer.parts(p, everything).collect();
        assert!(pieces.len() > 10, "not tiled: {} parts", pieces.len());
        let sum: f64 = pieces.iter().map(|t| t.area_m2).sum();
        let rel = (sum - p.area_m2).abs() / p.area_m2;
        assert!(rel < 1e-12, "tiles {sum} vs polygon {}", p.area_m2);
        // The arena gives back the rings it was given: the pieces' rings measure what their
        // records say (the clip rounds crossings to the grid, so not exactly the whole's).
        let twice: i128 = pieces
            .iter()
            .flat_map(|t| layer.rings(t))
            .map(twice_signed_area)
            .sum();
        assert_eq!(layer.grid.area_m2(twice), sum);
        let whole = layer.to_int_poly(p);
        assert_eq!(whole.area_m2(&layer.grid), p.area_m2);
        let vertices: Vec<usize> = whole.rings.iter().map(Vec::len).collect();
        assert_eq!(vertices, [2_000, 4], "shell and hole back from the arena");
        // A query near one point touches a few small pieces only.
        let near = IRect {
            min_x: grid.to_int(coord! {x: 601_200.0, y: 2_420_000.0}).x,
            min_y: grid.to_int(coord! {x: 601_200.0, y: 2_420_000.0}).y,
            max_x: grid.to_int(coord! {x: 601_300.0, y: 2_420_100.0}).x,
            max_y: grid.to_int(coord! {x: 601_300.0, y: 2_420_100.0}).y,
        };
        let parts: Vec<&PolyRec> = layer.parts(p, near).collect();
        assert!(!parts.is_empty() && parts.len() <= 4, "{}", parts.len());
        let vertices = |t: &PolyRec| layer.rings(t).map(<[_]>::len).sum::<usize>();
        assert!(parts.iter().all(|t| vertices(t) < 200));
    }
}
