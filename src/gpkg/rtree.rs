//! Bulk loading of an SQLite R*Tree virtual table.
//!
//! Inserting through the virtual table costs SQLite an R*-tree insertion per row (choose a leaf,
//! split, reinsert): ~15 µs per entry, 6 s for the 400 000 pieces of a full two-plan overlay.
//! Here the tree is packed the way FlatGeobuf packs its index — entries in Hilbert order, nodes
//! filled to capacity level by level — and written straight into the table's three shadow tables,
//! in the format `ext/rtree/rtree.c` documents ("Database Format of R-Tree Tables"); GDAL 3.7+
//! builds GeoPackage indexes the same way. SQLite's own `rtreecheck()` accepts the result, and
//! later inserts and deletes go through the normal R*-tree code.

use rusqlite::{Connection, params, params_from_iter, types::Value};

/// One cell: an 8-byte id (row id in a leaf, child node number above) and four 4-byte floats.
const CELL_BYTES: usize = 8 + 4 * 4;

/// A node's cells: (id, [min x, max x, min y, max y] in the tree's column order).
type Cell = (i64, [f32; 4]);

/// `d` as an `f32` no greater than `d`: the tree's boxes must contain the true ones.
fn round_down(d: f64) -> f32 {
    let f = d as f32;
    if f as f64 > d { f.next_down() } else { f }
}

/// `d` as an `f32` no less than `d`.
fn round_up(d: f64) -> f32 {
    let f = d as f32;
    if (f as f64) < d { f.next_up() } else { f }
}

fn union(cells: &[Cell]) -> [f32; 4] {
    cells.iter().fold(
        [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ],
        |a, (_, b)| {
            [
                a[0].min(b[0]),
                a[1].max(b[1]),
                a[2].min(b[2]),
                a[3].max(b[3]),
            ]
        },
    )
}

fn node_blob(cells: &[Cell], depth: Option<u16>, size: usize) -> Vec<u8> {
    let mut blob = Vec::with_capacity(size);
    blob.extend_from_slice(&depth.unwrap_or(0).to_be_bytes());
    blob.extend_from_slice(&(cells.len() as u16).to_be_bytes());
    for (id, b) in cells {
        blob.extend_from_slice(&id.to_be_bytes());
        for v in b {
            blob.extend_from_slice(&v.to_bits().to_be_bytes());
        }
    }
    blob.resize(size, 0);
    blob
}

/// Fills the empty R*Tree `table` (columns id, minx, maxx, miny, maxy) with `entries` (row id,
/// `[min x, min y, max x, max y]`), inside the caller's transaction.
pub(super) fn bulk_load(
    conn: &Connection,
    table: &str,
    entries: &[(i64, [f64; 4])],
) -> rusqlite::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let shadow = |suffix: &str| format!("\"{}_{suffix}\"", table.replace('"', "\"\""));
    // Every node must have the size SQLite gave the root when it created the table.
    let size: usize = conn.query_row(
        &format!(
            "SELECT length(data) FROM {} WHERE nodeno = 1",
            shadow("node")
        ),
        [],
        |r| r.get(0),
    )?;
    let capacity = (size.saturating_sub(4) / CELL_BYTES).max(2);

    let boxes: Vec<[f64; 4]> = entries.iter().map(|(_, b)| *b).collect();
    let leaves: Vec<Cell> = crate::geometry::hilbert_order(&boxes)
        .into_iter()
        .map(|k| {
            let (id, b) = entries[k];
            (
                id,
                [
                    round_down(b[0]),
                    round_up(b[2]),
                    round_down(b[1]),
                    round_up(b[3]),
                ],
            )
        })
        .collect();

    // levels[0] holds the leaf cells; each level above holds one cell per node of the level
    // below, its id a placeholder until nodes are numbered.
    let mut levels: Vec<Vec<Cell>> = vec![leaves];
    while let Some(below) = levels.last().filter(|l| l.len() > capacity) {
        let above = below
            .chunks(capacity)
            .map(|node| (0, union(node)))
            .collect();
        levels.push(above);
    }
    // Node numbers: the root is 1, the others follow top down, level by level.
    let depth = levels.len() - 1;
    let mut first_number = vec![0i64; levels.len()];
    let mut next = 2i64;
    for k in (0..depth).rev() {
        first_number[k] = next;
        next += levels[k].len().div_ceil(capacity) as i64;
    }
    first_number[depth] = 1;
    for k in 1..levels.len() {
        for (i, cell) in levels[k].iter_mut().enumerate() {
            cell.0 = first_number[k - 1] + i as i64;
        }
    }

    conn.execute(&format!("DELETE FROM {}", shadow("node")), [])?;
    let mut write_node = conn.prepare(&format!("INSERT INTO {} VALUES (?, ?)", shadow("node")))?;
    let mut write_parent =
        conn.prepare(&format!("INSERT INTO {} VALUES (?, ?)", shadow("parent")))?;
    // The root holds the top level's cells.
    write_node.execute(params![
        1i64,
        node_blob(&levels[depth], Some(depth as u16), size)
    ])?;
    for k in 0..depth {
        for (i, node) in levels[k].chunks(capacity).enumerate() {
            let number = first_number[k] + i as i64;
            write_node.execute(params![number, node_blob(node, None, size)])?;
            let parent = if k + 1 == depth {
                1
            } else {
                first_number[k + 1] + (i / capacity) as i64
            };
            write_parent.execute(params![number, parent])?;
        }
    }

    // Row id → leaf node, as many rows per statement as SQLite's 999 variables allow.
    let leaf_of = |i: usize| {
        if depth == 0 {
            1
        } else {
            first_number[0] + (i / capacity) as i64
        }
    };
    let mut rows: Vec<(i64, i64)> = levels[0]
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, leaf_of(i)))
        .collect();
    // In row id order SQLite appends to the table's B-tree instead of inserting all over it.
    rows.sort_unstable();
    for chunk in rows.chunks(super::MAX_VARIABLES / 2) {
        let sql = format!(
            "INSERT INTO {} VALUES {}",
            shadow("rowid"),
            super::placeholders(2, chunk.len())
        );
        let values = chunk
            .iter()
            .flat_map(|&(id, node)| [Value::Integer(id), Value::Integer(node)]);
        conn.prepare_cached(&sql)?
            .execute(params_from_iter(values))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(conn: &Connection, entries: &[(i64, [f64; 4])]) {
        conn.execute_batch("CREATE VIRTUAL TABLE t USING rtree(id, minx, maxx, miny, maxy)")
            .expect("rtree");
        bulk_load(conn, "t", entries).expect("bulk load");
    }

    fn grid(n: i64) -> Vec<(i64, [f64; 4])> {
        // Coordinates of a Gauss–Krüger zone with false easting: f32 cannot hold them exactly.
        (0..n)
            .map(|i| {
                let (x, y) = (
                    36_500_000.123 + (i % 97) as f64 * 13.7,
                    2_400_000.456 + (i / 97) as f64 * 11.3,
                );
                (i * 3 + 1, [x, y, x + 7.01, y + 5.03])
            })
            .collect()
    }

    #[test]
    fn sqlite_accepts_the_packed_tree_at_every_depth() {
        for n in [1, 51, 52, 2_601, 2_602, 20_000] {
            let conn = Connection::open_in_memory().expect("db");
            let entries = grid(n);
            tree(&conn, &entries);
            let check: String = conn
                .query_row("SELECT rtreecheck('t')", [], |r| r.get(0))
                .expect("rtreecheck");
            assert_eq!(check, "ok", "{n} entries");
            let count: i64 = conn
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .expect("count");
            assert_eq!(count, n);
            // Every stored box contains the exact one.
            let mut stmt = conn
                .prepare("SELECT id, minx, maxx, miny, maxy FROM t WHERE id = ?")
                .expect("select");
            for (id, b) in entries.iter().step_by(37) {
                let (minx, maxx, miny, maxy): (f64, f64, f64, f64) = stmt
                    .query_row([id], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                    .expect("row");
                assert!(minx <= b[0] && maxx >= b[2] && miny <= b[1] && maxy >= b[3]);
                assert!(
                    b[0] - minx < 4.0 && maxx - b[2] < 4.0,
                    "f32 spacing at 3.6e7 is 4"
                );
            }
        }
    }

    #[test]
    fn window_queries_match_brute_force_and_later_edits_keep_the_tree_valid() {
        let conn = Connection::open_in_memory().expect("db");
        let entries = grid(5_000);
        tree(&conn, &entries);
        for (qx, qy, w) in [
            (36_500_300.0, 2_400_200.0, 90.0),
            (36_501_000.0, 2_400_500.0, 400.0),
        ] {
            let mut got: Vec<i64> = conn
                .prepare("SELECT id FROM t WHERE maxx >= ?1 AND minx <= ?2 AND maxy >= ?3 AND miny <= ?4")
                .expect("query")
                .query_map(params![qx, qx + w, qy, qy + w], |r| r.get(0))
                .expect("rows")
                .collect::<Result<_, _>>()
                .expect("ids");
            got.sort();
            // The tree's boxes are the exact ones rounded outward to f32: compare with the same.
            let want: Vec<i64> = entries
                .iter()
                .filter(|(_, b)| {
                    round_up(b[2]) as f64 >= qx
                        && round_down(b[0]) as f64 <= qx + w
                        && round_up(b[3]) as f64 >= qy
                        && round_down(b[1]) as f64 <= qy + w
                })
                .map(|(id, _)| *id)
                .collect();
            assert!(!want.is_empty());
            assert_eq!(got, want);
        }
        conn.execute_batch(
            "INSERT INTO t VALUES (999999, 36500000, 36500010, 2400000, 2400010);
             DELETE FROM t WHERE id % 2 = 0;",
        )
        .expect("edit");
        let check: String = conn
            .query_row("SELECT rtreecheck('t')", [], |r| r.get(0))
            .expect("rtreecheck");
        assert_eq!(check, "ok");
    }
}
