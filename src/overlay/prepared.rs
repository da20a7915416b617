//! A layer's polygons prepared once for repeated queries (the site check): converted to the
//! grid, with their areas, and the large ones (an 城镇开发边界 or a 管制区 zone of thousands of
//! vertices) cut into tiles so a query touches only the few hundred vertices near it instead of
//! clipping the whole outline every time. Tile pieces come from the exact rectangle clip, so their
//! areas add up to the polygon's.

use std::sync::OnceLock;

use geo::MultiPolygon;

use super::clip::{IRect, clip_rings};
use super::{Grid, IntPoly};

/// Polygons with more vertices than this are tiled.
pub const TILE_ABOVE_VERTICES: usize = 256;
/// Side of a tile in metres.
pub const TILE_M: f64 = 250.0;

/// A large polygon cut along a regular grid of tiles.
#[derive(Debug, Clone)]
pub struct Tiling {
    x0: i64,
    y0: i64,
    step_x: i64,
    step_y: i64,
    nx: usize,
    ny: usize,
    /// Row-major, `None` where the polygon does not reach.
    pieces: Vec<Option<IntPoly>>,
}

impl Tiling {
    fn build(p: &IntPoly, grid: &Grid) -> Tiling {
        let b = p.bbox;
        let step_x = grid.dx(TILE_M).max(1);
        let step_y = grid.dy(TILE_M).max(1);
        let nx = usize::try_from((b.max_x - b.min_x) / step_x + 1).unwrap_or(1);
        let ny = usize::try_from((b.max_y - b.min_y) / step_y + 1).unwrap_or(1);
        let mut pieces = vec![None; nx * ny];
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
                    pieces[iy * nx + ix] = Some(IntPoly {
                        rings,
                        bbox,
                        twice_area,
                    });
                }
            }
        }
        Tiling {
            x0: b.min_x,
            y0: b.min_y,
            step_x,
            step_y,
            nx,
            ny,
            pieces,
        }
    }

    /// The pieces of the tiles meeting `r`.
    pub fn pieces_in(&self, r: IRect) -> impl Iterator<Item = &IntPoly> {
        let span = |lo: i64, hi: i64, o: i64, step: i64, n: usize| {
            let a = ((lo - o).div_euclid(step)).clamp(0, n as i64 - 1) as usize;
            let b = ((hi - o).div_euclid(step)).clamp(0, n as i64 - 1) as usize;
            a..=b
        };
        let xs = span(r.min_x, r.max_x, self.x0, self.step_x, self.nx);
        let ys = span(r.min_y, r.max_y, self.y0, self.step_y, self.ny);
        ys.flat_map(move |iy| xs.clone().map(move |ix| iy * self.nx + ix))
            .filter_map(|i| self.pieces[i].as_ref())
            .filter(move |p| p.bbox.intersects(&r))
    }
}

/// One polygon feature, prepared.
#[derive(Debug, Clone)]
pub struct PreparedPoly {
    pub poly: IntPoly,
    pub area_m2: f64,
    /// On CGCS2000, computed when a query first holds the whole polygon.
    pub ellipsoidal_m2: OnceLock<f64>,
    pub tiles: Option<Tiling>,
}

impl PreparedPoly {
    /// The parts a query over `r` must overlay: the tiles near it, or the whole polygon.
    pub fn parts(&self, r: IRect) -> impl Iterator<Item = &IntPoly> {
        let (tiles, whole) = match &self.tiles {
            Some(t) => (Some(t.pieces_in(r)), None),
            None => (None, Some(&self.poly)),
        };
        tiles.into_iter().flatten().chain(whole)
    }
}

/// A layer's polygons on one grid.
#[derive(Debug, Clone)]
pub struct PreparedLayer {
    pub grid: Grid,
    /// By feature index; `None` for features without polygons.
    pub polys: Vec<Option<PreparedPoly>>,
}

impl PreparedLayer {
    /// Sequential on purpose: this runs inside a `OnceLock` that rayon workers may be waiting
    /// on, and nested rayon work from a non-worker thread would then wait for those workers.
    pub fn new(polygons: &[Option<&MultiPolygon<f64>>], grid: Grid) -> PreparedLayer {
        let polys = polygons
            .iter()
            .map(|mp| {
                let poly = IntPoly::from_multipolygon((*mp)?, &grid)?;
                let tiles = (poly.vertex_count() > TILE_ABOVE_VERTICES)
                    .then(|| Tiling::build(&poly, &grid));
                Some(PreparedPoly {
                    ellipsoidal_m2: OnceLock::new(),
                    area_m2: poly.area_m2(&grid),
                    poly,
                    tiles,
                })
            })
            .collect();
        PreparedLayer { grid, polys }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::coord;

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
        let layer = PreparedLayer::new(&[Some(&mp)], grid);
        let p = layer.polys[0].as_ref().expect("prepared");
        let tiles = p.tiles.as_ref().expect("tiled");
        let everything = IRect {
            min_x: i64::MIN / 4,
            min_y: i64::MIN / 4,
            max_x: i64::MAX / 4,
            max_y: i64::MAX / 4,
        };
        let sum: i128 = tiles.pieces_in(everything).map(|t| t.twice_area).sum();
        let rel = (sum - p.poly.twice_area).abs() as f64 / p.poly.twice_area as f64;
        assert!(rel < 1e-12, "tiles {sum} vs polygon {}", p.poly.twice_area);
        // A query near one point touches a few small pieces only.
        let near = IRect {
            min_x: grid.to_int(coord! {x: 601_200.0, y: 2_420_000.0}).x,
            min_y: grid.to_int(coord! {x: 601_200.0, y: 2_420_000.0}).y,
            max_x: grid.to_int(coord! {x: 601_300.0, y: 2_420_100.0}).x,
            max_y: grid.to_int(coord! {x: 601_300.0, y: 2_420_100.0}).y,
        };
        let parts: Vec<&IntPoly> = p.parts(near).collect();
        assert!(!parts.is_empty() && parts.len() <= 4, "{}", parts.len());
        assert!(parts.iter().all(|t| t.vertex_count() < 200));
    }
}
