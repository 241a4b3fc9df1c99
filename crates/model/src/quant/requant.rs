//! Requantization `y = clamp(⌊(M·acc + 2^(s−1)) / 2^s⌋, lo, hi)` (round half up), with one
//! multiplier per tensor, per channel of an axis, or per element.

use serde::{Deserialize, Serialize};

/// Which multiplier applies to an output element.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequantIndex {
    /// One multiplier for the whole tensor.
    Tensor,
    /// Multiplier `c` for elements whose index along this output axis is `c`.
    Axis(usize),
    /// One multiplier per output element (e.g. average pool with varying divisors).
    Element,
}

/// Integer requantization relation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requant {
    /// Multipliers M (see [`RequantIndex`]).
    pub multipliers: Vec<i64>,
    /// Right shift s.
    pub shift: u32,
    /// How output elements pick their multiplier.
    pub index: RequantIndex,
    /// Clamp low.
    pub lo: i64,
    /// Clamp high.
    pub hi: i64,
}

/// Bits of precision kept in requantization multipliers.
pub const MULT_BITS: u32 = 15;

impl Requant {
    /// Builds a requantization approximating `acc · ratios[c]` with a common shift.
    ///
    /// The shift is capped at [`super::bounds::max_requant_shift`] of the activation width
    /// (read off `hi`): a larger shift would let a wrapped-around output pass the range checks
    /// (issue 11). Tiny ratios then keep fewer bits of precision in `M` (a ratio below
    /// `2^−(cap+1)` rounds to `M = 0`: its output is 0, which is the correctly rounded result
    /// for accumulators below `2^(cap − MULT_BITS)`… and the fidelity report shows the rest).
    pub fn from_ratios(ratios: &[f64], index: RequantIndex, lo: i64, hi: i64) -> Self {
        let max = ratios.iter().fold(0.0f64, |m, r| m.max(r.abs()));
        let act_bits = (hi.max(0) as u64 + 1).next_power_of_two().trailing_zeros() + 1;
        let cap = f64::from(super::bounds::max_requant_shift(act_bits));
        let shift = if max > 0.0 && max.is_finite() {
            (f64::from(MULT_BITS) - 1.0 - max.log2().floor()).clamp(0.0, cap) as u32
        } else {
            0
        };
        let scale = 2f64.powi(shift as i32);
        let multipliers = ratios
            .iter()
            .map(|r| {
                if r.is_finite() {
                    (r * scale).round().clamp(-(2f64.powi(40)), 2f64.powi(40)) as i64
                } else {
                    0
                }
            })
            .collect();
        Requant {
            multipliers,
            shift,
            index,
            lo,
            hi,
        }
    }

    /// Single-ratio requantization.
    pub fn from_ratio(ratio: f64, lo: i64, hi: i64) -> Self {
        Self::from_ratios(&[ratio], RequantIndex::Tensor, lo, hi)
    }

    /// Identity (M = 1, s = 0) with clamping.
    pub fn identity(lo: i64, hi: i64) -> Self {
        Requant {
            multipliers: vec![1],
            shift: 0,
            index: RequantIndex::Tensor,
            lo,
            hi,
        }
    }

    /// Applies the relation to `acc` with multiplier `m` (wrapping arithmetic).
    #[inline]
    pub fn apply_with(&self, acc: i64, m: i64) -> i64 {
        let v = acc.wrapping_mul(m);
        let v = if self.shift == 0 {
            v
        } else {
            v.wrapping_add(1i64 << (self.shift - 1)) >> self.shift
        };
        v.clamp(self.lo, self.hi)
    }

    /// Multiplier of the output element at flat index `flat` of a tensor of shape `shape`.
    pub fn multiplier(&self, flat: usize, shape: &[usize]) -> i64 {
        let k = match self.index {
            RequantIndex::Tensor => 0,
            RequantIndex::Element => flat,
            RequantIndex::Axis(a) => {
                let inner: usize = shape.get(a + 1..).map(|s| s.iter().product()).unwrap_or(1);
                let d = shape.get(a).copied().unwrap_or(1).max(1);
                (flat / inner.max(1)) % d
            }
        };
        self.multipliers.get(k).copied().unwrap_or(0)
    }

    /// Applies to a whole tensor of `shape`.
    pub fn apply_all(&self, acc: &[i64], shape: &[usize]) -> Vec<i64> {
        acc.iter()
            .enumerate()
            .map(|(i, &a)| self.apply_with(a, self.multiplier(i, shape)))
            .collect()
    }

    /// The first element whose exact result `⌊(M·acc + 2^(s−1))/2^s⌋` lies outside
    /// `[lo, hi]` (where [`Self::apply_all`] clamps), with that result.
    pub fn first_saturation(&self, acc: &[i64], shape: &[usize]) -> Option<(usize, i128)> {
        let half: i128 = if self.shift > 0 {
            1i128 << (self.shift - 1)
        } else {
            0
        };
        acc.iter().enumerate().find_map(|(i, &a)| {
            let v = (i128::from(self.multiplier(i, shape)) * i128::from(a) + half)
                >> self.shift.min(126);
            (v < i128::from(self.lo) || v > i128::from(self.hi)).then_some((i, v))
        })
    }

    /// Largest |M|.
    pub fn max_multiplier(&self) -> i64 {
        self.multipliers.iter().map(|m| m.abs()).max().unwrap_or(0)
    }
}
