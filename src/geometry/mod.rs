//! Geometry rules shared by every stage: validation and repair, areas, spatial order.

pub mod area;
pub mod validate;

/// An axis-aligned box `[min x, min y, max x, max y]`; inclusive on every side.
pub type Box2 = [f64; 4];

/// The order of `boxes` along a Hilbert curve through their centres (position → index into
/// `boxes`); empty boxes (min > max) and boxes with a non-finite coordinate go last. Neighbours in the result
/// are near each other on the ground, which is what packed R-trees and clustered writes want.
pub fn hilbert_order(boxes: &[Box2]) -> Vec<usize> {
    let valid = |b: &Box2| b[0] <= b[2] && b[1] <= b[3] && b.iter().all(|v| v.is_finite());
    let extent = boxes
        .iter()
        .filter(|b| valid(b))
        .fold(None::<Box2>, |e, b| {
            Some(match e {
                None => *b,
                Some(e) => [
                    e[0].min(b[0]),
                    e[1].min(b[1]),
                    e[2].max(b[2]),
                    e[3].max(b[3]),
                ],
            })
        });
    let Some(e) = extent else {
        return (0..boxes.len()).collect();
    };
    let cells = f64::from(HILBERT_SIDE - 1);
    // Divided before scaled and clamped, so no extent (even near f64::MAX) leaves the grid.
    let scale = |v: f64, lo: f64, hi: f64| {
        let t = (v - lo) / (hi - lo);
        if t.is_finite() {
            (t * cells).floor().clamp(0.0, cells) as u32
        } else {
            0
        }
    };
    // Keys computed once each (a comparison sort that derives them per comparison spent ~1 ms
    // on a thousand boxes).
    let mut keyed: Vec<(u64, usize)> = boxes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let key = if valid(b) {
                hilbert_key(
                    scale(b[0] / 2.0 + b[2] / 2.0, e[0], e[2]),
                    scale(b[1] / 2.0 + b[3] / 2.0, e[1], e[3]),
                )
            } else {
                u64::MAX
            };
            (key, i)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Cells per side of the grid the Hilbert curve runs through.
const HILBERT_SIDE: u32 = 1 << 16;

/// The distance of cell (x, y) along the Hilbert curve that fills the grid (the classic
/// bit-by-bit conversion, one quadrant per step).
fn hilbert_key(mut x: u32, mut y: u32) -> u64 {
    let mut d = 0u64;
    let mut s = HILBERT_SIDE / 2;
    while s > 0 {
        let rx = u32::from(x & s != 0);
        let ry = u32::from(y & s != 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = HILBERT_SIDE - 1 - x;
                y = HILBERT_SIDE - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hilbert_order_walks_a_grid_cell_by_neighbouring_cell() {
        // A 16 × 16 grid of unit squares, listed row by row: the curve visits every square
        // once, each step to an edge neighbour.
        let boxes: Vec<Box2> = (0..256)
            .map(|k| {
                let (x, y) = (f64::from(k % 16), f64::from(k / 16));
                [x, y, x + 1.0, y + 1.0]
            })
            .collect();
        let order = hilbert_order(&boxes);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..256).collect::<Vec<_>>());
        for w in order.windows(2) {
            let (a, b) = (boxes[w[0]], boxes[w[1]]);
            let step = (a[0] - b[0]).abs() + (a[1] - b[1]).abs();
            assert_eq!(step, 1.0, "{:?} → {:?}", a, b);
        }
    }

    #[test]
    fn extents_near_the_limits_of_f64_stay_on_the_grid() {
        let boxes = [
            [0.0, 0.0, 1.0, 1.0],
            [-1e305, -1e305, 1e305, 1e305],
            [f64::MAX / 2.0, 0.0, f64::MAX, 1.0],
            [2.0, 2.0, 2.0, 2.0],
        ];
        let mut order = hilbert_order(&boxes);
        order.sort_unstable();
        assert_eq!(order, vec![0, 1, 2, 3]);
    }

    #[test]
    fn boxes_without_area_go_last() {
        let empty = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        let boxes = [empty, [0.0, 0.0, 1.0, 1.0], [5.0, 5.0, 6.0, 6.0], empty];
        let order = hilbert_order(&boxes);
        assert_eq!(&order[2..], &[0, 3]);
        assert_eq!(hilbert_order(&[empty, empty]), vec![0, 1]);
    }
}
