//! Tensor layouts: compact row-major entries vs per-dimension power-of-two padding.
//!
//! A tensor's *compact* table is its row-major values, zero-extended at the tail to a power of
//! two; every weighted claim lives there. Its *padded* layout pads each dimension to a power of
//! two, so that each dimension owns a block of MLE variables: the last dimension the lowest
//! (little-endian), the first the highest. Bilinear layers (einsum, convolution) need padded
//! layouts to fold dimensions independently.

use crate::{EF, F};
use zkinfer_field::p3_field::PrimeCharacteristicRing;
use zkinfer_poly::eq_table;

/// `⌈log2 n⌉` (0 for n ≤ 1).
pub fn log2_ceil(n: usize) -> usize {
    n.max(1).next_power_of_two().trailing_zeros() as usize
}

/// Number of variables of a compact table of `n` entries.
pub fn compact_vars(n: usize) -> usize {
    log2_ceil(n)
}

/// A tensor shape with each dimension padded to a power of two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Padded {
    /// Real sizes.
    pub dims: Vec<usize>,
}

impl Padded {
    /// The padded layout of `dims`.
    pub fn new(dims: &[usize]) -> Self {
        Self {
            dims: dims.to_vec(),
        }
    }

    /// Variables of dimension `d`.
    pub fn dim_vars(&self, d: usize) -> usize {
        log2_ceil(self.dims[d])
    }

    /// Total variables.
    pub fn num_vars(&self) -> usize {
        (0..self.dims.len()).map(|d| self.dim_vars(d)).sum()
    }

    /// Padded index of every compact (row-major) index.
    pub fn map(&self) -> Vec<usize> {
        let n: usize = self.dims.iter().product();
        let mut out = Vec::with_capacity(n);
        let r = self.dims.len();
        let mut idx = vec![0usize; r];
        let shifts: Vec<usize> = (0..r)
            .map(|d| ((d + 1)..r).map(|e| self.dim_vars(e)).sum())
            .collect();
        for _ in 0..n {
            out.push(idx.iter().zip(&shifts).map(|(i, s)| i << s).sum());
            for d in (0..r).rev() {
                idx[d] += 1;
                if idx[d] < self.dims[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        out
    }

    /// Padded index of compact (row-major) index `i` (`map()[i]` without building the map).
    pub fn pad_index(&self, mut i: usize) -> usize {
        let (mut out, mut shift) = (0, 0);
        for d in (0..self.dims.len()).rev() {
            let n = self.dims[d].max(1);
            out |= (i % n) << shift;
            i /= n;
            shift += self.dim_vars(d);
        }
        out
    }

    /// The padded table of compact values (zeros in padding).
    pub fn pad<T: Copy + Default>(&self, compact: &[T]) -> Vec<T> {
        let mut out = vec![T::default(); 1 << self.num_vars()];
        for (i, p) in self.map().into_iter().enumerate() {
            if let Some(&v) = compact.get(i) {
                out[p] = v;
            }
        }
        out
    }

    /// [`Padded::pad`] written into `out` (zeroed, `2^num_vars` entries) through `f`, one
    /// contiguous row of the last dimension at a time: no index map, no second table.
    pub fn pad_into<S: Copy, T>(&self, compact: &[S], out: &mut [T], f: impl Fn(S) -> T) {
        let row = self.dims.last().copied().unwrap_or(1).max(1);
        let n: usize = self.dims.iter().product();
        for (ri, chunk) in compact[..n.min(compact.len())].chunks(row).enumerate() {
            let at = self.pad_index(ri * row);
            for (o, &v) in out[at..at + chunk.len()].iter_mut().zip(chunk) {
                *o = f(v);
            }
        }
    }

    /// The full point from one point per dimension (dimension order).
    pub fn point(&self, per_dim: &[Vec<EF>]) -> Vec<EF> {
        per_dim.iter().rev().flatten().copied().collect()
    }

    /// Splits a full point into one point per dimension.
    pub fn split(&self, point: &[EF]) -> Vec<Vec<EF>> {
        let mut out = vec![Vec::new(); self.dims.len()];
        let mut at = 0;
        for d in (0..self.dims.len()).rev() {
            let k = self.dim_vars(d);
            out[d] = point[at..at + k].to_vec();
            at += k;
        }
        out
    }

    /// Compact weights of the point claim `T_padded(point)`: `W[i] = eq(point, pad(i))`.
    pub fn compact_weights(&self, point: &[EF]) -> Vec<EF> {
        let eq = eq_table(point);
        self.map().into_iter().map(|p| eq[p]).collect()
    }

    /// Scatters compact weights into the padded table.
    pub fn pad_weights(&self, w: &[EF]) -> Vec<EF> {
        self.pad(w)
    }
}

/// `eq(point, ·)` at single indices without the `2^n` table: the outer product of the tables of
/// the point's low and high halves, `2^⌈n/2⌉ + 2^⌊n/2⌋` entries, one multiplication per lookup.
/// This is how the verifier evaluates a sparse weight table at a sumcheck's final point.
pub struct EqAt {
    lo: Vec<EF>,
    hi: Vec<EF>,
    bits: usize,
}

impl EqAt {
    /// The split tables of `eq(point, ·)`.
    pub fn new(point: &[EF]) -> Self {
        let bits = point.len().div_ceil(2);
        Self {
            lo: eq_table(&point[..bits]),
            hi: eq_table(&point[bits..]),
            bits,
        }
    }

    /// `eq(point, i)`; zero for an index past the hypercube.
    pub fn at(&self, i: usize) -> EF {
        let lo = self.lo[i & ((1 << self.bits) - 1)];
        self.hi.get(i >> self.bits).map_or(EF::ZERO, |&h| lo * h)
    }
}

/// Compact weights of a point claim on a compact table of `n` entries: `eq(point, i)`, i < n.
pub fn eq_prefix(point: &[EF], n: usize) -> Vec<EF> {
    let mut eq = eq_table(point);
    eq.truncate(n);
    eq
}

/// `Σ_{i ≥ n} eq(point, i)`: the weight a compact point claim puts on tail padding.
pub fn eq_tail(point: &[EF], n: usize) -> EF {
    EF::ONE - eq_head(point, n)
}

/// `Σ_{i < n} eq(point, i)` in `O(|point|)`, without the table: walking `n`'s bits from the top
/// (bit k ↔ `point[k]`), each 1-bit of `n` adds the block of indices that agree with `n` above
/// bit k and have a 0 there (the lower variables sum to 1 over their whole block).
pub fn eq_head(point: &[EF], n: usize) -> EF {
    if point.len() < usize::BITS as usize && n >> point.len() != 0 {
        return EF::ONE;
    }
    let (mut sum, mut prefix) = (EF::ZERO, EF::ONE);
    for (k, &r) in point.iter().enumerate().rev() {
        if k < usize::BITS as usize && (n >> k) & 1 == 1 {
            sum += prefix * (EF::ONE - r);
            prefix *= r;
        } else {
            prefix *= EF::ONE - r;
        }
    }
    sum
}

/// Zero-extends base-field values to a power of two.
pub fn pad_base(values: &[i64], fill: i64) -> Vec<F> {
    let n = 1usize << compact_vars(values.len());
    let mut out: Vec<F> = values
        .iter()
        .map(|&v| zkinfer_field::from_signed(v))
        .collect();
    out.resize(n, zkinfer_field::from_signed(fill));
    out
}

/// Zero-extends extension weights to a power of two.
pub fn pad_ext(w: &[EF]) -> Vec<EF> {
    let mut out = w.to_vec();
    out.resize(1 << compact_vars(w.len()), EF::ZERO);
    out
}

/// `Σ_i w[i]·v[i]`.
pub fn dot(w: &[EF], v: &[i64]) -> EF {
    w.iter()
        .zip(v)
        .map(|(&w, &v)| w * EF::from(zkinfer_field::from_signed::<F>(v)))
        .sum()
}

/// The transpose of a gather: `out[map[i]] += w[i]` for mapped `i`.
pub fn scatter(w: &[EF], map: &[Option<usize>], n: usize) -> Vec<EF> {
    let mut out = vec![EF::ZERO; n];
    for (i, m) in map.iter().enumerate() {
        if let (Some(j), Some(&wi)) = (m, w.get(i)) {
            if let Some(o) = out.get_mut(*j) {
                *o += wi;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_field::p3_field::PrimeCharacteristicRing;

    #[test]
    fn padded_map_and_split() {
        let l = Padded::new(&[3, 5]);
        assert_eq!(l.num_vars(), 2 + 3);
        let m = l.map();
        assert_eq!(m[0], 0);
        assert_eq!(m[4], 4);
        assert_eq!(m[5], 8);
        let p: Vec<EF> = (0..5).map(|i| EF::from_u64(i + 2)).collect();
        let parts = l.split(&p);
        assert_eq!(parts[1].len(), 3);
        assert_eq!(l.point(&parts), p);
        for (i, &pi) in m.iter().enumerate() {
            assert_eq!(l.pad_index(i), pi);
        }
    }

    #[test]
    fn pad_into_matches_pad() {
        for dims in [
            vec![],
            vec![1],
            vec![5],
            vec![3, 5],
            vec![2, 3, 7],
            vec![4, 1, 3],
        ] {
            let l = Padded::new(&dims);
            let n: usize = dims.iter().product();
            let compact: Vec<i64> = (0..n as i64).map(|i| 3 * i - 7).collect();
            let mut out = vec![0i64; 1 << l.num_vars()];
            l.pad_into(&compact, &mut out, |v| v);
            assert_eq!(out, l.pad(&compact), "dims {dims:?}");
        }
    }

    #[test]
    fn eq_head_and_tail_match_the_table() {
        for nv in 0..6 {
            let p: Vec<EF> = (0..nv).map(|i| EF::from_u64(7 * i as u64 + 3)).collect();
            let t = eq_table(&p);
            for n in 0..=(1usize << nv) + 2 {
                let head: EF = t.iter().take(n).copied().sum();
                assert_eq!(eq_head(&p, n), head, "nv {nv} n {n}");
                assert_eq!(eq_tail(&p, n), EF::ONE - head, "nv {nv} n {n}");
            }
        }
    }

    #[test]
    fn split_eq_matches_the_table() {
        for n in 0..6 {
            let p: Vec<EF> = (0..n).map(|i| EF::from_u64(3 * i as u64 + 5)).collect();
            let (t, at) = (eq_table(&p), EqAt::new(&p));
            for (i, &v) in t.iter().enumerate() {
                assert_eq!(at.at(i), v);
            }
            assert_eq!(at.at(t.len()), EF::ZERO);
        }
    }
}
