//! The "true" land partition: Voronoi cells of variable-density jittered sites, held as a
//! topology (vertices, edges, cells) so that every feature built from it shares vertices
//! exactly with its neighbours.
//!
//! Every Voronoi edge is densified once, deterministically from its own key, so both cells on
//! its sides get identical intermediate vertices. Unions of cells (towns, 土规 zones, control
//! lines) are traced from the edges whose two sides belong to different groups, so they are exact
//! too: no overlay, no snapping.

use std::collections::BTreeMap;

use geo::coordinate_position::CoordPos;
use geo::{Coord, CoordinatePosition, LineString, MultiPolygon, Polygon};
use rayon::prelude::*;
use spade::handles::FixedVertexHandle;
use spade::{DelaunayTriangulation, HasPosition, Point2, Triangulation};

use super::SampleError;
use super::rng::Rng;

/// Voronoi edges shorter than this are collapsed into one vertex: nearly cocircular sites make
/// circumcentres a rounding error apart, which would otherwise give spikes.
const MIN_EDGE: f64 = 0.05;

/// Sentinel for "no group" in group labels.
pub const NONE: u32 = u32::MAX;

const TAG_DENSIFY: u64 = 0x44_454E;

/// One traversal of an edge by a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Half {
    pub edge: u32,
    /// True when the cell traverses the edge from `from` to `to`.
    pub forward: bool,
}

/// A Voronoi edge between two cells. The cell `left` lies to the left of `from → to`.
#[derive(Debug, Clone)]
pub struct Edge {
    pub from: u32,
    pub to: u32,
    pub left: u32,
    pub right: u32,
    /// Intermediate vertices from `from` to `to`.
    pub pts: Vec<Coord<f64>>,
}

/// How edges are densified.
#[derive(Debug, Clone, Copy)]
pub struct Detail {
    /// Most intermediate vertices on one edge.
    pub max_points: usize,
    /// Fewest intermediate vertices on an edge long enough to take them.
    pub min_points: usize,
    /// Target spacing of intermediate vertices (m).
    pub step: f64,
    /// Largest sideways bend of an intermediate vertex, as a fraction of the edge length.
    pub bend: f64,
}

#[derive(Debug)]
pub struct Mesh {
    pub sites: Vec<Coord<f64>>,
    pub verts: Vec<Coord<f64>>,
    pub edges: Vec<Edge>,
    /// Per site: the cell's edges counter-clockwise; empty for cells on the hull.
    pub cells: Vec<Vec<Half>>,
    /// Per site: neighbouring sites across an edge of positive length, ascending.
    pub adj: Vec<Vec<u32>>,
    /// Per site: whether its Voronoi cell reaches the unbounded outside.
    pub open: Vec<bool>,
}

#[derive(Debug, Clone, Copy)]
struct SiteV {
    p: Point2<f64>,
}

impl HasPosition for SiteV {
    type Scalar = f64;
    fn position(&self) -> Point2<f64> {
        self.p
    }
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn dist(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

impl Mesh {
    /// The Voronoi topology of `sites`.
    pub fn build(sites: Vec<Coord<f64>>) -> Result<Mesh, SampleError> {
        let input: Vec<SiteV> = sites
            .iter()
            .map(|c| SiteV {
                p: Point2::new(c.x, c.y),
            })
            .collect();
        let dt = DelaunayTriangulation::<SiteV>::bulk_load_stable(input)
            .map_err(|e| SampleError::Mesh(format!("Delaunay triangulation: {e:?}")))?;
        if dt.num_vertices() != sites.len() {
            return Err(SampleError::Mesh(format!(
                "{} duplicate sites",
                sites.len() - dt.num_vertices()
            )));
        }
        let n_faces = dt.all_faces().len();
        let mut centre: Vec<Option<Coord<f64>>> = vec![None; n_faces];
        for f in dt.inner_faces() {
            let c = f.circumcenter();
            centre[f.fix().index()] = Some(Coord { x: c.x, y: c.y });
        }
        let open: Vec<bool> = dt
            .vertices()
            .map(|v| v.out_edges().any(|e| e.face().is_outer()))
            .collect();

        // Collapse near-zero edges: union their two faces into one vertex.
        let mut parent: Vec<usize> = (0..n_faces).collect();
        for e in dt.undirected_edges() {
            let d = e.as_directed();
            let (l, r) = (d.face().fix().index(), d.rev().face().fix().index());
            if let (Some(a), Some(b)) = (centre[l], centre[r])
                && dist(a, b) < MIN_EDGE
            {
                let (ra, rb) = (find(&mut parent, l), find(&mut parent, r));
                if ra != rb {
                    parent[ra.max(rb)] = ra.min(rb);
                }
            }
        }
        let mut vid: Vec<u32> = vec![NONE; n_faces];
        let mut sums: Vec<(Coord<f64>, f64)> = Vec::new();
        for f in 0..n_faces {
            let Some(c) = centre[f] else { continue };
            let root = find(&mut parent, f);
            if vid[root] == NONE {
                vid[root] = sums.len() as u32;
                sums.push((Coord { x: 0.0, y: 0.0 }, 0.0));
            }
            vid[f] = vid[root];
            let s = &mut sums[vid[f] as usize];
            s.0.x += c.x;
            s.0.y += c.y;
            s.1 += 1.0;
        }
        let verts: Vec<Coord<f64>> = sums
            .iter()
            .map(|(c, n)| Coord {
                x: c.x / n,
                y: c.y / n,
            })
            .collect();

        let n = sites.len();
        let mut edges = Vec::new();
        let mut edge_of: Vec<u32> = vec![NONE; dt.num_undirected_edges()];
        let mut adj: Vec<Vec<u32>> = vec![Vec::new(); n];
        for e in dt.undirected_edges() {
            let mut d = e.as_directed();
            if d.from().fix().index() > d.to().fix().index() {
                d = d.rev();
            }
            let (s, t) = (d.from().fix().index(), d.to().fix().index());
            if open[s] && open[t] {
                continue;
            }
            let (l, r) = (d.face(), d.rev().face());
            if l.is_outer() || r.is_outer() {
                continue;
            }
            let (from, to) = (vid[r.fix().index()], vid[l.fix().index()]);
            if from == to {
                continue;
            }
            edge_of[e.fix().index()] = edges.len() as u32;
            edges.push(Edge {
                from,
                to,
                left: s as u32,
                right: t as u32,
                pts: Vec::new(),
            });
            adj[s].push(t as u32);
            adj[t].push(s as u32);
        }
        for a in &mut adj {
            a.sort_unstable();
        }

        let mut cells: Vec<Vec<Half>> = vec![Vec::new(); n];
        for (s, cell) in cells.iter_mut().enumerate() {
            if open[s] {
                continue;
            }
            let v = dt.vertex(FixedVertexHandle::from_index(s));
            for e in v.out_edges() {
                let id = edge_of[e.as_undirected().fix().index()];
                if id == NONE {
                    continue;
                }
                let t = e.to().fix().index();
                cell.push(Half {
                    edge: id,
                    forward: s < t,
                });
            }
        }
        let mesh = Mesh {
            sites,
            verts,
            edges,
            cells,
            adj,
            open,
        };
        for s in 0..n {
            if !mesh.open[s] {
                mesh.check_cell(s)?;
            }
        }
        Ok(mesh)
    }

    fn check_cell(&self, s: usize) -> Result<(), SampleError> {
        let cell = &self.cells[s];
        if cell.len() < 3 {
            return Err(SampleError::Mesh(format!(
                "cell {s} has {} edges after collapsing short ones",
                cell.len()
            )));
        }
        for (i, h) in cell.iter().enumerate() {
            let next = cell[(i + 1) % cell.len()];
            if self.end(*h) != self.start(next) {
                return Err(SampleError::Mesh(format!("cell {s} is not a closed ring")));
            }
        }
        Ok(())
    }

    /// The same topology with every coordinate moved by `f`: vertices shared by cells stay
    /// shared.
    pub fn displaced(&self, f: impl Fn(Coord<f64>) -> Coord<f64> + Sync) -> Mesh {
        Mesh {
            sites: self.sites.clone(),
            verts: self.verts.par_iter().map(|v| f(*v)).collect(),
            edges: self
                .edges
                .par_iter()
                .map(|e| Edge {
                    pts: e.pts.iter().map(|p| f(*p)).collect(),
                    ..e.clone()
                })
                .collect(),
            cells: self.cells.clone(),
            adj: self.adj.clone(),
            open: self.open.clone(),
        }
    }

    pub fn start(&self, h: Half) -> u32 {
        let e = &self.edges[h.edge as usize];
        if h.forward { e.from } else { e.to }
    }

    pub fn end(&self, h: Half) -> u32 {
        let e = &self.edges[h.edge as usize];
        if h.forward { e.to } else { e.from }
    }

    /// The cell on the other side of `h` from the cell traversing it.
    pub fn across(&self, h: Half) -> u32 {
        let e = &self.edges[h.edge as usize];
        if h.forward { e.right } else { e.left }
    }

    pub fn is_cell(&self, s: usize) -> bool {
        !self.open[s]
    }

    /// Appends the start vertex and intermediate vertices of `h`, in traversal order.
    fn push_half(&self, h: Half, out: &mut Vec<Coord<f64>>) {
        out.push(self.verts[self.start(h) as usize]);
        let e = &self.edges[h.edge as usize];
        if h.forward {
            out.extend(e.pts.iter().copied());
        } else {
            out.extend(e.pts.iter().rev().copied());
        }
    }

    /// The closed exterior ring of cell `s`, counter-clockwise.
    pub fn cell_ring(&self, s: usize) -> Vec<Coord<f64>> {
        let mut out = Vec::new();
        for h in &self.cells[s] {
            self.push_half(*h, &mut out);
        }
        if let Some(first) = out.first().copied() {
            out.push(first);
        }
        out
    }

    pub fn cell_polygon(&self, s: usize) -> Polygon<f64> {
        Polygon::new(LineString::from(self.cell_ring(s)), Vec::new())
    }

    /// Densifies every edge with sideways-bent intermediate vertices, then makes sure every cell
    /// is still a valid polygon: the edges of a cell that a bend made invalid (a sharp corner)
    /// are densified straight instead.
    pub fn densify(&mut self, seed: u64, detail: Detail) -> Result<(), SampleError> {
        let verts = &self.verts;
        let pts: Vec<Vec<Coord<f64>>> = self
            .edges
            .par_iter()
            .map(|e| bent_points(verts, e, seed, detail, true))
            .collect();
        for (e, p) in self.edges.iter_mut().zip(pts) {
            e.pts = p;
        }
        for _ in 0..4 {
            let bad: Vec<usize> = (0..self.sites.len())
                .into_par_iter()
                .filter(|s| self.is_cell(*s) && !ring_is_simple(&self.cell_ring(*s)))
                .collect();
            if bad.is_empty() {
                return Ok(());
            }
            for s in bad {
                for h in self.cells[s].clone() {
                    let e = &self.edges[h.edge as usize];
                    let straight = bent_points(&self.verts, e, seed, detail, false);
                    self.edges[h.edge as usize].pts = straight;
                }
            }
        }
        let bad: Vec<usize> = (0..self.sites.len())
            .filter(|s| self.is_cell(*s) && !ring_is_simple(&self.cell_ring(*s)))
            .collect();
        match bad.first() {
            None => Ok(()),
            Some(s) => Err(SampleError::Mesh(format!(
                "{} cells stay invalid after straightening (first: cell {s} at {:?})",
                bad.len(),
                self.sites[*s]
            ))),
        }
    }

    /// Traces the union of the cells of each group. `label[s]` is the group of cell `s`
    /// (`NONE` for none); every labelled cell must be a bounded cell. Returns one multipolygon per
    /// group id in `0..groups`.
    pub fn dissolve(&self, label: &[u32], groups: usize) -> Vec<MultiPolygon<f64>> {
        let mut boundary: Vec<Vec<Half>> = vec![Vec::new(); groups];
        let mut single: Vec<Option<u32>> = vec![None; groups];
        let mut count: Vec<usize> = vec![0; groups];
        for (s, g) in label.iter().enumerate() {
            if *g != NONE && (*g as usize) < groups {
                count[*g as usize] += 1;
                single[*g as usize] = Some(s as u32);
            }
        }
        for (i, e) in self.edges.iter().enumerate() {
            let (gl, gr) = (label[e.left as usize], label[e.right as usize]);
            if gl == gr {
                continue;
            }
            if gl != NONE && (gl as usize) < groups && count[gl as usize] > 1 {
                boundary[gl as usize].push(Half {
                    edge: i as u32,
                    forward: true,
                });
            }
            if gr != NONE && (gr as usize) < groups && count[gr as usize] > 1 {
                boundary[gr as usize].push(Half {
                    edge: i as u32,
                    forward: false,
                });
            }
        }
        boundary
            .into_par_iter()
            .enumerate()
            .map(|(g, halves)| match (count[g], single[g]) {
                (0, _) => MultiPolygon::new(Vec::new()),
                (1, Some(s)) => MultiPolygon::new(vec![self.cell_polygon(s as usize)]),
                _ => self.trace(&halves),
            })
            .collect()
    }

    /// The vertex after the start of `h` (an intermediate vertex or the end).
    fn second(&self, h: Half) -> Coord<f64> {
        let e = &self.edges[h.edge as usize];
        let p = if h.forward {
            e.pts.first()
        } else {
            e.pts.last()
        };
        p.copied().unwrap_or(self.verts[self.end(h) as usize])
    }

    /// The vertex before the end of `h`.
    fn penultimate(&self, h: Half) -> Coord<f64> {
        let e = &self.edges[h.edge as usize];
        let p = if h.forward {
            e.pts.last()
        } else {
            e.pts.first()
        };
        p.copied().unwrap_or(self.verts[self.start(h) as usize])
    }

    /// Chains boundary halves into rings and nests the holes.
    fn trace(&self, halves: &[Half]) -> MultiPolygon<f64> {
        let mut by_start: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (i, h) in halves.iter().enumerate() {
            by_start.entry(self.start(*h)).or_default().push(i);
        }
        let mut used = vec![false; halves.len()];
        let mut rings: Vec<Vec<Coord<f64>>> = Vec::new();
        for first in 0..halves.len() {
            if used[first] {
                continue;
            }
            let mut chain: Vec<Half> = Vec::new();
            let mut cur = first;
            loop {
                used[cur] = true;
                let h = halves[cur];
                chain.push(h);
                let end = self.end(h);
                let candidates: Vec<usize> = by_start
                    .get(&end)
                    .map(|v| {
                        v.iter()
                            .copied()
                            .filter(|i| !used[*i] || *i == first)
                            .collect()
                    })
                    .unwrap_or_default();
                // At a pinch vertex (where collapsed edges made four or more cells meet) any
                // choice closes the rings; the sharpest left turn keeps them local, and rings
                // that still pass the vertex twice are split below.
                let next = match candidates.len() {
                    0 => None,
                    1 => Some(candidates[0]),
                    _ => {
                        let v = self.verts[end as usize];
                        let last = self.penultimate(h);
                        let din = (v.x - last.x, v.y - last.y);
                        candidates
                            .iter()
                            .copied()
                            .map(|i| {
                                let nxt = self.second(halves[i]);
                                let dout = (nxt.x - v.x, nxt.y - v.y);
                                let cross = din.0 * dout.1 - din.1 * dout.0;
                                let dot = din.0 * dout.0 + din.1 * dout.1;
                                (cross.atan2(dot), i)
                            })
                            .max_by(|a, b| a.0.total_cmp(&b.0))
                            .map(|(_, i)| i)
                    }
                };
                match next {
                    Some(n) if n != first && !used[n] => cur = n,
                    _ => break,
                }
            }
            for part in self.split_at_repeats(chain) {
                let mut ring = Vec::new();
                for h in &part {
                    self.push_half(*h, &mut ring);
                }
                if let Some(p) = ring.first().copied() {
                    ring.push(p);
                }
                rings.push(ring);
            }
        }
        assemble(rings)
    }

    /// Splits a closed chain that passes a vertex more than once into simple closed chains (a
    /// ring touching itself is invalid; two rings touching at a vertex are not).
    fn split_at_repeats(&self, chain: Vec<Half>) -> Vec<Vec<Half>> {
        let mut out = Vec::new();
        let mut path: Vec<Half> = Vec::with_capacity(chain.len());
        let mut at: BTreeMap<u32, usize> = BTreeMap::new();
        for h in chain {
            let v = self.start(h);
            if let Some(&i) = at.get(&v) {
                let cut: Vec<Half> = path.drain(i..).collect();
                for x in &cut {
                    at.remove(&self.start(*x));
                }
                out.push(cut);
            }
            at.insert(v, path.len());
            path.push(h);
        }
        if !path.is_empty() {
            out.push(path);
        }
        out
    }
}

/// Orientation of `c` relative to the line `a → b` (positive: left), computed relative to `a` so
/// the products stay small.
fn orient(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> f64 {
    (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
}

fn on_segment(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> bool {
    p.x >= a.x.min(b.x) && p.x <= a.x.max(b.x) && p.y >= a.y.min(b.y) && p.y <= a.y.max(b.y)
}

/// How two segments meet.
#[derive(Debug, PartialEq, Eq)]
enum Meet {
    Apart,
    /// Only at an endpoint both share.
    SharedEnd,
    /// Any other contact: a crossing, a touch in the interior, a collinear overlap.
    Other,
}

fn meet(p1: Coord<f64>, p2: Coord<f64>, q1: Coord<f64>, q2: Coord<f64>) -> Meet {
    let (o1, o2) = (orient(p1, p2, q1), orient(p1, p2, q2));
    let (o3, o4) = (orient(q1, q2, p1), orient(q1, q2, p2));
    if o1 * o2 < 0.0 && o3 * o4 < 0.0 {
        return Meet::Other;
    }
    let touches = (o1 == 0.0 && on_segment(p1, p2, q1))
        || (o2 == 0.0 && on_segment(p1, p2, q2))
        || (o3 == 0.0 && on_segment(q1, q2, p1))
        || (o4 == 0.0 && on_segment(q1, q2, p2));
    if !touches {
        return Meet::Apart;
    }
    let shared = [(p1, q1), (p1, q2), (p2, q1), (p2, q2)]
        .iter()
        .filter(|(a, b)| a == b)
        .count();
    let collinear = o1 == 0.0 && o2 == 0.0;
    if shared == 1 && !collinear {
        Meet::SharedEnd
    } else if shared == 1 {
        // Collinear and sharing one end: fine only when they lie on opposite sides of it.
        let (s, a, b) = if p1 == q1 || p1 == q2 {
            (p1, p2, if p1 == q1 { q2 } else { q1 })
        } else {
            (p2, p1, if p2 == q1 { q2 } else { q1 })
        };
        if (a.x - s.x) * (b.x - s.x) + (a.y - s.y) * (b.y - s.y) < 0.0 {
            Meet::SharedEnd
        } else {
            Meet::Other
        }
    } else {
        Meet::Other
    }
}

/// Segments of closed rings for a sweep: (ring, index, start, end).
type Seg = (usize, usize, Coord<f64>, Coord<f64>);

/// Checks that closed rings are simple and meet each other at single shared vertices at most:
/// a sweep over the segments sorted by their smallest x. Used to guard construction (the rings
/// are built to be valid; this catches a bend that broke one), far cheaper than a general
/// validity test.
pub fn rings_are_simple(rings: &[&[Coord<f64>]]) -> bool {
    let mut segs: Vec<Seg> = Vec::new();
    let mut lens = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        if ring.len() < 4 || ring.first() != ring.last() {
            return false;
        }
        lens.push(ring.len() - 1);
        for (i, w) in ring.windows(2).enumerate() {
            if w[0] == w[1] {
                return false;
            }
            segs.push((r, i, w[0], w[1]));
        }
    }
    segs.sort_by(|a, b| a.2.x.min(a.3.x).total_cmp(&b.2.x.min(b.3.x)));
    let mut active: Vec<usize> = Vec::new();
    for (k, s) in segs.iter().enumerate() {
        let xmin = s.2.x.min(s.3.x);
        active.retain(|a| segs[*a].2.x.max(segs[*a].3.x) >= xmin);
        for &a in &active {
            let t = &segs[a];
            if t.2.y.max(t.3.y) < s.2.y.min(s.3.y) || s.2.y.max(s.3.y) < t.2.y.min(t.3.y) {
                continue;
            }
            let adjacent = t.0 == s.0 && {
                let n = lens[s.0];
                (t.1 + 1) % n == s.1 || (s.1 + 1) % n == t.1
            };
            match meet(t.2, t.3, s.2, s.3) {
                Meet::Apart => {}
                Meet::SharedEnd if adjacent || t.0 != s.0 => {}
                _ => return false,
            }
        }
        active.push(k);
    }
    true
}

pub fn ring_is_simple(ring: &[Coord<f64>]) -> bool {
    rings_are_simple(&[ring])
}

/// The structural check of [`rings_are_simple`] over every ring of a multipolygon.
pub fn multipolygon_is_simple(mp: &MultiPolygon<f64>) -> bool {
    let rings: Vec<&[Coord<f64>]> =
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .map(|r| r.0.as_slice())
            .collect();
    !rings.is_empty() && rings_are_simple(&rings)
}

/// Shoelace area, positive for counter-clockwise rings.
pub fn signed_area(ring: &[Coord<f64>]) -> f64 {
    let mut s = 0.0;
    for w in ring.windows(2) {
        s += w[0].x * w[1].y - w[1].x * w[0].y;
    }
    s * 0.5
}

/// Rings (closed) → polygons: counter-clockwise rings are shells, the others holes of the
/// smallest shell that contains them.
fn assemble(rings: Vec<Vec<Coord<f64>>>) -> MultiPolygon<f64> {
    let mut shells: Vec<(f64, Polygon<f64>)> = Vec::new();
    let mut holes: Vec<LineString<f64>> = Vec::new();
    for r in rings {
        let a = signed_area(&r);
        if a > 0.0 {
            shells.push((a, Polygon::new(LineString::from(r), Vec::new())));
        } else if a < 0.0 {
            holes.push(LineString::from(r));
        }
    }
    shells.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut interiors: Vec<Vec<LineString<f64>>> = vec![Vec::new(); shells.len()];
    for h in holes {
        let owner = shells.iter().position(|(_, shell)| {
            let mut inside = false;
            for c in h.0.iter() {
                match shell.coordinate_position(c) {
                    CoordPos::Outside => return false,
                    CoordPos::Inside => inside = true,
                    _ => {}
                }
            }
            inside
        });
        if let Some(i) = owner {
            interiors[i].push(h);
        }
    }
    let mut polys: Vec<Polygon<f64>> = shells
        .into_iter()
        .zip(interiors)
        .map(|((_, p), ints)| Polygon::new(p.exterior().clone(), ints))
        .collect();
    // Largest first, so a feature's main part leads.
    polys.sort_by(|a, b| {
        let (aa, ab) = (signed_area(&a.exterior().0), signed_area(&b.exterior().0));
        ab.total_cmp(&aa)
    });
    MultiPolygon::new(polys)
}

/// Intermediate vertices of an edge: evenly spaced with a little slack, bent sideways by a
/// profile that vanishes at both ends (so corners keep their angles), all drawn from the edge's
/// own stream.
fn bent_points(
    verts: &[Coord<f64>],
    e: &Edge,
    seed: u64,
    detail: Detail,
    bend: bool,
) -> Vec<Coord<f64>> {
    let (a, b) = (verts[e.from as usize], verts[e.to as usize]);
    let len = dist(a, b);
    let mut rng = Rng::new(seed, TAG_DENSIFY, &[u64::from(e.left), u64::from(e.right)]);
    let fit = (len / detail.step).floor() as usize;
    let cap = fit.saturating_sub(1).min(detail.max_points);
    let lo = detail.min_points.min(cap);
    let n = lo + rng.below(cap - lo + 1);
    if n == 0 {
        return Vec::new();
    }
    let (ux, uy) = ((b.x - a.x) / len, (b.y - a.y) / len);
    let (nx, ny) = (-uy, ux);
    let amp = if bend { detail.bend * len } else { 0.0 };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = (i as f64 + 1.0 + rng.range(-0.25, 0.25)) / (n as f64 + 1.0);
        let side = rng.range(-1.0, 1.0) * amp * (std::f64::consts::PI * t).sin();
        out.push(Coord {
            x: a.x + ux * len * t + nx * side,
            y: a.y + uy * len * t + ny * side,
        });
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use geo::{Area, BooleanOps, Validation};

    #[test]
    fn simple_ring_check_agrees_with_hand_cases() {
        let sq = [
            c(0.0, 0.0),
            c(1.0, 0.0),
            c(1.0, 1.0),
            c(0.0, 1.0),
            c(0.0, 0.0),
        ];
        assert!(ring_is_simple(&sq));
        let bowtie = [
            c(0.0, 0.0),
            c(1.0, 1.0),
            c(1.0, 0.0),
            c(0.0, 1.0),
            c(0.0, 0.0),
        ];
        assert!(!ring_is_simple(&bowtie));
        // A spike: back along the previous segment.
        let spike = [
            c(0.0, 0.0),
            c(2.0, 0.0),
            c(1.0, 0.0),
            c(1.0, 1.0),
            c(0.0, 0.0),
        ];
        assert!(!ring_is_simple(&spike));
        // A ring touching itself at a vertex that is not its neighbour's.
        let pinch = [
            c(0.0, 0.0),
            c(2.0, 0.0),
            c(1.0, 1.0),
            c(2.0, 2.0),
            c(0.0, 2.0),
            c(1.0, 1.0),
            c(0.0, 0.0),
        ];
        assert!(!ring_is_simple(&pinch));
        // Two rings sharing one vertex are fine; sharing an edge is not.
        let a = [c(0.0, 0.0), c(1.0, 0.0), c(1.0, 1.0), c(0.0, 0.0)];
        let b = [c(1.0, 1.0), c(2.0, 1.0), c(2.0, 2.0), c(1.0, 1.0)];
        let d = [c(1.0, 0.0), c(2.0, 0.0), c(1.0, 1.0), c(1.0, 0.0)];
        assert!(rings_are_simple(&[&a, &b]));
        assert!(!rings_are_simple(&[&a, &d]));
    }

    /// A 5 × 5 grid of unit squares as a mesh (the outer ring of cells marked open), for
    /// configurations a jittered Voronoi diagram only produces rarely: four cells at a vertex.
    fn square_mesh() -> Mesh {
        let n = 5usize;
        let vid = |x: usize, y: usize| (y * (n + 1) + x) as u32;
        let cid = |x: usize, y: usize| y * n + x;
        let mut verts = Vec::new();
        for y in 0..=n {
            for x in 0..=n {
                verts.push(c(x as f64, y as f64));
            }
        }
        let mut edges = Vec::new();
        let mut right_of = vec![u32::MAX; n * n];
        let mut above = vec![u32::MAX; n * n];
        for y in 0..n {
            for x in 0..n {
                if x + 1 < n {
                    right_of[cid(x, y)] = edges.len() as u32;
                    edges.push(Edge {
                        from: vid(x + 1, y),
                        to: vid(x + 1, y + 1),
                        left: cid(x, y) as u32,
                        right: cid(x + 1, y) as u32,
                        pts: vec![],
                    });
                }
                if y + 1 < n {
                    above[cid(x, y)] = edges.len() as u32;
                    edges.push(Edge {
                        from: vid(x + 1, y + 1),
                        to: vid(x, y + 1),
                        left: cid(x, y) as u32,
                        right: cid(x, y + 1) as u32,
                        pts: vec![],
                    });
                }
            }
        }
        let mut cells = vec![Vec::new(); n * n];
        let mut open = vec![true; n * n];
        let mut adj = vec![Vec::new(); n * n];
        for y in 1..n - 1 {
            for x in 1..n - 1 {
                let i = cid(x, y);
                open[i] = false;
                cells[i] = vec![
                    Half {
                        edge: above[cid(x, y - 1)],
                        forward: false,
                    },
                    Half {
                        edge: right_of[i],
                        forward: true,
                    },
                    Half {
                        edge: above[i],
                        forward: true,
                    },
                    Half {
                        edge: right_of[cid(x - 1, y)],
                        forward: false,
                    },
                ];
                adj[i] = vec![
                    cid(x, y - 1) as u32,
                    cid(x - 1, y) as u32,
                    cid(x + 1, y) as u32,
                    cid(x, y + 1) as u32,
                ];
            }
        }
        let sites = (0..n * n)
            .map(|i| c((i % n) as f64 + 0.5, (i / n) as f64 + 0.5))
            .collect();
        Mesh {
            sites,
            verts,
            edges,
            cells,
            adj,
            open,
        }
    }

    #[test]
    fn unions_touching_at_a_vertex_stay_valid() {
        let m = square_mesh();
        let cid = |x: usize, y: usize| y * 5 + x;
        // Two diagonal cells: two squares touching at one corner.
        let mut label = vec![NONE; 25];
        label[cid(1, 1)] = 0;
        label[cid(2, 2)] = 0;
        let out = m.dissolve(&label, 1);
        assert_eq!(out[0].0.len(), 2);
        assert!((out[0].unsigned_area() - 2.0).abs() < 1e-12);
        assert!(out[0].is_valid(), "{:?}", out[0].validation_errors());
        assert!(multipolygon_is_simple(&out[0]));
        // The 3 × 3 block without its centre and its top-right corner: a hole touching the
        // shell's notch at one vertex.
        let mut label = vec![NONE; 25];
        for y in 1..4 {
            for x in 1..4 {
                label[cid(x, y)] = 0;
            }
        }
        label[cid(2, 2)] = NONE;
        label[cid(3, 3)] = NONE;
        let out = m.dissolve(&label, 1);
        assert_eq!(out[0].0.len(), 1);
        assert_eq!(out[0].0[0].interiors().len(), 1);
        assert!((out[0].unsigned_area() - 7.0).abs() < 1e-12);
        assert!(out[0].is_valid(), "{:?}", out[0].validation_errors());
        assert!(multipolygon_is_simple(&out[0]));
    }

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    fn grid_mesh() -> Mesh {
        let mut sites = Vec::new();
        let mut rng = Rng::new(3, 1, &[]);
        for j in 0..12 {
            for i in 0..12 {
                sites.push(Coord {
                    x: 100.0 * f64::from(i) + rng.range(-30.0, 30.0),
                    y: 100.0 * f64::from(j) + rng.range(-30.0, 30.0),
                });
            }
        }
        Mesh::build(sites).unwrap()
    }

    #[test]
    fn bounded_cells_tile_without_overlap() {
        let mut m = grid_mesh();
        m.densify(
            9,
            Detail {
                max_points: 4,
                min_points: 0,
                step: 10.0,
                bend: 0.04,
            },
        )
        .unwrap();
        let inner: Vec<usize> = (0..m.sites.len()).filter(|s| m.is_cell(*s)).collect();
        assert!(inner.len() > 80);
        for &s in &inner {
            let p = m.cell_polygon(s);
            assert!(p.is_valid());
            assert!(p.signed_area() > 0.0, "cells are counter-clockwise");
            for &t in &m.adj[s] {
                if m.is_cell(t as usize) {
                    let q = m.cell_polygon(t as usize);
                    assert!(p.intersection(&q).unsigned_area() < 1e-6);
                }
            }
        }
    }

    #[test]
    fn dissolve_equals_sum_of_cells_and_keeps_holes() {
        let m = grid_mesh();
        let inner: Vec<usize> = (0..m.sites.len()).filter(|s| m.is_cell(*s)).collect();
        // Group 0: a block of cells minus one in its middle (a hole); group 1: that middle cell.
        let centre = Coord { x: 550.0, y: 550.0 };
        let mid = *inner
            .iter()
            .min_by(|a, b| dist(m.sites[**a], centre).total_cmp(&dist(m.sites[**b], centre)))
            .unwrap();
        let mut label = vec![NONE; m.sites.len()];
        for &s in &inner {
            if dist(m.sites[s], centre) < 320.0 {
                label[s] = 0;
            }
        }
        label[mid] = 1;
        let out = m.dissolve(&label, 2);
        let cells_area: f64 = inner
            .iter()
            .filter(|s| label[**s] == 0)
            .map(|s| m.cell_polygon(*s).unsigned_area())
            .sum();
        assert_eq!(out[0].0.len(), 1);
        assert_eq!(out[0].0[0].interiors().len(), 1);
        assert!((out[0].unsigned_area() - cells_area).abs() < 1e-6);
        assert!(out[0].is_valid());
        // The hole is exactly the middle cell.
        let hole = Polygon::new(out[0].0[0].interiors()[0].clone(), Vec::new());
        assert!((hole.unsigned_area() - m.cell_polygon(mid).unsigned_area()).abs() < 1e-6);
        assert!((out[1].unsigned_area() - m.cell_polygon(mid).unsigned_area()).abs() < 1e-9);
    }
}
