//! The flat index of a layer version: what a batch job needs to find its pairs without decoding
//! the layer.
//!
//! Decoding a 100 000-parcel FlatGeobuf into geometry and attributes costs ~0.2 s and ~180 MB
//! of freshly faulted memory, while a reconciliation rule usually meets a few thousand of those
//! features. This file, written next to `<hash>.fgb` as `<hash>.flat`, holds per feature the
//! bounding box, class code index and rank in id order, plus a packed R-tree over the boxes; the
//! geometry and id of one feature sit in one record ([`FlatLayer::feature`]). The file is
//! memory-mapped: opening it checks the structure (touching ~16 bytes per feature, from the page
//! cache — nothing is copied or allocated per feature), and the rest is read on demand.
//!
//! It is derived data: written at import, and rebuilt from the FlatGeobuf whenever it is
//! missing, from an older format, made from another object, or structurally damaged (sizes,
//! offsets, indices and ranks are checked on open; coordinates are not checksummed, so a flipped
//! bit inside a record is not detected — deleting the file rebuilds it; see `Store::flat_layer`).
//!
//! Features are stored in the Hilbert order of their boxes, so the R-tree's leaves are the boxes
//! themselves and a feature's index here is its leaf position (not its import position; ids and
//! id ranks identify features). Layout, little-endian, sections in this order after the header:
//!
//! ```text
//! header      magic "LANTUFLT", format u32, kind u8, 3 × pad, n u64, object hash (64 ASCII),
//!             then the u64 byte offset of each section below
//! tree        leaf count u64, level count u32, per level its node count u64, then every
//!             node's box [min x, min y, max x, max y] (4 × f64) level by level from the leaves
//!             (the features' boxes; empty features: +∞, +∞, −∞, −∞)
//! classes     n × u32 index into the class table (u32::MAX: no class)
//! ranks       n × u32, the feature's position in (id, import index) order
//! records     (n + 1) × u64 offsets into the record data
//! class table count u32, then per code its byte length u32 and UTF-8 bytes
//! record data per feature: id (u32 length + UTF-8), part count u32, per part its ring count
//!             u32, per ring its point count u32, then every point as x, y f64
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};

use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use memmap2::Mmap;
use thiserror::Error;

use crate::layer::{GeomKind, LayerData};

const MAGIC: &[u8; 8] = b"LANTUFLT";
/// Bump when the layout changes: older files are then rebuilt, not misread.
const FORMAT: u32 = 2;
const HASH_LEN: usize = 64;
const SECTIONS: usize = 6;
const HEADER_LEN: usize = 8 + 4 + 4 + 8 + HASH_LEN + 8 * SECTIONS;
/// Children per tree node, as in the layers' in-memory R-trees.
const NODE_SIZE: usize = 16;
const NO_CLASS: u32 = u32::MAX;
/// A record larger than this is refused rather than allocated (a corrupt length field).
const MAX_RECORD: u64 = 1 << 31;

#[derive(Debug, Error)]
pub enum FlatError {
    #[error("flat index {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("flat index {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("flat index {path}, record {index}: {reason} (delete the file to have it rebuilt)")]
    Record {
        path: PathBuf,
        index: usize,
        reason: String,
    },
    #[error("layer has {0} features: the flat index holds at most 4 294 967 294")]
    TooLarge(usize),
}

/// A feature's id and polygons, read from its record.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatFeature {
    pub id: String,
    /// Empty for line and point features: only polygons take part in overlays.
    pub polygons: MultiPolygon<f64>,
}

pub use crate::geometry::Box2;

const EMPTY_BOX: Box2 = [
    f64::INFINITY,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NEG_INFINITY,
];

fn overlaps(a: &Box2, b: &Box2) -> bool {
    a[0] <= b[2] && a[1] <= b[3] && a[2] >= b[0] && a[3] >= b[1]
}

fn union(a: &Box2, b: &Box2) -> Box2 {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
    ]
}

/// A static R-tree packed level by level; its leaves are the features' boxes, in Hilbert order.
#[derive(Debug, Default)]
struct PackedTree {
    /// Every level's boxes, leaves first.
    levels: Vec<Vec<Box2>>,
}

impl PackedTree {
    /// The tree over `leaves`, already in Hilbert order.
    fn build(leaves: Vec<Box2>) -> PackedTree {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().map(Vec::as_slice).unwrap_or_default();
            let up = below
                .chunks(NODE_SIZE)
                .map(|c| c.iter().fold(EMPTY_BOX, |a, b| union(&a, b)))
                .collect();
            levels.push(up);
        }
        PackedTree { levels }
    }

    fn leaves(&self) -> &[Box2] {
        self.levels.first().map(Vec::as_slice).unwrap_or_default()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.leaves().len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.levels.len() as u32).to_le_bytes());
        for l in &self.levels {
            out.extend_from_slice(&(l.len() as u64).to_le_bytes());
        }
        for b in self.levels.iter().flatten() {
            for v in b {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// The packed R-tree as stored: where each level's boxes start in the file, and how many.
#[derive(Debug, Default)]
struct TreeView {
    /// (byte offset of the first box, box count) per level, leaves first.
    levels: Vec<(usize, usize)>,
}

impl TreeView {
    /// Checks the tree section starting at `at` against the feature count `n`.
    fn parse(bytes: &[u8], at: usize, end: usize, n: usize) -> Result<TreeView, String> {
        let section = bytes.get(at..end).ok_or("tree section outside the file")?;
        let mut r = Cursor::new(section);
        let leaves_n = r.u64()? as usize;
        if leaves_n != n {
            return Err(format!("tree has {leaves_n} leaves for {n} features"));
        }
        let level_count = r.u32()? as usize;
        if level_count > 64 {
            return Err(format!("tree has {level_count} levels"));
        }
        let mut sizes = Vec::with_capacity(level_count);
        let mut expected = n;
        for k in 0..level_count {
            let s = r.u64()? as usize;
            if s != expected || (k + 1 < level_count && s <= 1) {
                return Err(format!("tree level {k} has {s} nodes, expected {expected}"));
            }
            sizes.push(s);
            expected = expected.div_ceil(NODE_SIZE);
        }
        if n > 0 && sizes.last() != Some(&1) {
            return Err("tree has no single root".into());
        }
        let mut levels = Vec::with_capacity(level_count);
        for s in sizes {
            levels.push((at + r.at, s));
            r.take(32 * s)?;
        }
        if r.at != section.len() {
            return Err("tree section has bytes left over".into());
        }
        Ok(TreeView { levels })
    }
}

/// Little-endian reads over a byte slice that fail instead of panicking on short input.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, at: 0 }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| format!("truncated at byte {} (wanted {len} more)", self.at))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn u32s(&mut self, n: usize) -> Result<Vec<u32>, String> {
        let raw = self.take(n.checked_mul(4).ok_or("length overflows")?)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    fn text(&mut self) -> Result<String, String> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| "text is not UTF-8".to_string())
    }
}

fn kind_code(k: GeomKind) -> u8 {
    match k {
        GeomKind::Polygon => 0,
        GeomKind::Line => 1,
        GeomKind::Point => 2,
    }
}

fn kind_of(code: u8) -> Option<GeomKind> {
    match code {
        0 => Some(GeomKind::Polygon),
        1 => Some(GeomKind::Line),
        2 => Some(GeomKind::Point),
        _ => None,
    }
}

fn put_u32(out: &mut Vec<u8>, v: usize) {
    // Counts of parts, rings, points and bytes of one feature's id or one class code: the
    // importer's vertex and size limits keep them far below u32::MAX.
    out.extend_from_slice(&(v as u32).to_le_bytes());
}

fn encode_record(out: &mut Vec<u8>, id: &str, polygons: Option<&MultiPolygon<f64>>) {
    put_u32(out, id.len());
    out.extend_from_slice(id.as_bytes());
    let Some(mp) = polygons else {
        put_u32(out, 0);
        return;
    };
    put_u32(out, mp.0.len());
    for p in &mp.0 {
        put_u32(out, 1 + p.interiors().len());
    }
    for p in &mp.0 {
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            put_u32(out, r.0.len());
        }
    }
    for p in &mp.0 {
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            for c in &r.0 {
                out.extend_from_slice(&c.x.to_le_bytes());
                out.extend_from_slice(&c.y.to_le_bytes());
            }
        }
    }
}

fn decode_record(bytes: &[u8]) -> Result<FlatFeature, String> {
    let mut r = Cursor::new(bytes);
    let id = r.text()?;
    let parts = r.u32()? as usize;
    let ring_counts = r.u32s(parts)?;
    let total_rings: usize = ring_counts.iter().map(|&c| c as usize).sum();
    let point_counts = r.u32s(total_rings)?;
    let mut counts = point_counts.iter();
    let mut polygons = Vec::with_capacity(parts);
    for &rings in &ring_counts {
        let mut ring_list: Vec<LineString<f64>> = Vec::with_capacity(rings as usize);
        for _ in 0..rings {
            let n = counts.next().copied().unwrap_or(0) as usize;
            let raw = r.take(n.checked_mul(16).ok_or("length overflows")?)?;
            let pts: Vec<Coord<f64>> = raw
                .chunks_exact(16)
                .map(|c| {
                    let mut x = [0u8; 8];
                    let mut y = [0u8; 8];
                    x.copy_from_slice(&c[..8]);
                    y.copy_from_slice(&c[8..]);
                    Coord {
                        x: f64::from_le_bytes(x),
                        y: f64::from_le_bytes(y),
                    }
                })
                .collect();
            ring_list.push(LineString(pts));
        }
        let mut it = ring_list.into_iter();
        let shell = it.next().ok_or("a part has no ring")?;
        polygons.push(Polygon::new(shell, it.collect()));
    }
    if r.at != bytes.len() {
        return Err(format!("{} bytes left over", bytes.len() - r.at));
    }
    Ok(FlatFeature {
        id,
        polygons: MultiPolygon(polygons),
    })
}

/// The bytes of the flat index of `layer`, the FlatGeobuf object `hash`.
pub fn encode(layer: &LayerData, hash: &str) -> Result<Vec<u8>, FlatError> {
    let n = layer.features.len();
    if n >= NO_CLASS as usize {
        return Err(FlatError::TooLarge(n));
    }
    let boxes: Vec<Box2> = layer
        .features
        .iter()
        .map(|f| {
            f.geom
                .as_polygons()
                .and_then(|p| p.bounding_rect())
                .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
                .unwrap_or(EMPTY_BOX)
        })
        .collect();
    // position → import index
    let order = crate::geometry::hilbert_order(&boxes);
    let mut by_id: Vec<usize> = (0..n).collect();
    by_id.sort_by(|&a, &b| layer.features[a].id.cmp(&layer.features[b].id));
    let mut rank_of = vec![0u32; n];
    for (rank, &i) in by_id.iter().enumerate() {
        rank_of[i] = rank as u32;
    }
    let mut table: Vec<&str> = Vec::new();
    let mut lookup: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    let mut classes = Vec::with_capacity(n);
    let mut records = Vec::new();
    let mut offsets = Vec::with_capacity(n + 1);
    for &i in &order {
        let f = &layer.features[i];
        classes.push(match f.class.as_deref() {
            None => NO_CLASS,
            Some(c) => *lookup.entry(c).or_insert_with(|| {
                table.push(c);
                (table.len() - 1) as u32
            }),
        });
        offsets.push(records.len() as u64);
        encode_record(&mut records, &f.id, f.geom.as_polygons());
    }
    offsets.push(records.len() as u64);
    let tree = PackedTree::build(order.iter().map(|&i| boxes[i]).collect());

    let mut body = Vec::new();
    let mut starts = [0u64; SECTIONS];
    starts[0] = HEADER_LEN as u64;
    tree.encode(&mut body);
    starts[1] = (HEADER_LEN + body.len()) as u64;
    for c in &classes {
        body.extend_from_slice(&c.to_le_bytes());
    }
    starts[2] = (HEADER_LEN + body.len()) as u64;
    for &i in &order {
        body.extend_from_slice(&rank_of[i].to_le_bytes());
    }
    starts[3] = (HEADER_LEN + body.len()) as u64;
    for o in &offsets {
        body.extend_from_slice(&o.to_le_bytes());
    }
    starts[4] = (HEADER_LEN + body.len()) as u64;
    put_u32(&mut body, table.len());
    for c in &table {
        put_u32(&mut body, c.len());
        body.extend_from_slice(c.as_bytes());
    }
    starts[5] = (HEADER_LEN + body.len()) as u64;
    body.extend_from_slice(&records);

    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&[kind_code(layer.kind), 0, 0, 0]);
    out.extend_from_slice(&(n as u64).to_le_bytes());
    let mut h = [b' '; HASH_LEN];
    let hb = hash.as_bytes();
    h[..hb.len().min(HASH_LEN)].copy_from_slice(&hb[..hb.len().min(HASH_LEN)]);
    out.extend_from_slice(&h);
    for s in starts {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.extend_from_slice(&body);
    Ok(out)
}

// Boxes are read from the mapped file as native f64s; the file is little-endian, like the
// machines lantu runs on.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "the flat index is little-endian"
);

/// Maps the flat index read-only.
#[allow(unsafe_code)]
fn map(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: a mapping is only sound while nobody changes the file under it. The store never
    // changes a flat index in place: it writes a new one to a temporary file and renames it over
    // the old (`Store::write_atomically`), and a mapping keeps the inode it was made from, so
    // rebuilds and deletes are safe. Only a program that rewrites or truncates the file in
    // place while it is mapped (`rsync --inplace`, a test writing over it) would fault the
    // process (SIGBUS); the store directory is lantu's own, and tests replace files only while
    // no run has them open.
    unsafe { Mmap::map(file) }
}

/// An opened flat index, mapped: opening checks its structure and faults in no more than the
/// pages it checks; boxes, classes, ranks and records are read from the page cache on demand.
#[derive(Debug)]
pub struct FlatLayer {
    path: PathBuf,
    kind: GeomKind,
    n: usize,
    bytes: Mmap,
    tree: TreeView,
    /// Byte offsets of the class, rank, record offset and record sections.
    classes_at: usize,
    ranks_at: usize,
    offsets_at: usize,
    records_at: usize,
    class_table: Vec<String>,
}

impl FlatLayer {
    /// Opens the flat index at `path` if it is complete, of this format and made from the object
    /// `hash`; `Ok(None)` when it must be (re)built.
    pub fn open(path: &Path, hash: &str) -> Result<Option<FlatLayer>, FlatError> {
        let io = |source| FlatError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let len = file.metadata().map_err(io)?.len();
        if len < HEADER_LEN as u64 {
            return Ok(None);
        }
        FlatLayer::read(path, map(&file).map_err(io)?, hash)
    }

    fn read(path: &Path, bytes: Mmap, hash: &str) -> Result<Option<FlatLayer>, FlatError> {
        let invalid = |reason: String| FlatError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let file_len = bytes.len() as u64;
        let Some(h) = bytes
            .get(..HEADER_LEN)
            .and_then(|head| Header::parse(head, hash, file_len))
        else {
            return Ok(None);
        };
        let n = h.n;
        let sized = |k: usize, width: u64| h.starts[k + 1] - h.starts[k] == width;
        if !(sized(1, 4 * n as u64) && sized(2, 4 * n as u64) && sized(3, 8 * (n as u64 + 1))) {
            return Err(invalid(
                "section sizes do not match the feature count".into(),
            ));
        }
        // Header::parse checked the starts are ordered and inside the file.
        let [
            tree_at,
            classes_at,
            ranks_at,
            offsets_at,
            table_at,
            records_at,
        ] = h.starts.map(|s| s as usize);
        let tree = TreeView::parse(&bytes, tree_at, classes_at, n).map_err(invalid)?;
        let mut r = Cursor::new(&bytes[table_at..records_at]);
        let table_count = r.u32().map_err(invalid)? as usize;
        let class_table = (0..table_count)
            .map(|_| r.text())
            .collect::<Result<Vec<String>, String>>()
            .map_err(invalid)?;
        let flat = FlatLayer {
            path: path.to_path_buf(),
            kind: h.kind,
            n,
            bytes,
            tree,
            classes_at,
            ranks_at,
            offsets_at,
            records_at,
            class_table,
        };
        if let Some(c) = (0..n)
            .map(|i| flat.u32_at(classes_at, i))
            .find(|&c| c != NO_CLASS && c as usize >= flat.class_table.len())
        {
            return Err(invalid(format!("class index {c} outside the class table")));
        }
        // The ranks must be a permutation: a repeated one would process a subject twice.
        let mut seen = vec![false; n];
        for k in (0..n).map(|i| flat.rank(i)) {
            match seen.get_mut(k as usize) {
                Some(slot) if !*slot => *slot = true,
                _ => return Err(invalid(format!("rank {k} repeated or out of range"))),
            }
        }
        let record_len = file_len - h.starts[5];
        if flat.offset(0) != 0
            || (0..n).any(|i| {
                let (a, b) = (flat.offset(i), flat.offset(i + 1));
                a > b || b - a > MAX_RECORD
            })
            || flat.offset(n) != record_len
        {
            return Err(invalid(
                "record offsets are not increasing to the end".into(),
            ));
        }
        Ok(Some(flat))
    }

    /// The `i`th u32 of the section at `at` (in bounds: section sizes are checked on open).
    fn u32_at(&self, at: usize, i: usize) -> u32 {
        debug_assert!(i < self.n, "feature {i} of {}", self.n);
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[at + 4 * i..at + 4 * i + 4]);
        u32::from_le_bytes(b)
    }

    fn offset(&self, i: usize) -> u64 {
        debug_assert!(i <= self.n, "offset {i} of {}", self.n);
        let at = self.offsets_at + 8 * i;
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes[at..at + 8]);
        u64::from_le_bytes(b)
    }

    /// Box `i` of tree level `level`.
    fn node(&self, level: usize, i: usize) -> Box2 {
        debug_assert!(i < self.tree.levels[level].1, "node {i} of level {level}");
        let at = self.tree.levels[level].0 + 32 * i;
        bytemuck::pod_read_unaligned(&self.bytes[at..at + 32])
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn kind(&self) -> GeomKind {
        self.kind
    }

    /// The box of feature `i`; empty (min > max) for a feature without polygons.
    pub fn bbox(&self, i: usize) -> Box2 {
        self.node(0, i)
    }

    /// The union of every feature's box, if any feature has polygons.
    pub fn extent(&self) -> Option<geo::Rect<f64>> {
        let (top, count) = match self.tree.levels.len().checked_sub(1) {
            Some(top) => (top, self.tree.levels[top].1),
            None => (0, 0),
        };
        let u = (0..count).fold(EMPTY_BOX, |a, i| union(&a, &self.node(top, i)));
        (u[0] <= u[2]).then(|| geo::Rect::new((u[0], u[1]), (u[2], u[3])))
    }

    /// The raw class codes, each once; [`FlatLayer::class_of`] indexes them.
    pub fn class_table(&self) -> &[String] {
        &self.class_table
    }

    pub fn class_of(&self, i: usize) -> Option<usize> {
        let c = self.u32_at(self.classes_at, i);
        (c != NO_CLASS).then_some(c as usize)
    }

    /// Feature `i`'s position when the layer is sorted by id (ties by import order).
    pub fn rank(&self, i: usize) -> u32 {
        self.u32_at(self.ranks_at, i)
    }

    /// Calls `found` with every feature whose box meets `query` (touching counts).
    pub fn search(&self, query: &Box2, mut found: impl FnMut(usize)) {
        let Some(top) = self.tree.levels.len().checked_sub(1) else {
            return;
        };
        // (level, first node) of each group of children still to visit.
        let mut stack: Vec<(usize, usize)> = Vec::with_capacity(32);
        stack.push((top, 0));
        while let Some((level, first)) = stack.pop() {
            let (at, count) = self.tree.levels[level];
            let end = (first + NODE_SIZE).min(count);
            // One bounds check per group of siblings, not per box.
            let group = &self.bytes[at + 32 * first..at + 32 * end];
            for (k, raw) in group.chunks_exact(32).enumerate() {
                let b: Box2 = bytemuck::pod_read_unaligned(raw);
                if !overlaps(query, &b) {
                    continue;
                }
                let pos = first + k;
                if level == 0 {
                    found(pos);
                } else {
                    stack.push((level - 1, pos * NODE_SIZE));
                }
            }
        }
    }

    /// Reads feature `i`'s id and polygons.
    pub fn feature(&self, i: usize) -> Result<FlatFeature, FlatError> {
        let (from, to) = (self.offset(i) as usize, self.offset(i + 1) as usize);
        decode_record(&self.bytes[self.records_at + from..self.records_at + to]).map_err(|reason| {
            FlatError::Record {
                path: self.path.clone(),
                index: i,
                reason,
            }
        })
    }
}

struct Header {
    kind: GeomKind,
    n: usize,
    starts: [u64; SECTIONS],
}

impl Header {
    fn parse(h: &[u8], hash: &str, file_len: u64) -> Option<Header> {
        let mut r = Cursor::new(h);
        if r.take(8).ok()? != MAGIC || r.u32().ok()? != FORMAT {
            return None;
        }
        let kind = kind_of(r.array::<4>().ok()?[0])?;
        let n = usize::try_from(r.u64().ok()?).ok()?;
        // Each feature takes at least 48 bytes (box, class, rank, offset): a larger count is a
        // damaged header, refused before any size is computed from it.
        if n as u64 > file_len / 48 {
            return None;
        }
        let stored = r.take(HASH_LEN).ok()?;
        if std::str::from_utf8(stored).ok()?.trim_end() != hash {
            return None;
        }
        let mut starts = [0u64; SECTIONS];
        for s in &mut starts {
            *s = r.u64().ok()?;
        }
        let ordered = starts[0] == HEADER_LEN as u64
            && starts.windows(2).all(|w| w[0] <= w[1])
            && starts[SECTIONS - 1] <= file_len;
        ordered.then_some(Header { kind, n, starts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Feature, Geom};
    use geo::polygon;

    /// The flat index of `bytes` through a file, as the store opens it.
    fn from_bytes(bytes: Vec<u8>, hash: &str) -> Result<FlatLayer, FlatError> {
        let mut tmp = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut tmp, &bytes).expect("write");
        FlatLayer::open(tmp.path(), hash)?.ok_or_else(|| FlatError::Invalid {
            path: tmp.path().to_path_buf(),
            reason: "not a flat index of this object and format".into(),
        })
    }

    fn layer() -> LayerData {
        let mut l = LayerData::new(GeomKind::Polygon, Vec::new());
        let square = |x: f64, y: f64, id: &str, class: Option<&str>| Feature {
            id: id.to_string(),
            class: class.map(str::to_string),
            geom: Geom::Polygon(MultiPolygon(vec![polygon![
                (x: x, y: y), (x: x + 10.0, y: y), (x: x + 10.0, y: y + 10.0), (x: x, y: y + 10.0), (x: x, y: y)
            ]])),
            attrs: Vec::new(),
        };
        for k in 0..1000 {
            let (x, y) = (
                500_000.0 + f64::from(k % 40) * 20.0,
                2_500_000.0 + f64::from(k / 40) * 20.0,
            );
            let class = match k % 3 {
                0 => Some("070101"),
                1 => Some("0101"),
                _ => None,
            };
            l.features
                .push(square(x, y, &format!("P{:04}", 999 - k), class));
        }
        // A feature with a hole and a second part.
        l.features.push(Feature {
            id: "HOLE".into(),
            class: Some("0101".into()),
            geom: Geom::Polygon(MultiPolygon(vec![
                polygon!(
                    exterior: [(x: 0.0, y: 0.0), (x: 9.0, y: 0.0), (x: 9.0, y: 9.0), (x: 0.0, y: 9.0), (x: 0.0, y: 0.0)],
                    interiors: [[(x: 3.0, y: 3.0), (x: 3.0, y: 6.0), (x: 6.0, y: 6.0), (x: 6.0, y: 3.0), (x: 3.0, y: 3.0)]],
                ),
                polygon![(x: 20.0, y: 0.0), (x: 21.0, y: 0.0), (x: 21.0, y: 1.0), (x: 20.0, y: 0.0)],
            ])),
            attrs: Vec::new(),
        });
        l
    }

    #[test]
    fn round_trips_records_classes_and_ranks() {
        let l = layer();
        let flat = from_bytes(encode(&l, "abc").expect("encodes"), "abc").expect("opens");
        assert_eq!(flat.len(), l.features.len());
        let mut seen = std::collections::BTreeMap::new();
        for p in 0..flat.len() {
            let back = flat.feature(p).expect("record reads");
            let f = l
                .features
                .iter()
                .find(|f| f.id == back.id)
                .expect("same id");
            assert_eq!(Some(&back.polygons), f.geom.as_polygons());
            assert_eq!(
                flat.class_of(p).map(|c| flat.class_table()[c].as_str()),
                f.class.as_deref()
            );
            let r = back.polygons.bounding_rect().expect("has a box");
            assert_eq!(flat.bbox(p), [r.min().x, r.min().y, r.max().x, r.max().y]);
            seen.insert(flat.rank(p), back.id);
        }
        // Ranks are the id order: HOLE, then P0000 … P0999.
        let ids: Vec<&String> = seen.values().collect();
        assert_eq!(seen.len(), flat.len());
        assert_eq!((ids[0].as_str(), ids[1].as_str()), ("HOLE", "P0000"));
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn search_finds_exactly_the_boxes_that_meet_the_query() {
        let l = layer();
        let flat = from_bytes(encode(&l, "abc").expect("encodes"), "abc").expect("opens");
        for q in [
            [500_005.0, 2_500_005.0, 500_045.0, 2_500_025.0],
            [500_010.0, 2_500_010.0, 500_020.0, 2_500_020.0], // touches four squares' corners
            [0.0, 0.0, 1.0, 1.0],
            [-5.0, -5.0, -1.0, -1.0],
        ] {
            let mut got = Vec::new();
            flat.search(&q, |i| got.push(i));
            got.sort_unstable();
            let want: Vec<usize> = (0..flat.len())
                .filter(|&i| overlaps(&q, &flat.bbox(i)))
                .collect();
            assert_eq!(got, want, "query {q:?}");
        }
    }

    #[test]
    fn refuses_other_objects_formats_and_truncation() {
        let l = layer();
        let bytes = encode(&l, "abc").expect("encodes");
        assert!(from_bytes(bytes.clone(), "abd").is_err());
        let mut old = bytes.clone();
        old[8] = 0;
        assert!(from_bytes(old, "abc").is_err());
        let cut = bytes[..bytes.len() - 3].to_vec();
        let e = from_bytes(cut, "abc").expect_err("truncated").to_string();
        assert!(e.contains("record offsets"), "{e}");
    }
}
