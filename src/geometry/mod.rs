//! Geometry rules shared by every stage: validation and repair, areas, spatial order.

pub mod area;
pub mod validate;

use flatgeobuf::packed_r_tree::{NodeItem, calc_extent, hilbert_sort};

/// An axis-aligned box `[min x, min y, max x, max y]`; inclusive on every side.
pub type Box2 = [f64; 4];

/// The Hilbert order of `boxes`: position → index into `boxes`.
pub fn hilbert_order(boxes: &[Box2]) -> Vec<usize> {
    let mut items: Vec<NodeItem> = boxes
        .iter()
        .enumerate()
        .map(|(i, b)| NodeItem {
            min_x: b[0],
            min_y: b[1],
            max_x: b[2],
            max_y: b[3],
            offset: i as u64,
        })
        .collect();
    let finite: Vec<NodeItem> = items
        .iter()
        .filter(|n| n.min_x <= n.max_x)
        .cloned()
        .collect();
    hilbert_sort(&mut items, &calc_extent(&finite));
    items.iter().map(|n| n.offset as usize).collect()
}
