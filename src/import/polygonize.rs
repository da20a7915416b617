//! Polygons from loose CAD line work (parcel outlines drawn as LINE and ARC pieces).
//!
//! The result is the set of **faces of the noded arrangement** of the lines, as GEOS gives for
//! `Polygonizer` run over the union of the lines:
//!
//! 1. **Snapping.** Vertices closer than the snap tolerance become one node. The tolerance is
//!    `1e-7` of the larger side of the drawing's extent, and never less than `1e-6` drawing units
//!    (a 20 km sheet in metres snaps within 2 mm). Gaps wider than that stay open.
//! 2. **Noding.** Lines are split where they cross, where they overlap, and at T-junctions: a
//!    line ending on another line's interior, also when its end misses that line by less than the
//!    tolerance (CAD "nearest" snaps are rarely exact in floating point).
//! 3. **Pruning.** Chains with a free end (dangles) and bridges (an edge with the same face on
//!    both sides, such as a line joining two separate loops) bound no face and are dropped.
//! 4. **Faces.** Every bounded face of what is left becomes a polygon. Overlapping outlines are
//!    therefore cut into their overlay faces: two overlapping rectangles drawn as lines give three
//!    polygons (each rectangle's own part and their overlap), not two overlapping rectangles.
//! 5. **Holes.** A connected group of lines lying inside a face of another group cuts a hole into
//!    the smallest face that encloses it; the group's own faces are polygons as well (so a square
//!    with an island gives the square minus the island, and the island). A face whose boundary
//!    touches itself at a vertex gets the pinched-off part as a hole touching its exterior there.
//!
//! Polygons come sorted by the lower-left corner of their bounding box, exterior rings
//! counter-clockwise and holes clockwise, each ring starting at its lowest-leftmost vertex, so
//! the output does not depend on the order of the input pieces. [`Polygonized::dangles`] counts
//! the input pieces none of whose parts ends up on the boundary of a polygon.
//!
//! Cost: snapping is a hash grid; intersections come from geo's sweep ([`Intersections`]) run
//! in horizontal bands of the drawing, which the near T-junction search shares; holes are found
//! through an R-tree; the face walk is linear after sorting the edges around each node.

use std::collections::HashMap;

use geo::algorithm::coordinate_position::{CoordPos, coord_pos_relative_to_ring};
use geo::algorithm::sweep::{Cross, Intersections};
use geo::{Coord, Line, LineIntersection, LineString, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// The snap tolerance as a share of the drawing's extent.
const RELATIVE_TOLERANCE: f64 = 1e-7;
/// The snap tolerance never goes below this, in drawing units.
const MIN_TOLERANCE: f64 = 1e-6;

/// The polygons found, and how many line pieces belong to no polygon.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygonized {
    pub polygons: Vec<Polygon<f64>>,
    /// Input pieces none of whose parts bounds a polygon (open chains, free lines, bridges).
    pub dangles: usize,
}

/// Builds the polygons bounded by `lines` (each a polyline; arcs already densified).
pub fn polygonize(lines: &[Vec<Coord<f64>>]) -> Polygonized {
    let tol = snap_tolerance(lines);
    let mut snapper = Snapper::new(tol);
    let segments = snapped_segments(lines, &mut snapper);
    let edges = node(&segments, &mut snapper);
    let nodes = snapper.nodes;

    let mut alive = vec![true; edges.edges.len()];
    let incident = incidence(nodes.len(), &edges.edges);
    // Removing the bridges leaves every remaining edge on a cycle, so one more round suffices;
    // the loop only guards against numerically odd embeddings.
    let faces = loop {
        prune_dangles(&edges.edges, &incident, &mut alive);
        let faces = walk_faces(&nodes, &edges.edges, &alive);
        let mut bridges = false;
        for (e, a) in alive.iter_mut().enumerate() {
            if *a && faces.face_of[2 * e] == faces.face_of[2 * e + 1] {
                *a = false;
                bridges = true;
            }
        }
        if !bridges {
            break faces;
        }
    };

    let component = components(nodes.len(), &edges.edges, &alive);
    let mut shells: Vec<Face> = Vec::new();
    let mut candidates: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut edge_in_face = vec![false; edges.edges.len()];
    let mut scratch = vec![usize::MAX; nodes.len()];
    for cycle in &faces.cycles {
        let ring: Vec<usize> = cycle.iter().map(|&h| origin(&edges.edges, h)).collect();
        let Some(&first) = ring.first() else { continue };
        let comp = component[first];
        if signed_area(&nodes, &ring) > 0.0 {
            for &h in cycle {
                edge_in_face[h / 2] = true;
            }
            let mut loops: Vec<(f64, Vec<usize>)> = split_pinches(&ring, &mut scratch)
                .into_iter()
                .map(|l| (signed_area(&nodes, &l), l))
                .collect();
            loops.sort_by(|a, b| b.0.total_cmp(&a.0));
            let holes: Vec<Vec<usize>> = loops
                .iter()
                .filter(|(a, _)| *a < 0.0)
                .map(|(_, l)| l.clone())
                .collect();
            // A bounded face has exactly one counter-clockwise loop; should rounding produce
            // more, each is kept as a polygon of its own rather than lost.
            let mut outer = loops.into_iter().filter(|(a, _)| *a > 0.0);
            if let Some((area, l)) = outer.next() {
                shells.push(Face::new(&nodes, &l, area, comp, holes));
            }
            for (area, l) in outer {
                shells.push(Face::new(&nodes, &l, area, comp, Vec::new()));
            }
        } else {
            for l in split_pinches(&ring, &mut scratch) {
                if signed_area(&nodes, &l) < 0.0 {
                    candidates.push((comp, l));
                }
            }
        }
    }
    assign_holes(&nodes, &mut shells, candidates);

    let mut polygons: Vec<Polygon<f64>> = shells
        .into_iter()
        .map(|f| {
            let mut holes = f.holes;
            holes.sort_by(|a, b| cmp_xy(lower_left(&a.0), lower_left(&b.0)));
            Polygon::new(f.exterior, holes)
        })
        .collect();
    polygons.sort_by(|a, b| {
        let (a, b) = (&a.exterior().0, &b.exterior().0);
        cmp_xy(lower_left(a), lower_left(b)).then_with(|| cmp_xy(upper_right(a), upper_right(b)))
    });

    let mut piece_in_face = vec![false; lines.len()];
    for &(e, piece) in &edges.pieces {
        if edge_in_face[e] {
            piece_in_face[piece] = true;
        }
    }
    Polygonized {
        polygons,
        dangles: piece_in_face.iter().filter(|x| !**x).count(),
    }
}

/// `RELATIVE_TOLERANCE` of the larger side of the extent of all finite vertices.
fn snap_tolerance(lines: &[Vec<Coord<f64>>]) -> f64 {
    let mut it = lines.iter().flatten().filter(|c| is_finite(**c));
    let Some(first) = it.next() else {
        return MIN_TOLERANCE;
    };
    let (mut lo, mut hi) = (*first, *first);
    for c in it {
        lo.x = lo.x.min(c.x);
        lo.y = lo.y.min(c.y);
        hi.x = hi.x.max(c.x);
        hi.y = hi.y.max(c.y);
    }
    let extent = (hi.x - lo.x).max(hi.y - lo.y);
    (extent * RELATIVE_TOLERANCE).max(MIN_TOLERANCE)
}

fn is_finite(c: Coord<f64>) -> bool {
    c.x.is_finite() && c.y.is_finite()
}

fn dist2(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - b.x).powi(2) + (a.y - b.y).powi(2)
}

/// Merges points closer than the tolerance into nodes, on a hash grid.
///
/// A new point joins the nearest existing node within the tolerance, so nodes stay more than
/// the tolerance apart and the first point seen of a cluster is its position. Cells are twice
/// the tolerance wide, so the disc around a point overlaps at most the 2 × 2 cells on the side
/// of the cell it falls in.
struct Snapper {
    tol: f64,
    /// First node in each cell; `next` chains the others.
    cells: HashMap<(i64, i64), usize>,
    next: Vec<usize>,
    nodes: Vec<Coord<f64>>,
}

impl Snapper {
    fn new(tol: f64) -> Self {
        Snapper {
            tol,
            cells: HashMap::new(),
            next: Vec::new(),
            nodes: Vec::new(),
        }
    }

    fn snap(&mut self, c: Coord<f64>) -> usize {
        let size = 2.0 * self.tol;
        let (fx, fy) = (c.x / size, c.y / size);
        // `as` saturates: absurd coordinates share an edge cell instead of overflowing.
        let (cx, cy) = (fx.floor() as i64, fy.floor() as i64);
        let sx = if fx - fx.floor() < 0.5 { -1 } else { 1 };
        let sy = if fy - fy.floor() < 0.5 { -1 } else { 1 };
        let tol2 = self.tol * self.tol;
        let mut best: Option<(f64, usize)> = None;
        for key in [
            (cx, cy),
            (cx.saturating_add(sx), cy),
            (cx, cy.saturating_add(sy)),
            (cx.saturating_add(sx), cy.saturating_add(sy)),
        ] {
            let mut at = self.cells.get(&key).copied();
            while let Some(id) = at {
                let d = dist2(self.nodes[id], c);
                if d <= tol2 && best.is_none_or(|(bd, bid)| d < bd || (d == bd && id < bid)) {
                    best = Some((d, id));
                }
                at = Some(self.next[id]).filter(|&n| n != id);
            }
        }
        if let Some((_, id)) = best {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(c);
        // A node chaining to itself ends its cell's list.
        let head = self.cells.insert((cx, cy), id);
        self.next.push(head.unwrap_or(id));
        id
    }
}

/// A straight piece between two nodes, remembering the input piece it came from.
#[derive(Debug, Clone, Copy)]
struct Segment {
    a: usize,
    b: usize,
    piece: usize,
}

/// Splits every piece into segments between snapped nodes. End points are snapped first so
/// that they, not interior arc vertices, stand for their clusters.
fn snapped_segments(lines: &[Vec<Coord<f64>>], snapper: &mut Snapper) -> Vec<Segment> {
    for line in lines {
        let mut finite = line.iter().copied().filter(|c| is_finite(*c));
        if let Some(first) = finite.next() {
            snapper.snap(first);
        }
        if let Some(last) = finite.next_back() {
            snapper.snap(last);
        }
    }
    let mut segments = Vec::new();
    for (piece, line) in lines.iter().enumerate() {
        // A non-finite vertex breaks the piece: there is no line to draw through it.
        let ids: Vec<Option<usize>> = line
            .iter()
            .map(|c| is_finite(*c).then(|| snapper.snap(*c)))
            .collect();
        for w in ids.windows(2) {
            if let [Some(a), Some(b)] = *w
                && a != b
            {
                segments.push(Segment { a, b, piece });
            }
        }
    }
    segments
}

/// A segment handed to the sweep, with its index; `probe` marks the zero-length companions.
#[derive(Debug, Clone, Copy)]
struct Indexed {
    line: Line<f64>,
    id: usize,
    probe: bool,
}

impl Cross for Indexed {
    type Scalar = f64;

    fn line(&self) -> Line<f64> {
        self.line
    }
}

/// The noded line work: unique edges between nodes, and which input pieces draw each edge.
struct Noded {
    edges: Vec<(usize, usize)>,
    pieces: Vec<(usize, usize)>,
}

/// Splits the segments at crossings, overlaps and (near) T-junctions, merging duplicates.
fn node(segments: &[Segment], snapper: &mut Snapper) -> Noded {
    let tol = snapper.tol;
    let line_of = |s: &Segment, nodes: &[Coord<f64>]| Line::new(nodes[s.a], nodes[s.b]);

    let bands = Bands::new(segments, &snapper.nodes, tol);
    let mut cuts: Vec<(usize, Coord<f64>)> = Vec::new();
    for band in &bands.segments {
        // geo 0.33's sweep steps from one segment to the next by recursing
        // (`Intersections::next`) each time a segment meets nothing, so a long run of isolated
        // segments overflows the stack. Each segment is therefore followed by a zero-length
        // probe at its left end: the sweep sorts it right after the segment (stable sort on
        // the same x), the segment always meets it, and the recursion stays shallow.
        let sweep = Intersections::from_iter(band.iter().flat_map(|&id| {
            let line = line_of(&segments[id], &snapper.nodes);
            let left = if line.start.x <= line.end.x {
                line.start
            } else {
                line.end
            };
            [
                Indexed {
                    line,
                    id,
                    probe: false,
                },
                Indexed {
                    line: Line::new(left, left),
                    id,
                    probe: true,
                },
            ]
        }));
        for (p, q, x) in sweep {
            if p.probe || q.probe {
                continue;
            }
            let points = match x {
                LineIntersection::SinglePoint { intersection, .. } => [intersection, intersection],
                LineIntersection::Collinear { intersection } => {
                    [intersection.start, intersection.end]
                }
            };
            for s in [p, q] {
                for c in points {
                    // Segments of one polyline meet at their shared vertex: no split there.
                    if c != s.line.start && c != s.line.end {
                        cuts.push((s.id, c));
                    }
                }
            }
        }
    }
    let mut splits: Vec<(usize, usize)> = cuts
        .into_iter()
        .map(|(s, c)| (s, snapper.snap(c)))
        .collect();

    // Nodes lying within the tolerance of a segment's interior split it (near T-junctions, and
    // crossing points computed slightly off a third line through the same point). Each node
    // sits in one band, sorted by x; each segment looks at the nodes of its bands in its x range.
    let mut members: Vec<Vec<(f64, usize)>> = vec![Vec::new(); bands.segments.len()];
    for (n, p) in snapper.nodes.iter().enumerate() {
        if let Some(m) = members.get_mut(bands.of(p.y)) {
            m.push((p.x, n));
        }
    }
    for (band, segs) in bands.segments.iter().enumerate() {
        let points = &mut members[band];
        points.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
        for &i in segs {
            let s = segments[i];
            let (a, b) = (snapper.nodes[s.a], snapper.nodes[s.b]);
            let (x0, x1) = (a.x.min(b.x) - tol, a.x.max(b.x) + tol);
            let (y0, y1) = (a.y.min(b.y) - tol, a.y.max(b.y) + tol);
            let from = points.partition_point(|p| p.0 < x0);
            for &(x, n) in &points[from..] {
                if x > x1 {
                    break;
                }
                let p = snapper.nodes[n];
                if n == s.a || n == s.b || p.y < y0 || p.y > y1 {
                    continue;
                }
                let t = param(a, b, p);
                if t > 0.0 && t < 1.0 {
                    let foot = Coord {
                        x: a.x + t * (b.x - a.x),
                        y: a.y + t * (b.y - a.y),
                    };
                    if dist2(foot, p) <= tol * tol {
                        splits.push((i, n));
                    }
                }
            }
        }
    }
    splits.sort_unstable();
    splits.dedup();

    let nodes = &snapper.nodes;
    let mut drawn: Vec<((usize, usize), usize)> = Vec::new();
    let mut k = 0;
    let mut stops: Vec<(f64, usize)> = Vec::new();
    for (si, s) in segments.iter().enumerate() {
        stops.clear();
        // The end points sort outside [0, 1] so a split that rounds onto t = 0 or 1 stays inside.
        stops.push((-1.0, s.a));
        stops.push((2.0, s.b));
        while let Some(&(seg, n)) = splits.get(k) {
            if seg != si {
                break;
            }
            stops.push((param(nodes[s.a], nodes[s.b], nodes[n]).clamp(0.0, 1.0), n));
            k += 1;
        }
        stops.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        stops.dedup_by_key(|x| x.1);
        for w in stops.windows(2) {
            let (u, v) = (w[0].1, w[1].1);
            if u != v {
                drawn.push(((u.min(v), u.max(v)), s.piece));
            }
        }
    }
    // Parts drawn more than once (shared edges, overlaps) become one edge.
    drawn.sort_unstable();
    drawn.dedup();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let mut pieces = Vec::with_capacity(drawn.len());
    for (key, piece) in drawn {
        if edges.last() != Some(&key) {
            edges.push(key);
        }
        pieces.push((edges.len() - 1, piece));
    }
    Noded { edges, pieces }
}

/// Horizontal bands of the drawing, for the sweep and the near T-junction search.
///
/// geo's sweep compares every pair of segments overlapping in x: over a whole sheet that is
/// about n^1.5 pairs, within bands about √n / 2 rows high nearly linear. A segment goes into
/// every band its y range (grown by the tolerance) touches, so two segments that meet share the
/// band of their meeting point, and a node shares a band with every segment within the
/// tolerance of it. Where segments span many bands (a flat drawing, long lines) the bands are
/// halved until the copies stay below four per segment.
struct Bands {
    lo: f64,
    height: f64,
    segments: Vec<Vec<usize>>,
}

impl Bands {
    fn new(segments: &[Segment], nodes: &[Coord<f64>], tol: f64) -> Self {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for s in segments {
            for n in [s.a, s.b] {
                lo = lo.min(nodes[n].y - tol);
                hi = hi.max(nodes[n].y + tol);
            }
        }
        let span = |s: &Segment| {
            let (ya, yb) = (nodes[s.a].y, nodes[s.b].y);
            (ya.min(yb) - tol, ya.max(yb) + tol)
        };
        let mut count = ((segments.len() as f64).sqrt() / 2.0).clamp(1.0, 4096.0) as usize;
        let mut bands = Bands {
            lo,
            height: 0.0,
            segments: Vec::new(),
        };
        loop {
            bands.height = if hi > lo {
                (hi - lo) / count as f64
            } else {
                0.0
            };
            bands.segments = vec![Vec::new(); count];
            let copies: usize = segments
                .iter()
                .map(|s| {
                    let (y0, y1) = span(s);
                    bands.of(y1).saturating_sub(bands.of(y0)) + 1
                })
                .sum();
            if count == 1 || copies <= 4 * segments.len() {
                break;
            }
            count /= 2;
        }
        for (i, s) in segments.iter().enumerate() {
            let (y0, y1) = span(s);
            let (first, last) = (bands.of(y0), bands.of(y1));
            for band in &mut bands.segments[first..=last] {
                band.push(i);
            }
        }
        bands
    }

    /// The band holding height `y`.
    fn of(&self, y: f64) -> usize {
        let last = self.segments.len().saturating_sub(1);
        if self.height > 0.0 {
            // `as` saturates, so heights just outside the range fall into the edge bands.
            (((y - self.lo) / self.height) as usize).min(last)
        } else {
            0
        }
    }
}

/// Where `p` projects onto the line through `a` and `b` (0 at `a`, 1 at `b`).
fn param(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    if len2 == 0.0 {
        return 0.0;
    }
    ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2
}

/// For each node, the edges touching it (compressed rows).
struct Incidence {
    start: Vec<usize>,
    edges: Vec<usize>,
}

fn incidence(n_nodes: usize, edges: &[(usize, usize)]) -> Incidence {
    let mut start = vec![0usize; n_nodes + 1];
    for &(u, v) in edges {
        start[u + 1] += 1;
        start[v + 1] += 1;
    }
    for i in 0..n_nodes {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut list = vec![0usize; start[n_nodes]];
    for (e, &(u, v)) in edges.iter().enumerate() {
        for n in [u, v] {
            list[fill[n]] = e;
            fill[n] += 1;
        }
    }
    Incidence { start, edges: list }
}

/// Removes chains ending in a node of degree one, repeatedly.
fn prune_dangles(edges: &[(usize, usize)], inc: &Incidence, alive: &mut [bool]) {
    let n_nodes = inc.start.len() - 1;
    let mut degree = vec![0usize; n_nodes];
    for (e, &(u, v)) in edges.iter().enumerate() {
        if alive[e] {
            degree[u] += 1;
            degree[v] += 1;
        }
    }
    let mut stack: Vec<usize> = (0..n_nodes).filter(|&n| degree[n] == 1).collect();
    while let Some(n) = stack.pop() {
        if degree[n] != 1 {
            continue;
        }
        let Some(&e) = inc.edges[inc.start[n]..inc.start[n + 1]]
            .iter()
            .find(|&&e| alive[e])
        else {
            continue;
        };
        alive[e] = false;
        let (u, v) = edges[e];
        let other = if u == n { v } else { u };
        degree[n] = 0;
        degree[other] -= 1;
        if degree[other] == 1 {
            stack.push(other);
        }
    }
}

/// Half-edge `2e` runs from `edges[e].0` to `edges[e].1`, `2e + 1` back.
fn origin(edges: &[(usize, usize)], h: usize) -> usize {
    let (u, v) = edges[h / 2];
    if h.is_multiple_of(2) { u } else { v }
}

fn destination(edges: &[(usize, usize)], h: usize) -> usize {
    origin(edges, h ^ 1)
}

/// The face cycles (half-edge lists, face on the left) and the cycle of each half-edge.
struct Faces {
    cycles: Vec<Vec<usize>>,
    face_of: Vec<usize>,
}

/// Walks every face: after arriving at a node, leave by the edge next clockwise from the one
/// arrived on, which keeps the face on the left. Bounded faces come out counter-clockwise,
/// the outside of each connected group clockwise.
fn walk_faces(nodes: &[Coord<f64>], edges: &[(usize, usize)], alive: &[bool]) -> Faces {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (e, &(u, v)) in edges.iter().enumerate() {
        if alive[e] {
            out[u].push(2 * e);
            out[v].push(2 * e + 1);
        }
    }
    let angle = |h: usize| {
        let (o, d) = (nodes[origin(edges, h)], nodes[destination(edges, h)]);
        (d.y - o.y).atan2(d.x - o.x)
    };
    let mut pos = vec![usize::MAX; 2 * edges.len()];
    for list in &mut out {
        list.sort_by(|&a, &b| angle(a).total_cmp(&angle(b)).then(a.cmp(&b)));
        for (i, &h) in list.iter().enumerate() {
            pos[h] = i;
        }
    }

    let mut face_of = vec![usize::MAX; 2 * edges.len()];
    let mut cycles = Vec::new();
    for start in 0..2 * edges.len() {
        if !alive[start / 2] || face_of[start] != usize::MAX {
            continue;
        }
        let id = cycles.len();
        let mut cycle = Vec::new();
        let mut h = start;
        // The next-edge map is a permutation of the half-edges, so the walk returns to `start`;
        // the length bound only keeps a malformed graph from looping forever.
        for _ in 0..2 * edges.len() {
            face_of[h] = id;
            cycle.push(h);
            let list = &out[destination(edges, h)];
            let twin = pos[h ^ 1];
            h = list[(twin + list.len() - 1) % list.len()];
            if h == start || face_of[h] != usize::MAX {
                break;
            }
        }
        cycles.push(cycle);
    }
    Faces { cycles, face_of }
}

/// The connected group of each node (union–find over the remaining edges).
fn components(n_nodes: usize, edges: &[(usize, usize)], alive: &[bool]) -> Vec<usize> {
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut parent: Vec<usize> = (0..n_nodes).collect();
    for (e, &(u, v)) in edges.iter().enumerate() {
        if alive[e] {
            let (ru, rv) = (find(&mut parent, u), find(&mut parent, v));
            if ru != rv {
                parent[ru.max(rv)] = ru.min(rv);
            }
        }
    }
    (0..n_nodes).map(|n| find(&mut parent, n)).collect()
}

/// Shoelace area of a node ring (not repeating its first node), relative to its first vertex
/// so that large projected coordinates do not cancel.
fn signed_area(nodes: &[Coord<f64>], ring: &[usize]) -> f64 {
    let Some(&first) = ring.first() else {
        return 0.0;
    };
    let o = nodes[first];
    let mut twice = 0.0;
    for (i, &a) in ring.iter().enumerate() {
        let b = ring[(i + 1) % ring.len()];
        let (p, q) = (nodes[a], nodes[b]);
        twice += (p.x - o.x) * (q.y - o.y) - (q.x - o.x) * (p.y - o.y);
    }
    twice / 2.0
}

/// Cuts a ring that passes a node more than once into simple loops. `at` is scratch space,
/// one slot per node, all `usize::MAX` on entry and on return.
fn split_pinches(ring: &[usize], at: &mut [usize]) -> Vec<Vec<usize>> {
    let mut loops = Vec::new();
    let mut stack: Vec<usize> = Vec::with_capacity(ring.len());
    for &n in ring {
        let i = at[n];
        if i == usize::MAX {
            at[n] = stack.len();
            stack.push(n);
        } else {
            for &m in &stack[i + 1..] {
                at[m] = usize::MAX;
            }
            loops.push(stack[i..].to_vec());
            stack.truncate(i + 1);
        }
    }
    for &m in &stack {
        at[m] = usize::MAX;
    }
    loops.push(stack);
    loops.retain(|l| l.len() >= 3);
    loops
}

/// A bounded face under construction.
struct Face {
    exterior: LineString<f64>,
    holes: Vec<LineString<f64>>,
    /// Area enclosed by the exterior ring, holes not subtracted.
    ring_area: f64,
    component: usize,
    bbox: Rectangle<[f64; 2]>,
}

impl Face {
    fn new(
        nodes: &[Coord<f64>],
        ring: &[usize],
        ring_area: f64,
        component: usize,
        holes: Vec<Vec<usize>>,
    ) -> Self {
        let exterior = closed_ring(nodes, ring);
        let (lo, hi) = (lower_left(&exterior.0), upper_right(&exterior.0));
        Face {
            holes: holes.iter().map(|h| closed_ring(nodes, h)).collect(),
            exterior,
            ring_area,
            component,
            bbox: Rectangle::from_corners([lo.x, lo.y], [hi.x, hi.y]),
        }
    }
}

/// The ring's coordinates, starting at its lowest-leftmost vertex and closed.
fn closed_ring(nodes: &[Coord<f64>], ring: &[usize]) -> LineString<f64> {
    let start = ring
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| cmp_xy(nodes[**a], nodes[**b]))
        .map_or(0, |(i, _)| i);
    let mut coords: Vec<Coord<f64>> = ring[start..]
        .iter()
        .chain(&ring[..start])
        .map(|&n| nodes[n])
        .collect();
    if let Some(&first) = coords.first() {
        coords.push(first);
    }
    LineString(coords)
}

/// Attaches each clockwise outline of a connected group as a hole of the smallest face of
/// another group that encloses it.
fn assign_holes(nodes: &[Coord<f64>], shells: &mut [Face], candidates: Vec<(usize, Vec<usize>)>) {
    if shells.is_empty() {
        return;
    }
    let tree = RTree::bulk_load(
        shells
            .iter()
            .enumerate()
            .map(|(i, f)| GeomWithData::new(f.bbox, i))
            .collect(),
    );
    for (comp, ring) in candidates {
        let coords: Vec<Coord<f64>> = ring.iter().map(|&n| nodes[n]).collect();
        let (lo, hi) = (lower_left(&coords), upper_right(&coords));
        let env = AABB::from_corners([lo.x, lo.y], [hi.x, hi.y]);
        let mut around: Vec<usize> = tree
            .locate_in_envelope_intersecting(env)
            .map(|g| g.data)
            .filter(|&i| {
                let f = &shells[i];
                let (flo, fhi) = (f.bbox.lower(), f.bbox.upper());
                f.component != comp
                    && flo[0] <= lo.x
                    && flo[1] <= lo.y
                    && fhi[0] >= hi.x
                    && fhi[1] >= hi.y
            })
            .collect();
        around.sort_by(|&a, &b| {
            shells[a]
                .ring_area
                .total_cmp(&shells[b].ring_area)
                .then(a.cmp(&b))
        });
        // Separate groups share no point, so any vertex of the outline tells inside from
        // outside; one on the boundary can only come from snapping and is skipped.
        let parent = around.into_iter().find(|&i| {
            coords
                .iter()
                .map(|&c| coord_pos_relative_to_ring(c, &shells[i].exterior))
                .find(|p| *p != CoordPos::OnBoundary)
                == Some(CoordPos::Inside)
        });
        if let Some(i) = parent {
            // The outline of a group runs clockwise: already a hole's orientation.
            shells[i].holes.push(closed_ring(nodes, &ring));
        }
    }
}

/// Smallest x and y of some coordinates.
fn lower_left(coords: &[Coord<f64>]) -> Coord<f64> {
    coords.iter().fold(
        Coord {
            x: f64::INFINITY,
            y: f64::INFINITY,
        },
        |m, c| Coord {
            x: m.x.min(c.x),
            y: m.y.min(c.y),
        },
    )
}

/// Largest x and y of some coordinates.
fn upper_right(coords: &[Coord<f64>]) -> Coord<f64> {
    coords.iter().fold(
        Coord {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        },
        |m, c| Coord {
            x: m.x.max(c.x),
            y: m.y.max(c.y),
        },
    )
}

/// Orders corners by x, then y.
fn cmp_xy(a: Coord<f64>, b: Coord<f64>) -> std::cmp::Ordering {
    a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Validation};

    fn l(points: &[(f64, f64)]) -> Vec<Coord<f64>> {
        points.iter().map(|&(x, y)| Coord { x, y }).collect()
    }

    /// The four sides of an axis-parallel rectangle as separate lines.
    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<Vec<Coord<f64>>> {
        vec![
            l(&[(x0, y0), (x1, y0)]),
            l(&[(x1, y0), (x1, y1)]),
            l(&[(x1, y1), (x0, y1)]),
            l(&[(x0, y1), (x0, y0)]),
        ]
    }

    /// Areas in output order, after checking every polygon is valid.
    fn areas(p: &Polygonized) -> Vec<f64> {
        for poly in &p.polygons {
            assert!(poly.is_valid(), "invalid polygon {poly:?}");
        }
        p.polygons.iter().map(|g| g.unsigned_area()).collect()
    }

    fn assert_areas(p: &Polygonized, expected: &[f64]) {
        let got = areas(p);
        assert_eq!(got.len(), expected.len(), "areas {got:?}");
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() < 1e-6, "areas {got:?}, expected {expected:?}");
        }
    }

    #[test]
    fn square_drawn_as_four_lines() {
        let p = polygonize(&rect(0.0, 0.0, 10.0, 10.0));
        assert_areas(&p, &[100.0]);
        assert_eq!(p.dangles, 0);
        assert!(p.polygons[0].interiors().is_empty());
        assert_eq!(p.polygons[0].exterior().0.len(), 5);
    }

    #[test]
    fn lines_in_any_direction_and_order_give_the_same_result() {
        let mut lines = rect(0.0, 0.0, 10.0, 10.0);
        lines.extend(rect(5.0, 5.0, 15.0, 15.0));
        lines.push(l(&[(3.0, 3.0), (4.0, 4.0)]));
        let forward = polygonize(&lines);
        let mut backward: Vec<Vec<Coord<f64>>> = lines
            .iter()
            .rev()
            .map(|p| p.iter().rev().copied().collect())
            .collect();
        backward.rotate_left(3);
        assert_eq!(polygonize(&backward), forward);
    }

    #[test]
    fn two_squares_sharing_an_edge_drawn_once() {
        let lines = vec![
            l(&[(0.0, 0.0), (10.0, 0.0)]),
            l(&[(10.0, 0.0), (20.0, 0.0)]),
            l(&[(20.0, 0.0), (20.0, 10.0)]),
            l(&[(20.0, 10.0), (10.0, 10.0)]),
            l(&[(10.0, 10.0), (0.0, 10.0)]),
            l(&[(0.0, 10.0), (0.0, 0.0)]),
            l(&[(10.0, 0.0), (10.0, 10.0)]),
        ];
        let p = polygonize(&lines);
        assert_areas(&p, &[100.0, 100.0]);
        assert_eq!(p.dangles, 0);
        // Sorted by lower-left corner: the left square first.
        assert_eq!(
            lower_left(&p.polygons[0].exterior().0),
            Coord { x: 0.0, y: 0.0 }
        );
        assert_eq!(
            lower_left(&p.polygons[1].exterior().0),
            Coord { x: 10.0, y: 0.0 }
        );
    }

    #[test]
    fn t_junctions_split_the_line_they_end_on() {
        // A 20 × 10 rectangle of four long lines, halved by a line whose ends lie on the
        // interiors of the top and bottom lines.
        let mut lines = rect(0.0, 0.0, 20.0, 10.0);
        lines.push(l(&[(10.0, 0.0), (10.0, 10.0)]));
        let p = polygonize(&lines);
        assert_areas(&p, &[100.0, 100.0]);
        assert_eq!(p.dangles, 0);
    }

    #[test]
    fn near_t_junctions_within_the_tolerance_are_joined() {
        // The halving line stops 1e-8 short of both long lines (tolerance here: 2e-6).
        let mut lines = rect(0.0, 0.0, 20.0, 10.0);
        lines.push(l(&[(10.0, 1e-8), (10.0, 10.0 - 1e-8)]));
        let p = polygonize(&lines);
        assert_areas(&p, &[100.0, 100.0]);
        assert_eq!(p.dangles, 0);
    }

    #[test]
    fn overshooting_lines_are_cut_and_their_ends_dropped() {
        let mut lines = rect(0.0, 0.0, 20.0, 10.0);
        lines.push(l(&[(10.0, -2.0), (10.0, 12.0)]));
        let p = polygonize(&lines);
        assert_areas(&p, &[100.0, 100.0]);
        // The overshooting line bounds both faces, so it is no dangle.
        assert_eq!(p.dangles, 0);
    }

    #[test]
    fn crossing_rectangles_give_their_overlay_faces() {
        // [0,10]² and [5,15]² overlap in [5,10]²: 100 − 25 = 75 each side, 25 in the middle.
        let mut lines = rect(0.0, 0.0, 10.0, 10.0);
        lines.extend(rect(5.0, 5.0, 15.0, 15.0));
        let p = polygonize(&lines);
        // Order: (0,0) first; at (5,5) the overlap (upper right (10,10)) before (15,15).
        assert_areas(&p, &[75.0, 25.0, 75.0]);
        assert_eq!(p.dangles, 0);
        let overlap = &p.polygons[1];
        assert_eq!(overlap.exterior().0.len(), 5);
        assert_eq!(
            upper_right(&overlap.exterior().0),
            Coord { x: 10.0, y: 10.0 }
        );
        // Each L-shaped remainder has six corners.
        assert_eq!(p.polygons[0].exterior().0.len(), 7);
        assert_eq!(p.polygons[2].exterior().0.len(), 7);
    }

    #[test]
    fn a_cross_of_two_bars_gives_five_faces() {
        // Horizontal bar [0,30]×[10,20] and vertical bar [10,20]×[0,30]: the centre square and
        // four arms, each 10 × 10.
        let mut lines = rect(0.0, 10.0, 30.0, 20.0);
        lines.extend(rect(10.0, 0.0, 20.0, 30.0));
        let p = polygonize(&lines);
        assert_areas(&p, &[100.0; 5]);
        let total: f64 = areas(&p).iter().sum();
        assert!((total - (300.0 + 300.0 - 100.0)).abs() < 1e-9);
    }

    #[test]
    fn an_island_becomes_a_hole_and_a_polygon() {
        let mut lines = rect(0.0, 0.0, 10.0, 10.0);
        lines.extend(rect(3.0, 3.0, 6.0, 6.0));
        let p = polygonize(&lines);
        // The square minus the 3 × 3 island, then the island.
        assert_areas(&p, &[100.0 - 9.0, 9.0]);
        assert_eq!(p.polygons[0].interiors().len(), 1);
        assert!(p.polygons[1].interiors().is_empty());
        assert_eq!(p.dangles, 0);
    }

    #[test]
    fn nested_islands_go_into_the_innermost_face() {
        let mut lines = rect(0.0, 0.0, 10.0, 10.0);
        lines.extend(rect(2.0, 2.0, 8.0, 8.0));
        lines.extend(rect(4.0, 4.0, 5.0, 5.0));
        let p = polygonize(&lines);
        // 100 − 36, 36 − 1, 1.
        assert_areas(&p, &[64.0, 35.0, 1.0]);
        assert!(p.polygons.iter().all(|g| g.interiors().len() <= 1));
        assert_eq!(p.polygons[2].interiors().len(), 0);
    }

    #[test]
    fn two_islands_side_by_side_are_two_holes() {
        let mut lines = rect(0.0, 0.0, 10.0, 10.0);
        lines.extend(rect(1.0, 1.0, 3.0, 3.0));
        lines.extend(rect(5.0, 5.0, 9.0, 6.0));
        let p = polygonize(&lines);
        assert_areas(&p, &[100.0 - 4.0 - 4.0, 4.0, 4.0]);
        assert_eq!(p.polygons[0].interiors().len(), 2);
    }

    #[test]
    fn an_island_touching_the_outline_at_a_corner_is_a_touching_hole() {
        let mut lines = rect(0.0, 0.0, 10.0, 10.0);
        lines.extend(rect(0.0, 0.0, 4.0, 4.0).into_iter().skip(1).take(2));
        // Only the island's top and right sides are new: the others lie on the outline.
        let p = polygonize(&lines);
        assert_areas(&p, &[16.0, 84.0]);

        // An island attached only at the corner (4,4)–(10,10) diagonal is a pinch, not overlap.
        let mut pinched = rect(0.0, 0.0, 10.0, 10.0);
        pinched.extend(vec![
            l(&[(10.0, 10.0), (6.0, 8.0)]),
            l(&[(6.0, 8.0), (8.0, 6.0)]),
            l(&[(8.0, 6.0), (10.0, 10.0)]),
        ]);
        let p = polygonize(&pinched);
        // Triangle (10,10), (6,8), (8,6): ½·|(−4)(−4) − (−2)(−2)| = 6.
        assert_areas(&p, &[94.0, 6.0]);
        assert_eq!(p.polygons[0].interiors().len(), 1);
    }

    #[test]
    fn overlapping_outlines_drawn_twice_are_merged() {
        // Two closed polylines sharing part of an edge: [0,10]² and [10,20]×[2,8].
        let lines = vec![
            l(&[
                (0.0, 0.0),
                (10.0, 0.0),
                (10.0, 10.0),
                (0.0, 10.0),
                (0.0, 0.0),
            ]),
            l(&[
                (10.0, 2.0),
                (20.0, 2.0),
                (20.0, 8.0),
                (10.0, 8.0),
                (10.0, 2.0),
            ]),
            // The first square once more, as loose lines.
            l(&[(0.0, 0.0), (10.0, 0.0)]),
            l(&[(10.0, 10.0), (10.0, 0.0)]),
        ];
        let p = polygonize(&lines);
        assert_areas(&p, &[100.0, 60.0]);
        assert_eq!(p.dangles, 0);
    }

    #[test]
    fn dangles_are_pruned_and_counted() {
        let mut lines = rect(0.0, 0.0, 10.0, 10.0);
        // A spur from a corner, a two-piece chain hanging from a side, and a free line.
        lines.push(l(&[(10.0, 10.0), (15.0, 15.0)]));
        lines.push(l(&[(5.0, 0.0), (5.0, -3.0)]));
        lines.push(l(&[(5.0, -3.0), (8.0, -5.0)]));
        lines.push(l(&[(30.0, 30.0), (40.0, 30.0)]));
        // A spur into the square's interior.
        lines.push(l(&[(0.0, 5.0), (4.0, 5.0)]));
        let p = polygonize(&lines);
        assert_areas(&p, &[100.0]);
        assert_eq!(p.dangles, 5);
        // The spurs are gone; the ring keeps the nodes where they met it, (5, 0) and (0, 5),
        // besides the 4 corners, and repeats its first vertex.
        assert_eq!(p.polygons[0].exterior().0.len(), 7);
    }

    #[test]
    fn a_bridge_between_two_loops_is_dropped() {
        let mut lines = rect(0.0, 0.0, 10.0, 10.0);
        lines.extend(rect(20.0, 0.0, 30.0, 10.0));
        lines.push(l(&[(10.0, 5.0), (15.0, 5.0), (20.0, 5.0)]));
        let p = polygonize(&lines);
        assert_areas(&p, &[100.0, 100.0]);
        assert_eq!(p.dangles, 1);
        // A bridge from an outline to an island inside it: the island still becomes a hole.
        let mut lines = rect(0.0, 0.0, 10.0, 10.0);
        lines.extend(rect(4.0, 4.0, 6.0, 6.0));
        lines.push(l(&[(0.0, 5.0), (4.0, 5.0)]));
        let p = polygonize(&lines);
        assert_areas(&p, &[96.0, 4.0]);
        assert_eq!(p.polygons[0].interiors().len(), 1);
        assert_eq!(p.dangles, 1);
    }

    #[test]
    fn end_points_within_the_tolerance_are_snapped() {
        // Extent 10: tolerance max(10 · 1e-7, 1e-6) = 1e-6. Corners miss by 4e-7.
        let e = 4e-7;
        let lines = vec![
            l(&[(0.0, 0.0), (10.0, 0.0)]),
            l(&[(10.0 + e, e), (10.0, 10.0)]),
            l(&[(10.0 - e, 10.0 + e), (0.0, 10.0)]),
            l(&[(0.0, 10.0 - e), (e, -e)]),
        ];
        let p = polygonize(&lines);
        assert_eq!(p.polygons.len(), 1);
        assert!((areas(&p)[0] - 100.0).abs() < 1e-4);
        assert_eq!(p.dangles, 0);
        // Snapped corners take the first end point seen: the ring holds the exact corners.
        assert!(
            p.polygons[0]
                .exterior()
                .0
                .contains(&Coord { x: 0.0, y: 0.0 })
        );
    }

    #[test]
    fn gaps_wider_than_the_tolerance_stay_open() {
        let lines = vec![
            l(&[(0.0, 0.0), (10.0, 0.0)]),
            l(&[(10.0, 0.001), (10.0, 10.0)]),
            l(&[(10.0, 10.0), (0.0, 10.0)]),
            l(&[(0.0, 10.0), (0.0, 0.0)]),
        ];
        let p = polygonize(&lines);
        assert!(p.polygons.is_empty());
        assert_eq!(p.dangles, 4);
    }

    #[test]
    fn the_tolerance_follows_the_extent() {
        assert_eq!(snap_tolerance(&[]), MIN_TOLERANCE);
        assert_eq!(snap_tolerance(&rect(0.0, 0.0, 1.0, 1.0)), 1e-6);
        // A 20 km sheet in Gauss–Krüger metres: 2 mm.
        let gk = rect(37_500_000.0, 2_400_000.0, 37_520_000.0, 2_410_000.0);
        assert!((snap_tolerance(&gk) - 2e-3).abs() < 1e-12);
    }

    #[test]
    fn large_projected_coordinates_keep_exact_areas() {
        let (x, y) = (37_512_345.0, 2_456_789.0);
        let mut lines = rect(x, y, x + 100.0, y + 50.0);
        lines.push(l(&[(x + 40.0, y), (x + 40.0, y + 50.0)]));
        let p = polygonize(&lines);
        assert_areas(&p, &[2000.0, 3000.0]);
    }

    #[test]
    fn degenerate_input_is_counted_not_fatal() {
        let lines = vec![
            Vec::new(),
            l(&[(1.0, 1.0)]),
            l(&[(2.0, 2.0), (2.0, 2.0)]),
            l(&[(f64::NAN, 0.0), (3.0, 3.0)]),
        ];
        let p = polygonize(&lines);
        assert!(p.polygons.is_empty());
        assert_eq!(p.dangles, 4);
        assert_eq!(polygonize(&[]).dangles, 0);
    }

    #[test]
    fn a_grid_of_long_lines_gives_every_cell() {
        // 51 horizontal and 51 vertical lines, each drawn in one piece: 2,601 crossings to
        // node and 50 × 50 unit cells.
        let n = 50;
        let mut lines = Vec::new();
        for i in 0..=n {
            let v = f64::from(i);
            lines.push(l(&[(0.0, v), (f64::from(n), v)]));
            lines.push(l(&[(v, 0.0), (v, f64::from(n))]));
        }
        let p = polygonize(&lines);
        assert_eq!(p.polygons.len(), 2500);
        assert!(areas(&p).iter().all(|a| (a - 1.0).abs() < 1e-9));
        assert_eq!(p.dangles, 0);
        assert_eq!(
            lower_left(&p.polygons[0].exterior().0),
            Coord { x: 0.0, y: 0.0 }
        );
        assert_eq!(
            lower_left(&p.polygons[1].exterior().0),
            Coord { x: 0.0, y: 1.0 }
        );
    }

    #[test]
    fn a_hundred_thousand_segments() {
        // 25,000 separate unit squares drawn as four lines each, then 25,000 free lines that
        // share no x range (the sweep must not recurse once per skipped segment).
        let mut lines = Vec::new();
        for i in 0..25_000 {
            let (x, y) = (f64::from(i % 160) * 2.0, f64::from(i / 160) * 2.0);
            lines.extend(rect(x, y, x + 1.0, y + 1.0));
        }
        let p = polygonize(&lines);
        assert_eq!(p.polygons.len(), 25_000);
        let free: Vec<Vec<Coord<f64>>> = (0..100_000)
            .map(|i| {
                let x = f64::from(i) * 3.0;
                l(&[(x, 0.0), (x + 1.0, 0.5)])
            })
            .collect();
        let p = polygonize(&free);
        assert!(p.polygons.is_empty());
        assert_eq!(p.dangles, 100_000);
    }
}
