//! The synthetic district: its outline, towns, planning areas, rivers, hills and villages, and
//! the "true" land use of every cell of the partition, including the seeded defects.
//!
//! Everything here is a function of the seed and the parcel count; the layers are different
//! digitisations of this one truth.

use std::collections::{BTreeSet, BinaryHeap};
use std::f64::consts::PI;

use geo::Coord;

use super::mesh::{Detail, Mesh, NONE};
use super::rng::{ORIGIN, Rng, Waves};
use super::{SampleError, SampleParams};

/// The sample extent (EPSG:4546): sites cover it all; the district lies well inside.
pub const EXTENT: (f64, f64, f64, f64) = (560_000.0, 2_400_000.0, 620_000.0, 2_450_000.0);

/// Spacing of the rural cells (m).
const RURAL_SPACING: f64 = 700.0;
/// Width of the band in which cells grow from the urban to the rural size (m).
const TRANSITION: f64 = 1_000.0;

const TAG_SHAPE: u64 = 1;
const TAG_SITES: u64 = 2;
const TAG_TOWN_R: u64 = 3;
const TAG_HILL: u64 = 4;
const TAG_SECTOR: u64 = 5;
const TAG_RIVER: u64 = 7;
const TAG_VILLAGE: u64 = 8;
const TAG_CODE: u64 = 9;

/// A town (镇) of 阳东 with its seat and planning area.
#[derive(Debug, Clone, Copy)]
pub struct TownDef {
    pub name: &'static str,
    /// 9-digit township code (441704 + 1xx for 镇).
    pub code: &'static str,
    /// Pinyin initials, the prefix of 控规 parcel numbers.
    pub abbr: &'static str,
    pub seat: (f64, f64),
    /// Mean radius of the 控规 planning area (m).
    pub plan_r: f64,
    /// Whether this town's 土规 data writes 管制区 sub-codes (011/012/021).
    pub subcodes: bool,
    /// 控规 approval: 批准文号 and date.
    pub approval: (&'static str, &'static str),
}

pub const TOWNS: [TownDef; 8] = [
    TownDef {
        name: "东城镇",
        code: "441704100",
        abbr: "DC",
        seat: (582_000.0, 2_416_000.0),
        plan_r: 4_500.0,
        subcodes: false,
        approval: ("阳东府函〔2018〕56号（样例）", "2018-06-28"),
    },
    TownDef {
        name: "北惯镇",
        code: "441704101",
        abbr: "BG",
        seat: (576_000.0, 2_432_000.0),
        plan_r: 1_900.0,
        subcodes: false,
        approval: ("阳东府函〔2017〕112号（样例）", "2017-11-20"),
    },
    TownDef {
        name: "那龙镇",
        code: "441704102",
        abbr: "NL",
        seat: (602_000.0, 2_433_000.0),
        plan_r: 2_000.0,
        subcodes: true,
        approval: ("阳东府函〔2018〕23号（样例）", "2018-03-09"),
    },
    TownDef {
        name: "东平镇",
        code: "441704103",
        abbr: "DP",
        seat: (601_000.0, 2_414_000.0),
        plan_r: 2_100.0,
        subcodes: false,
        approval: ("阳东府函〔2019〕8号（样例）", "2019-01-25"),
    },
    TownDef {
        name: "雅韶镇",
        code: "441704104",
        abbr: "YS",
        seat: (591_000.0, 2_412_000.0),
        plan_r: 1_700.0,
        subcodes: false,
        approval: ("阳东府函〔2017〕87号（样例）", "2017-09-14"),
    },
    TownDef {
        name: "大沟镇",
        code: "441704105",
        abbr: "DG",
        seat: (573_000.0, 2_422_000.0),
        plan_r: 1_700.0,
        subcodes: true,
        approval: ("阳东府函〔2018〕91号（样例）", "2018-10-16"),
    },
    TownDef {
        name: "新洲镇",
        code: "441704106",
        abbr: "XZ",
        seat: (607_000.0, 2_424_000.0),
        plan_r: 1_800.0,
        subcodes: false,
        approval: ("阳东府函〔2019〕30号（样例）", "2019-04-02"),
    },
    TownDef {
        name: "合山镇",
        code: "441704107",
        abbr: "HS",
        seat: (588_000.0, 2_437_000.0),
        plan_r: 1_800.0,
        subcodes: false,
        approval: ("阳东府函〔2018〕140号（样例）", "2018-12-21"),
    },
];

/// Special areas of 东城镇 (offsets from its seat, radius).
pub const HISTORIC: ((f64, f64), f64, f64) = ((200.0, -300.0), 450.0, 750.0);
pub const PARK: ((f64, f64), f64) = ((2_200.0, -900.0), 1_000.0);
pub const NEW_DISTRICT: ((f64, f64), f64) = ((-1_500.0, 1_700.0), 1_000.0);
pub const RESERVOIR: ((f64, f64), f64) = ((597_000.0, 2_438_000.0), 1_000.0);

pub const RIVERS: [(&str, f64); 3] = [
    ("寿长河", 580_500.0),
    ("雅韶河", 590_000.0),
    ("那龙河", 604_500.0),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Land {
    Urban,
    Water,
    Reservoir,
    Farm,
    Forest,
    Village,
    Mining,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    None,
    HistoricCore,
    HistoricBuffer,
    Park,
    NewDistrict,
}

/// The seeded defect clusters (cell ids).
#[derive(Debug, Clone, Default)]
pub struct Seeds {
    /// 控规 construction where 土规 says 030 限制建设区.
    pub on_030: Vec<u32>,
    /// 控规 construction where 土规 says 040 禁止建设区.
    pub on_040: Vec<u32>,
    /// 控规 construction where 土规 says 020 有条件建设区.
    pub on_020: Vec<u32>,
    /// 控规 E2 where 土规 says 010 允许建设区.
    pub e2_on_010: Vec<u32>,
    /// 控规 construction inside 永久基本农田.
    pub on_farmland: Vec<u32>,
    /// 控规 construction outside 城镇开发边界 (besides `on_farmland`).
    pub outside_boundary: Vec<u32>,
}

impl Seeds {
    pub fn all(&self) -> impl Iterator<Item = &u32> {
        self.on_030
            .iter()
            .chain(&self.on_040)
            .chain(&self.on_020)
            .chain(&self.e2_on_010)
            .chain(&self.on_farmland)
            .chain(&self.outside_boundary)
    }
}

/// A river as x(y), sampled for distance queries.
#[derive(Debug, Clone)]
pub struct River {
    pub name: &'static str,
    x0: f64,
    a: (f64, f64, f64),
    b: (f64, f64, f64),
}

impl River {
    pub fn x_at(&self, y: f64) -> f64 {
        let t = y - ORIGIN.y;
        self.x0
            + self.a.0 * (t / self.a.1 + self.a.2).sin()
            + self.b.0 * (t / self.b.1 + self.b.2).sin()
    }

    fn slope(&self, y: f64) -> f64 {
        let t = y - ORIGIN.y;
        self.a.0 / self.a.1 * (t / self.a.1 + self.a.2).cos()
            + self.b.0 / self.b.1 * (t / self.b.1 + self.b.2).cos()
    }

    /// Distance from `p` to the river's centre line (first-order in the slope, ample for
    /// classifying cells).
    pub fn distance(&self, p: Coord<f64>) -> f64 {
        let s = self.slope(p.y);
        (p.x - self.x_at(p.y)).abs() / (1.0 + s * s).sqrt()
    }
}

/// Everything the layers are cut from.
#[derive(Debug)]
pub struct World {
    pub seed: u64,
    pub mesh: Mesh,
    /// Spacing of the 控规 cells (m).
    pub s0: f64,
    pub merge: usize,
    pub detail: Detail,
    pub district: Vec<bool>,
    pub town: Vec<u32>,
    pub plan: Vec<bool>,
    /// Distance to the own town seat relative to the planning radius in that direction.
    pub dn: Vec<f64>,
    /// Distance outside the nearest planning-area outline (m); negative inside.
    pub beyond: Vec<f64>,
    pub land: Vec<Land>,
    /// GB 50137 code of every 控规 cell ("" elsewhere).
    pub code: Vec<&'static str>,
    pub special: Vec<Special>,
    pub hill: Vec<f64>,
    pub rivers: Vec<River>,
    pub villages: Vec<(Coord<f64>, f64)>,
    pub seeds: Seeds,
    shape: [(f64, f64); 3],
    coast: [f64; 2],
    town_r: Vec<[(f64, f64); 2]>,
}

fn hypot(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

pub fn c(x: f64, y: f64) -> Coord<f64> {
    Coord { x, y }
}

pub fn seat(t: usize) -> Coord<f64> {
    let (x, y) = TOWNS[t].seat;
    c(x, y)
}

fn smoothstep(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Geography that exists before the partition: outline, planning radii, spacing.
struct Frame {
    shape: [(f64, f64); 3],
    coast: [f64; 2],
    town_r: Vec<[(f64, f64); 2]>,
}

impl Frame {
    fn new(seed: u64) -> Frame {
        let mut r = Rng::new(seed, TAG_SHAPE, &[]);
        let shape = [
            (0.08, r.range(0.0, 2.0 * PI)),
            (0.06, r.range(0.0, 2.0 * PI)),
            (0.04, r.range(0.0, 2.0 * PI)),
        ];
        let coast = [r.range(0.0, 2.0 * PI), r.range(0.0, 2.0 * PI)];
        let town_r = (0..TOWNS.len())
            .map(|t| {
                let mut r = Rng::new(seed, TAG_TOWN_R, &[t as u64]);
                [
                    (0.13, r.range(0.0, 2.0 * PI)),
                    (0.08, r.range(0.0, 2.0 * PI)),
                ]
            })
            .collect();
        Frame {
            shape,
            coast,
            town_r,
        }
    }

    fn in_district(&self, p: Coord<f64>) -> bool {
        in_district(&self.shape, &self.coast, p)
    }

    /// (normalised distance, metres beyond the outline) of `p` relative to town `t`'s planning
    /// area.
    fn plan_dist(&self, t: usize, p: Coord<f64>) -> (f64, f64) {
        plan_dist(&self.town_r[t], t, p)
    }

    /// Metres beyond the nearest planning-area outline (negative inside one).
    fn beyond(&self, p: Coord<f64>) -> f64 {
        (0..TOWNS.len())
            .map(|t| self.plan_dist(t, p).1)
            .fold(f64::INFINITY, f64::min)
    }

    fn spacing(&self, p: Coord<f64>, s0: f64, sr: f64) -> f64 {
        let e = self.beyond(p);
        if e <= 0.0 {
            s0
        } else {
            s0 + (sr - s0) * smoothstep(e / TRANSITION)
        }
    }

    /// Area of the planning areas inside the district, by sampling a 25 m grid.
    fn plan_area(&self) -> f64 {
        let step = 25.0;
        let mut n = 0usize;
        for (t, town) in TOWNS.iter().enumerate() {
            let r = town.plan_r * 1.2;
            let k = (r / step).ceil() as i64;
            let s = seat(t);
            for j in -k..=k {
                for i in -k..=k {
                    let p = c(s.x + i as f64 * step, s.y + j as f64 * step);
                    if self.plan_dist(t, p).0 <= 1.0 && self.in_district(p) && nearest_town(p) == t
                    {
                        n += 1;
                    }
                }
            }
        }
        n as f64 * step * step
    }
}

fn district_radius(shape: &[(f64, f64); 3], theta: f64) -> f64 {
    let k = [2.0, 3.0, 5.0];
    1.0 + shape
        .iter()
        .zip(k)
        .map(|((a, ph), k)| a * (k * theta + ph).sin())
        .sum::<f64>()
}

fn coast_y(coast: &[f64; 2], x: f64) -> f64 {
    let t = x - ORIGIN.x;
    2_405_500.0 + 1_200.0 * (t / 3_500.0 + coast[0]).sin() + 500.0 * (t / 1_300.0 + coast[1]).sin()
}

fn in_district(shape: &[(f64, f64); 3], coast: &[f64; 2], p: Coord<f64>) -> bool {
    let (dx, dy) = ((p.x - ORIGIN.x) / 23_500.0, (p.y - ORIGIN.y) / 19_500.0);
    let theta = dy.atan2(dx);
    dx.hypot(dy) <= district_radius(shape, theta) && p.y > coast_y(coast, p.x)
}

fn plan_dist(r: &[(f64, f64); 2], t: usize, p: Coord<f64>) -> (f64, f64) {
    let s = seat(t);
    let d = hypot(p, s);
    let theta = (p.y - s.y).atan2(p.x - s.x);
    let radius = TOWNS[t].plan_r
        * (1.0 + r[0].0 * (2.0 * theta + r[0].1).sin() + r[1].0 * (3.0 * theta + r[1].1).sin());
    (d / radius, d - radius)
}

/// The town whose seat is nearest.
pub fn nearest_town(p: Coord<f64>) -> usize {
    (0..TOWNS.len())
        .min_by(|a, b| hypot(p, seat(*a)).total_cmp(&hypot(p, seat(*b))))
        .unwrap_or(0)
}

/// Jittered grids of decreasing spacing, each kept where the target spacing matches its level
/// and away from the points of coarser levels.
fn sites(frame: &Frame, seed: u64, s0: f64) -> Vec<Coord<f64>> {
    let sr = RURAL_SPACING.max(s0);
    let levels = (sr / s0).log2().ceil().max(0.0) as i32;
    let ratio = if levels == 0 {
        1.0
    } else {
        (sr / s0).powf(1.0 / f64::from(levels))
    };
    let (x0, y0, x1, y1) = EXTENT;
    let coarse = sr;
    let mut accepted: Vec<Coord<f64>> = Vec::new();
    let mut bucket: std::collections::HashMap<(i64, i64), Vec<Coord<f64>>> = Default::default();
    let key = |p: Coord<f64>| {
        (
            ((p.x - x0) / coarse).floor() as i64,
            ((p.y - y0) / coarse).floor() as i64,
        )
    };
    // Beyond this distance from every seat the target spacing is the rural one.
    let reach: Vec<(Coord<f64>, f64)> = (0..TOWNS.len())
        .map(|t| (seat(t), (TOWNS[t].plan_r * 1.25 + TRANSITION + sr).powi(2)))
        .collect();
    for k in (0..=levels).rev() {
        let h = s0 * ratio.powi(k);
        let (nx, ny) = (
            ((x1 - x0) / h).floor() as i64,
            ((y1 - y0) / h).floor() as i64,
        );
        let mut level_pts = Vec::new();
        for j in 0..ny {
            for i in 0..nx {
                if k < levels {
                    let centre = c(x0 + (i as f64 + 0.5) * h, y0 + (j as f64 + 0.5) * h);
                    let near = reach.iter().any(|(st, r2)| {
                        let (dx, dy) = (centre.x - st.x, centre.y - st.y);
                        dx * dx + dy * dy < *r2
                    });
                    if !near {
                        continue;
                    }
                }
                let mut r = Rng::new(seed, TAG_SITES, &[k as u64, i as u64, j as u64]);
                let p = c(
                    x0 + (i as f64 + 0.5 + r.range(-0.35, 0.35)) * h,
                    y0 + (j as f64 + 0.5 + r.range(-0.35, 0.35)) * h,
                );
                let target = frame.spacing(p, s0, sr);
                let level = if levels == 0 {
                    0
                } else {
                    ((target / s0).ln() / ratio.ln())
                        .round()
                        .clamp(0.0, f64::from(levels)) as i32
                };
                if level != k {
                    continue;
                }
                let (bi, bj) = key(p);
                let crowded = (-1..=1).any(|dj| {
                    (-1..=1).any(|di| {
                        bucket
                            .get(&(bi + di, bj + dj))
                            .is_some_and(|v| v.iter().any(|q| hypot(*q, p) < 0.55 * h))
                    })
                });
                if !crowded {
                    level_pts.push(p);
                }
            }
        }
        for p in level_pts {
            bucket.entry(key(p)).or_default().push(p);
            accepted.push(p);
        }
    }
    accepted
}

/// Dijkstra-ordered growth helper: pops the candidate nearest to the start.
#[derive(PartialEq)]
struct Near(f64, u32);
impl Eq for Near {}
impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Near {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

impl World {
    pub fn build(params: &SampleParams) -> Result<World, SampleError> {
        let seed = params.seed;
        let frame = Frame::new(seed);
        for (t, town) in TOWNS.iter().enumerate() {
            if !frame.in_district(seat(t)) {
                return Err(SampleError::Placement(format!(
                    "the seat of {} falls outside the district outline",
                    town.name
                )));
            }
        }
        let t0 = std::time::Instant::now();
        let plan_area = frame.plan_area();
        tracing::debug!("sample: plan area {:.2}s", t0.elapsed().as_secs_f64());
        // A little denser than the nominal count so the 控规 layer holds at least `parcels`.
        let s0 = (plan_area / (params.parcels as f64 * 1.02)).sqrt();
        let pts = sites(&frame, seed, s0);
        tracing::debug!("sample: sites {:.2}s", t0.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        let n_pts = pts.len();
        let mut mesh = Mesh::build(pts)?;
        tracing::info!(
            "sample: {n_pts} sites meshed in {:.2}s",
            t.elapsed().as_secs_f64()
        );
        let district_scale = params.parcels >= 50_000;
        let detail = Detail {
            max_points: params
                .edge_points
                .unwrap_or(if district_scale { 7 } else { 1 }),
            min_points: usize::from(district_scale),
            step: if district_scale { 0.06 * s0 } else { 0.3 * s0 },
            bend: 0.03,
        };
        mesh.densify(seed, detail)?;
        tracing::debug!("sample: densified {:.2}s", t0.elapsed().as_secs_f64());
        let merge = params
            .merge
            .unwrap_or(if district_scale { 1 } else { 10 })
            .max(1);
        let n = mesh.sites.len();

        let mut w = World {
            seed,
            mesh,
            s0,
            merge,
            detail,
            district: vec![false; n],
            town: vec![NONE; n],
            plan: vec![false; n],
            dn: vec![f64::INFINITY; n],
            beyond: vec![f64::INFINITY; n],
            land: vec![Land::Farm; n],
            code: vec![""; n],
            special: vec![Special::None; n],
            hill: vec![0.0; n],
            rivers: Vec::new(),
            villages: Vec::new(),
            seeds: Seeds::default(),
            shape: frame.shape,
            coast: frame.coast,
            town_r: frame.town_r.clone(),
        };
        w.outline(&frame)?;
        w.towns()?;
        tracing::debug!("sample: towns {:.2}s", t0.elapsed().as_secs_f64());
        w.plan_areas(&frame);
        w.natural();
        w.urban_codes();
        tracing::debug!("sample: classes {:.2}s", t0.elapsed().as_secs_f64());
        w.seed_defects()?;
        tracing::debug!("sample: seeds {:.2}s", t0.elapsed().as_secs_f64());
        Ok(w)
    }

    pub fn n(&self) -> usize {
        self.mesh.sites.len()
    }

    /// The planning radius of town `t` in direction `theta` (radians from east).
    pub fn plan_radius(&self, t: usize, theta: f64) -> f64 {
        let r = &self.town_r[t];
        TOWNS[t].plan_r
            * (1.0 + r[0].0 * (2.0 * theta + r[0].1).sin() + r[1].0 * (3.0 * theta + r[1].1).sin())
    }

    /// The district cell whose site is nearest to `p` (the cell containing `p`, up to the edge
    /// bends).
    pub fn cell_at(&self, p: Coord<f64>) -> Option<usize> {
        (0..self.n())
            .filter(|s| self.district[*s])
            .min_by(|a, b| hypot(self.site(*a), p).total_cmp(&hypot(self.site(*b), p)))
    }

    pub fn site(&self, s: usize) -> Coord<f64> {
        self.mesh.sites[s]
    }

    pub fn in_outline(&self, p: Coord<f64>) -> bool {
        in_district(&self.shape, &self.coast, p)
    }

    /// District cells: the connected set of cells whose sites lie inside the outline, with
    /// enclosed gaps filled so the district has no holes.
    fn outline(&mut self, frame: &Frame) -> Result<(), SampleError> {
        let n = self.n();
        let inside: Vec<bool> = (0..n)
            .map(|s| self.mesh.is_cell(s) && frame.in_district(self.site(s)))
            .collect();
        let start = (0..n)
            .filter(|s| inside[*s])
            .min_by(|a, b| hypot(self.site(*a), seat(0)).total_cmp(&hypot(self.site(*b), seat(0))))
            .ok_or_else(|| SampleError::Placement("no cell inside the district".into()))?;
        let mut district = vec![false; n];
        let mut stack = vec![start];
        district[start] = true;
        while let Some(s) = stack.pop() {
            for &t in &self.mesh.adj[s] {
                let t = t as usize;
                if inside[t] && !district[t] {
                    district[t] = true;
                    stack.push(t);
                }
            }
        }
        // Flood the outside from the hull; whatever it cannot reach is an enclosed gap.
        let mut outside = vec![false; n];
        let mut stack: Vec<usize> = (0..n).filter(|s| self.mesh.open[*s]).collect();
        for s in &stack {
            outside[*s] = true;
        }
        while let Some(s) = stack.pop() {
            for &t in &self.mesh.adj[s] {
                let t = t as usize;
                if !district[t] && !outside[t] {
                    outside[t] = true;
                    stack.push(t);
                }
            }
        }
        for s in 0..n {
            if !outside[s] && self.mesh.is_cell(s) {
                district[s] = true;
            }
            if district[s] && self.mesh.adj[s].iter().any(|t| self.mesh.open[*t as usize]) {
                return Err(SampleError::Placement(
                    "the district reaches the edge of the partition".into(),
                ));
            }
        }
        self.district = district;
        Ok(())
    }

    /// Towns: nearest seat, then every fragment cut off from its seat joins the neighbouring
    /// town it shares most edges with.
    fn towns(&mut self) -> Result<(), SampleError> {
        let n = self.n();
        for s in 0..n {
            if self.district[s] {
                self.town[s] = nearest_town(self.site(s)) as u32;
            }
        }
        for _ in 0..4 {
            let mut reached = vec![false; n];
            for (t, town) in TOWNS.iter().enumerate() {
                let start = (0..n)
                    .filter(|s| self.town[*s] == t as u32)
                    .min_by(|a, b| {
                        hypot(self.site(*a), seat(t)).total_cmp(&hypot(self.site(*b), seat(t)))
                    })
                    .ok_or_else(|| SampleError::Placement(format!("{} has no cells", town.name)))?;
                let mut stack = vec![start];
                reached[start] = true;
                while let Some(s) = stack.pop() {
                    for &u in &self.mesh.adj[s] {
                        let u = u as usize;
                        if self.town[u] == t as u32 && !reached[u] {
                            reached[u] = true;
                            stack.push(u);
                        }
                    }
                }
            }
            let stray: Vec<usize> = (0..n)
                .filter(|s| self.district[*s] && !reached[*s])
                .collect();
            if stray.is_empty() {
                return Ok(());
            }
            for s in stray {
                let mut votes = [0usize; TOWNS.len()];
                for &u in &self.mesh.adj[s] {
                    let tu = self.town[u as usize];
                    if tu != NONE && tu != self.town[s] {
                        votes[tu as usize] += 1;
                    }
                }
                if let Some((best, _)) = votes
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v > 0)
                    .max_by_key(|(i, v)| (**v, usize::MAX - i))
                {
                    self.town[s] = best as u32;
                }
            }
        }
        Err(SampleError::Placement(
            "town regions stay fragmented".into(),
        ))
    }

    fn plan_areas(&mut self, frame: &Frame) {
        for s in 0..self.n() {
            if !self.district[s] {
                continue;
            }
            let p = self.site(s);
            self.beyond[s] = frame.beyond(p);
            let t = self.town[s] as usize;
            let (dn, _) = frame.plan_dist(t, p);
            self.dn[s] = dn;
            self.plan[s] = dn <= 1.0;
        }
    }

    /// Rivers, the reservoir, hills, villages, mines and farmland.
    fn natural(&mut self) {
        let seed = self.seed;
        self.rivers = RIVERS
            .iter()
            .enumerate()
            .map(|(i, (name, x0))| {
                let mut r = Rng::new(seed, TAG_RIVER, &[i as u64]);
                River {
                    name,
                    x0: *x0,
                    a: (1_200.0, r.range(4_000.0, 5_500.0), r.range(0.0, 2.0 * PI)),
                    b: (450.0, r.range(1_400.0, 1_900.0), r.range(0.0, 2.0 * PI)),
                }
            })
            .collect();
        let hill = Waves::new(seed, TAG_HILL, 5, 6_000.0, 18_000.0);
        // Villages on a jittered 3.2 km grid, away from the planning areas.
        let (x0, y0, x1, y1) = EXTENT;
        let vs = 3_200.0;
        for j in 0..((y1 - y0) / vs) as i64 {
            for i in 0..((x1 - x0) / vs) as i64 {
                let mut r = Rng::new(seed, TAG_VILLAGE, &[i as u64, j as u64]);
                let p = c(
                    x0 + (i as f64 + 0.5 + r.range(-0.3, 0.3)) * vs,
                    y0 + (j as f64 + 0.5 + r.range(-0.3, 0.3)) * vs,
                );
                let far = (0..TOWNS.len()).all(|t| plan_dist(&self.town_r[t], t, p).1 > 700.0);
                if self.in_outline(p) && far && hypot(p, c(RESERVOIR.0.0, RESERVOIR.0.1)) > 2_000.0
                {
                    self.villages.push((p, r.range(260.0, 420.0)));
                }
            }
        }
        let mines = [c(595_000.0, 2_431_000.0), c(571_000.0, 2_428_000.0)];
        let reservoir = c(RESERVOIR.0.0, RESERVOIR.0.1);
        for s in 0..self.n() {
            if !self.district[s] {
                continue;
            }
            let p = self.site(s);
            let north = ((p.y - 2_415_000.0) / 30_000.0).clamp(0.0, 1.0);
            self.hill[s] = 0.6 * hill.unit(p) + 0.4 * north;
            let width = (0.55 * self.local_spacing(s)).max(35.0);
            self.land[s] = if hypot(p, reservoir) < RESERVOIR.1 {
                Land::Reservoir
            } else if self.rivers.iter().any(|r| r.distance(p) < width) {
                Land::Water
            } else if self.plan[s] {
                Land::Urban
            } else if mines.iter().any(|m| hypot(p, *m) < 550.0) {
                Land::Mining
            } else if self.villages.iter().any(|(v, r)| hypot(p, *v) < *r) {
                Land::Village
            } else if self.hill[s] > 0.56 {
                Land::Forest
            } else {
                Land::Farm
            };
        }
    }

    /// The mean distance to the neighbouring sites: the local cell size.
    pub fn local_spacing(&self, s: usize) -> f64 {
        let adj = &self.mesh.adj[s];
        if adj.is_empty() {
            return self.s0;
        }
        adj.iter()
            .map(|t| hypot(self.site(s), self.site(*t as usize)))
            .sum::<f64>()
            / adj.len() as f64
    }

    pub fn special_centre(&self, which: Special) -> Coord<f64> {
        let s = seat(0);
        let off = match which {
            Special::HistoricCore | Special::HistoricBuffer => HISTORIC.0,
            Special::Park => PARK.0,
            Special::NewDistrict => NEW_DISTRICT.0,
            Special::None => (0.0, 0.0),
        };
        c(s.x + off.0, s.y + off.1)
    }

    /// GB 50137 codes of the 控规 cells.
    fn urban_codes(&mut self) {
        let sector = Waves::new(self.seed, TAG_SECTOR, 4, 1_500.0, 4_000.0);
        let hc = self.special_centre(Special::HistoricCore);
        let pc = self.special_centre(Special::Park);
        let nc = self.special_centre(Special::NewDistrict);
        for s in 0..self.n() {
            if !self.plan[s] {
                continue;
            }
            let p = self.site(s);
            let dn = self.dn[s];
            if self.land[s] == Land::Water {
                self.code[s] = "E11";
                continue;
            }
            if self.town[s] == 0 && dn < 0.88 {
                self.special[s] = if hypot(p, hc) < HISTORIC.1 {
                    Special::HistoricCore
                } else if hypot(p, hc) < HISTORIC.2 {
                    Special::HistoricBuffer
                } else if hypot(p, pc) < PARK.1 {
                    Special::Park
                } else if hypot(p, nc) < NEW_DISTRICT.1 {
                    Special::NewDistrict
                } else {
                    Special::None
                };
            }
            let mut r = Rng::new(self.seed, TAG_CODE, &[s as u64]);
            let industrial = sector.unit(p) > 0.62;
            let table: &[(&'static str, f64)] = match self.special[s] {
                Special::HistoricCore => &[
                    ("R2/B1", 35.0),
                    ("B1", 20.0),
                    ("A7", 10.0),
                    ("R2", 25.0),
                    ("A2", 10.0),
                ],
                Special::Park => &[
                    ("M1", 45.0),
                    ("M2", 25.0),
                    ("W1", 15.0),
                    ("U12", 5.0),
                    ("S4", 5.0),
                    ("G2", 5.0),
                ],
                Special::NewDistrict => &[
                    ("R2", 40.0),
                    ("B1", 15.0),
                    ("B2", 10.0),
                    ("A33", 8.0),
                    ("A5", 5.0),
                    ("G1", 12.0),
                    ("S4", 4.0),
                    ("U11", 3.0),
                    ("R2/B1", 3.0),
                ],
                _ if dn >= 0.9 => &[("E2", 85.0), ("E13", 15.0)],
                _ if dn < 0.35 => &[
                    ("R2", 36.0),
                    ("B1", 16.0),
                    ("R2/B1", 5.0),
                    ("R2a", 3.0),
                    ("A1", 4.0),
                    ("A2", 3.0),
                    ("A33", 6.0),
                    ("A5", 3.0),
                    ("B2", 5.0),
                    ("G1", 8.0),
                    ("S3", 2.0),
                    ("S4", 2.0),
                    ("U21", 2.0),
                    ("U31", 1.0),
                ],
                _ if industrial && dn < 0.65 => &[
                    ("M1", 35.0),
                    ("M2", 20.0),
                    ("W1", 12.0),
                    ("W2", 5.0),
                    ("U12", 4.0),
                    ("U22", 2.0),
                    ("G2", 8.0),
                    ("S4", 4.0),
                    ("R2", 10.0),
                ],
                _ if dn < 0.65 => &[
                    ("R2", 45.0),
                    ("R2a", 5.0),
                    ("R1", 2.0),
                    ("B1", 8.0),
                    ("B2", 5.0),
                    ("A33", 6.0),
                    ("A5", 3.0),
                    ("G1", 8.0),
                    ("G2", 3.0),
                    ("S4", 3.0),
                    ("U11", 2.0),
                    ("U21", 2.0),
                    ("M1", 5.0),
                ],
                _ if industrial => &[
                    ("M1", 30.0),
                    ("M2", 20.0),
                    ("W1", 15.0),
                    ("U12", 4.0),
                    ("U21", 2.0),
                    ("G2", 10.0),
                    ("E2", 12.0),
                    ("S4", 4.0),
                    ("H14", 3.0),
                ],
                _ => &[
                    ("R2", 35.0),
                    ("M1", 15.0),
                    ("G2", 8.0),
                    ("A33", 5.0),
                    ("U22", 2.0),
                    ("U11", 3.0),
                    ("W1", 5.0),
                    ("R2a", 5.0),
                    ("E2", 12.0),
                    ("S4", 3.0),
                    ("H14", 7.0),
                ],
            };
            let weights: Vec<f64> = table.iter().map(|(_, w)| *w).collect();
            self.code[s] = table[r.weighted(&weights)].0;
        }
    }

    /// Grows a compact cluster of `size` 控规 cells of town `t` around the point at normalised
    /// distance `at` and angle `theta` from the seat, within the band `[lo, hi)`. When a river or
    /// the band's shape leaves too little room there, the next of twelve directions is tried; a
    /// cluster of at least a third of `size` (and 3) is accepted when no direction fits it all.
    fn cluster(
        &self,
        t: usize,
        at: f64,
        theta: f64,
        band: (f64, f64),
        size: usize,
        taken: &BTreeSet<u32>,
    ) -> Result<Vec<u32>, SampleError> {
        let ok = |u: usize| {
            self.plan[u]
                && self.town[u] == t as u32
                && self.dn[u] >= band.0
                && self.dn[u] < band.1
                && self.land[u] == Land::Urban
                && self.special[u] == Special::None
                && !taken.contains(&(u as u32))
                && self.mesh.adj[u].iter().all(|v| !taken.contains(v))
        };
        let s = seat(t);
        let mut best: Vec<u32> = Vec::new();
        for k in 0..12 {
            let th = theta + 2.0 * PI * f64::from(k) / 12.0;
            let r = at * self.plan_radius(t, th);
            let target = c(s.x + r * th.cos(), s.y + r * th.sin());
            let Some(start) = (0..self.n()).filter(|u| ok(*u)).min_by(|a, b| {
                hypot(self.site(*a), target).total_cmp(&hypot(self.site(*b), target))
            }) else {
                break;
            };
            let origin = self.site(start);
            let mut heap = BinaryHeap::new();
            let mut seen = BTreeSet::new();
            heap.push(Near(0.0, start as u32));
            seen.insert(start as u32);
            let mut out = Vec::new();
            while let Some(Near(_, u)) = heap.pop() {
                out.push(u);
                if out.len() == size {
                    break;
                }
                for &v in &self.mesh.adj[u as usize] {
                    if ok(v as usize) && seen.insert(v) {
                        heap.push(Near(hypot(self.site(v as usize), origin), v));
                    }
                }
            }
            if out.len() > best.len() {
                best = out;
            }
            if best.len() == size {
                break;
            }
        }
        if best.len() < size.div_ceil(3).max(3) {
            return Err(SampleError::Placement(format!(
                "a seeded cluster in {} found only {} of {size} cells",
                TOWNS[t].name,
                best.len()
            )));
        }
        best.sort_unstable();
        Ok(best)
    }

    fn seed_defects(&mut self) -> Result<(), SampleError> {
        let mut taken = BTreeSet::new();
        let grab = |w: &World,
                    t: usize,
                    at: f64,
                    theta: f64,
                    band: (f64, f64),
                    size: usize,
                    taken: &mut BTreeSet<u32>| {
            let v = w.cluster(t, at, theta, band, size, taken)?;
            taken.extend(v.iter().copied());
            Ok::<_, SampleError>(v)
        };
        let on_030 = grab(self, 1, 0.75, PI / 4.0, (0.55, 0.88), 30, &mut taken)?;
        let on_040 = grab(self, 2, 0.72, -PI / 2.0, (0.55, 0.88), 20, &mut taken)?;
        let on_020 = grab(self, 3, 0.75, PI, (0.55, 0.88), 25, &mut taken)?;
        let e2_on_010 = grab(self, 6, 0.75, PI / 2.0, (0.55, 0.88), 5, &mut taken)?;
        let on_farmland = grab(self, 7, 0.8, -PI / 4.0, (0.7, 0.88), 12, &mut taken)?;
        let outside_boundary = grab(self, 4, 0.95, 3.0 * PI / 4.0, (0.9, 1.0), 15, &mut taken)?;
        for (i, s) in on_030.iter().enumerate() {
            self.code[*s as usize] = if i % 3 == 2 { "M2" } else { "M1" };
        }
        for s in &on_040 {
            self.code[*s as usize] = "R2";
        }
        for (i, s) in on_020.iter().enumerate() {
            self.code[*s as usize] = if i % 2 == 0 { "M1" } else { "W1" };
        }
        for s in &e2_on_010 {
            self.code[*s as usize] = "E2";
        }
        for s in &on_farmland {
            self.code[*s as usize] = "R2";
        }
        for s in &outside_boundary {
            self.code[*s as usize] = "M1";
        }
        self.seeds = Seeds {
            on_030,
            on_040,
            on_020,
            e2_on_010,
            on_farmland,
            outside_boundary,
        };
        Ok(())
    }

    /// Whether a 控规 code is construction land (GB 50137: everything but E).
    pub fn is_construction(code: &str) -> bool {
        !code.is_empty() && !code.starts_with('E')
    }
}
