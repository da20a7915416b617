//! Deterministic randomness: a splitmix64 stream, keyed sub-streams and smooth 2-D fields.
//!
//! Every random decision is drawn from a stream keyed by *what* it decides (a purpose tag plus
//! the ids involved), never from one global stream, so a decision does not change when an
//! unrelated part of the generator draws more or fewer numbers, and parallel code gives the same
//! answer as sequential code.

use std::f64::consts::PI;

use geo::Coord;

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A key over the seed, a purpose tag and ids.
pub fn key(seed: u64, tag: u64, ids: &[u64]) -> u64 {
    let mut h = mix(seed ^ mix(tag));
    for id in ids {
        h = mix(h ^ id.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    }
    h
}

/// splitmix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, tag: u64, ids: &[u64]) -> Rng {
        Rng(key(seed, tag, ids))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Uniform in 0..n (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }

    /// Index drawn with the given non-negative weights (the last index when all are zero).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut t = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if t < *w {
                return i;
            }
            t -= w;
        }
        weights.len().saturating_sub(1)
    }
}

/// A smooth scalar field: a sum of plane waves with random directions, wavelengths and phases.
/// Its values lie in [-1, 1].
#[derive(Debug, Clone)]
pub struct Waves {
    terms: Vec<(f64, f64, f64, f64)>,
    norm: f64,
}

impl Waves {
    /// `n` waves with wavelengths in `[min_wl, max_wl]` metres.
    pub fn new(seed: u64, tag: u64, n: usize, min_wl: f64, max_wl: f64) -> Waves {
        let mut rng = Rng::new(seed, tag, &[]);
        let mut terms = Vec::with_capacity(n);
        let mut norm = 0.0;
        for _ in 0..n {
            let dir = rng.range(0.0, 2.0 * PI);
            let wl = rng.range(min_wl, max_wl);
            let k = 2.0 * PI / wl;
            let amp = rng.range(0.5, 1.0);
            let phase = rng.range(0.0, 2.0 * PI);
            terms.push((k * dir.cos(), k * dir.sin(), phase, amp));
            norm += amp;
        }
        Waves { terms, norm }
    }

    pub fn at(&self, p: Coord<f64>) -> f64 {
        if self.norm == 0.0 {
            return 0.0;
        }
        // Relative to a fixed origin so the phase arguments stay small and precise.
        let (x, y) = (p.x - ORIGIN.x, p.y - ORIGIN.y);
        let s: f64 = self
            .terms
            .iter()
            .map(|(kx, ky, ph, a)| a * (kx * x + ky * y + ph).sin())
            .sum();
        s / self.norm
    }

    /// The field mapped to [0, 1].
    pub fn unit(&self, p: Coord<f64>) -> f64 {
        (self.at(p) + 1.0) * 0.5
    }
}

/// The centre of the sample extent; waves are evaluated relative to it.
pub const ORIGIN: Coord<f64> = Coord {
    x: 590_000.0,
    y: 2_425_000.0,
};

/// A smooth displacement field: how one digitisation moves every true vertex. Vertices shared by
/// neighbouring features move together, so each layer stays a clean coverage.
#[derive(Debug, Clone)]
pub struct Displacement {
    base_x: Waves,
    base_y: Waves,
    base_amp: f64,
    /// Extra offset of this digitisation relative to the base (the disagreement between plans).
    offset: Option<(Waves, Waves, f64, f64)>,
}

impl Displacement {
    /// No displacement: the true geometry.
    pub fn none() -> Displacement {
        Displacement {
            base_x: Waves {
                terms: Vec::new(),
                norm: 0.0,
            },
            base_y: Waves {
                terms: Vec::new(),
                norm: 0.0,
            },
            base_amp: 0.0,
            offset: None,
        }
    }

    /// A base field of amplitude `amp` per axis.
    pub fn base(seed: u64, tag: u64, amp: f64) -> Displacement {
        Displacement {
            base_x: Waves::new(seed, tag, 3, 1_500.0, 6_000.0),
            base_y: Waves::new(seed, tag + 1, 3, 1_500.0, 6_000.0),
            base_amp: amp,
            offset: None,
        }
    }

    /// This field plus an offset whose length lies in `[min_len, max_len]` everywhere and whose
    /// direction turns smoothly: the distance between the two digitisations of a vertex is then
    /// bounded on both sides.
    pub fn with_offset(&self, seed: u64, tag: u64, min_len: f64, max_len: f64) -> Displacement {
        Displacement {
            base_x: self.base_x.clone(),
            base_y: self.base_y.clone(),
            base_amp: self.base_amp,
            offset: Some((
                Waves::new(seed, tag, 3, 2_000.0, 8_000.0),
                Waves::new(seed, tag + 1, 2, 3_000.0, 9_000.0),
                min_len,
                max_len,
            )),
        }
    }

    pub fn vector(&self, p: Coord<f64>) -> Coord<f64> {
        let mut d = Coord {
            x: self.base_amp * self.base_x.at(p),
            y: self.base_amp * self.base_y.at(p),
        };
        if let Some((len, dir, lo, hi)) = &self.offset {
            let l = lo + (hi - lo) * len.unit(p);
            let a = 2.0 * PI * dir.at(p);
            d.x += l * a.cos();
            d.y += l * a.sin();
        }
        d
    }

    pub fn apply(&self, p: Coord<f64>) -> Coord<f64> {
        let d = self.vector(p);
        Coord {
            x: p.x + d.x,
            y: p.y + d.y,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_keyed_and_reproducible() {
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Rng::new(1, 2, &[3]), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Rng::new(1, 2, &[3]), |r, _| Some(r.next_u64()))
            .collect();
        let c: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Rng::new(1, 2, &[4]), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn splitmix_matches_reference_vector() {
        // Reference values of splitmix64 seeded with 0 (Vigna's C implementation).
        let mut r = Rng(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn uniform_values_stay_in_range() {
        let mut r = Rng::new(7, 1, &[]);
        for _ in 0..10_000 {
            let v = r.f64();
            assert!((0.0..1.0).contains(&v));
            assert!(r.below(5) < 5);
        }
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn offset_length_is_bounded() {
        let base = Displacement::base(5, 10, 1.5);
        let b = base.with_offset(5, 20, 0.3, 2.5);
        let mut r = Rng::new(5, 99, &[]);
        for _ in 0..2_000 {
            let p = Coord {
                x: r.range(560_000.0, 620_000.0),
                y: r.range(2_400_000.0, 2_450_000.0),
            };
            let (pa, pb) = (base.apply(p), b.apply(p));
            let d = ((pa.x - pb.x).powi(2) + (pa.y - pb.y).powi(2)).sqrt();
            assert!((0.3 - 1e-9..=2.5 + 1e-9).contains(&d), "offset {d}");
            let v = base.vector(p);
            assert!(v.x.abs() <= 1.5 + 1e-9 && v.y.abs() <= 1.5 + 1e-9);
        }
    }
}
