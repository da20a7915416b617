//! Building polygons from loose line work (CAD outlines drawn as LINE and ARC pieces).

use std::collections::HashMap;

use geo::{Coord, LineString, Polygon};

/// The polygons found, and how many line pieces belong to no closed loop.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygonized {
    pub polygons: Vec<Polygon<f64>>,
    pub dangles: usize,
}

/// Snap key: coordinates rounded to a millimetre-scale grid relative to the drawing's size.
fn key(c: Coord<f64>, tol: f64) -> (i64, i64) {
    ((c.x / tol).round() as i64, (c.y / tol).round() as i64)
}

/// Chains line pieces whose end points meet into closed loops.
pub fn polygonize(lines: &[Vec<Coord<f64>>]) -> Polygonized {
    let extent = lines
        .iter()
        .flatten()
        .fold(0.0f64, |m, c| m.max(c.x.abs()).max(c.y.abs()));
    let tol = (extent * 1e-9).max(1e-6);
    let mut by_end: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        if let (Some(a), Some(b)) = (l.first(), l.last()) {
            by_end.entry(key(*a, tol)).or_default().push(i);
            by_end.entry(key(*b, tol)).or_default().push(i);
        }
    }
    let mut used = vec![false; lines.len()];
    let mut in_loop = vec![false; lines.len()];
    let mut polygons = Vec::new();
    for start in 0..lines.len() {
        if used[start] || lines[start].len() < 2 {
            continue;
        }
        let mut ring: Vec<Coord<f64>> = lines[start].clone();
        let mut members = vec![start];
        used[start] = true;
        let first = key(ring[0], tol);
        let mut closed = false;
        loop {
            let Some(&end) = ring.last() else { break };
            let k = key(end, tol);
            if k == first && ring.len() > 2 {
                closed = true;
                break;
            }
            let next = by_end
                .get(&k)
                .and_then(|c| c.iter().copied().find(|&j| !used[j]));
            let Some(j) = next else { break };
            used[j] = true;
            members.push(j);
            let mut piece = lines[j].clone();
            if piece.first().map(|c| key(*c, tol)) != Some(k) {
                piece.reverse();
            }
            ring.extend(piece.into_iter().skip(1));
        }
        if closed {
            if let Some(f) = ring.first().copied() {
                if let Some(l) = ring.last_mut() {
                    *l = f;
                }
            }
            polygons.push(Polygon::new(LineString(ring), vec![]));
            for m in members {
                in_loop[m] = true;
            }
        } else {
            for m in members {
                used[m] = false;
            }
            used[start] = true;
        }
    }
    Polygonized {
        polygons,
        dangles: in_loop.iter().filter(|x| !**x).count(),
    }
}
