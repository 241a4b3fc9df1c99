//! A constant matrix operand packed once for many products with few rows.
//!
//! [`super::gemm::GemmPlan`] gathers and narrows B on every call, and `i64::gemm` scans both
//! operands for their largest value first: amortised over many A rows that is cheap, but a
//! one-row product (a generation step, `quant::rows`) then reads every weight three times as
//! i64 to use it once. [`PackedB`] does that work once per weight: B's rows for each output
//! column stored contiguously as i16 with their bound, so a product reads 2 bytes per weight.
//!
//! Exactness: the product is the same wrapping i64 sum as [`super::linear::einsum`] — the i16
//! path applies only when every product of an A value and a B value, summed `steps` at a time,
//! fits an i32 ([`super::gemm::i16_steps`]); otherwise [`PackedB::product`] returns None and
//! the caller runs the general kernel.

use std::thread;

use super::gemm::{dot_i16, extent, i16_steps};
use super::linear::EinsumExpr;

/// Multiply-adds below which one thread does the work.
const PARALLEL_MIN: usize = 1 << 18;

/// B of a plain product `out[t, o] = Σ_i A[t, i]·B[i, o]` (or `B[o, i]`), as `n` rows of `k`
/// i16 values (row `o` holds B's values for output column `o`, in `i` order).
#[derive(Clone, Debug)]
pub struct PackedB {
    n: usize,
    k: usize,
    max_abs: u64,
    data: Vec<i16>,
}

impl PackedB {
    /// Packs `b` (shape `sb`) for einsum `e` when `e` is a plain matrix product — A with labels
    /// `[t, i]`, B with `i` and `o` in either order, output `[t, o]` — and every value of `b`
    /// fits i16; None otherwise (the general kernel then applies).
    pub fn new(e: &EinsumExpr, b: &[i64], sb: &[usize]) -> Option<Self> {
        let (a, bl, out) = (e.inputs.first()?, e.inputs.get(1)?, &e.output);
        if e.inputs.len() != 2 || a.len() != 2 || bl.len() != 2 || out.len() != 2 || sb.len() != 2 {
            return None;
        }
        let (t, i, o) = (a[0], a[1], out[1]);
        if out[0] != t || t == i || o == i || o == t {
            return None;
        }
        // (rows of B along i, along o): strides of the two labels in B.
        let (k, n, si, so) = if bl[..] == [i, o] {
            (sb[0], sb[1], sb[1], 1)
        } else if bl[..] == [o, i] {
            (sb[1], sb[0], 1, sb[1])
        } else {
            return None;
        };
        if b.len() != k * n || k == 0 || n == 0 {
            return None;
        }
        // Columns shared among the cores; each narrows its columns and tracks their extent
        // (a column of the `io` layout strides through k rows of B, which stay in L2 for
        // the next columns of the same cache lines).
        let threads = thread::available_parallelism()
            .map_or(1, |t| t.get())
            .min(n);
        let share = n.div_ceil(threads);
        let mut data = vec![0i16; k * n];
        let pack = |c0: usize, chunk: &mut [i16]| -> (i64, i64) {
            let (mut lo, mut hi) = (0i64, 0i64);
            for (j, dst) in chunk.chunks_exact_mut(k).enumerate() {
                let col = c0 + j;
                for (r, d) in dst.iter_mut().enumerate() {
                    let x = b[r * si + col * so];
                    lo = lo.min(x);
                    hi = hi.max(x);
                    *d = x as i16;
                }
            }
            (lo, hi)
        };
        let (lo, hi) = thread::scope(|s| {
            let hs: Vec<_> = data
                .chunks_mut(share * k)
                .enumerate()
                .map(|(id, chunk)| s.spawn(move || pack(id * share, chunk)))
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .fold((0i64, 0i64), |(lo, hi), (l, h)| (lo.min(l), hi.max(h)))
        });
        if lo < i64::from(i16::MIN) || hi > i64::from(i16::MAX) {
            return None;
        }
        let max_abs = lo.unsigned_abs().max(hi.unsigned_abs());
        Some(PackedB {
            n,
            k,
            max_abs,
            data,
        })
    }

    /// Output columns (`o`).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Summed length (`i`).
    pub fn k(&self) -> usize {
        self.k
    }

    /// `A·B` for `a` of `m` rows of `k` (row-major `[m, k]`), row-major `[m, n]`; None when
    /// `a` has another length or values too wide for the i16 path with this B.
    pub fn product(&self, a: &[i64], m: usize) -> Option<Vec<i64>> {
        let (n, k) = (self.n, self.k);
        if a.len() != m.checked_mul(k)? {
            return None;
        }
        let (ma, fits) = extent(a);
        let steps = i16_steps(ma, self.max_abs).filter(|_| fits)?;
        let ap: Vec<i16> = a.iter().map(|&x| x as i16).collect();
        // Column-major result per share of columns: each B row is read once and dotted with
        // every A row while it is in cache.
        let columns = |cols: std::ops::Range<usize>| -> Vec<i64> {
            let mut res = Vec::with_capacity(cols.len() * m);
            for col in cols {
                let br = &self.data[col * k..(col + 1) * k];
                res.extend(ap.chunks_exact(k).map(|ar| dot_i16(ar, br, steps)));
            }
            res
        };
        let threads = if m * n * k < PARALLEL_MIN {
            1
        } else {
            thread::available_parallelism()
                .map_or(1, |t| t.get())
                .min(n)
                .max(1)
        };
        let share = n.div_ceil(threads);
        let parts: Vec<Vec<i64>> = if threads == 1 {
            vec![columns(0..n)]
        } else {
            thread::scope(|s| {
                let hs: Vec<_> = (0..threads)
                    .map(|id| s.spawn(move || columns(id * share..((id + 1) * share).min(n))))
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        let mut out = vec![0i64; m * n];
        let mut col = 0;
        for part in parts {
            for chunk in part.chunks_exact(m) {
                for (row, &v) in chunk.iter().enumerate() {
                    out[row * n + col] = v;
                }
                col += 1;
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::linear::einsum;

    fn values(len: usize, seed: u64, bound: i64) -> Vec<i64> {
        let mut next = crate::kernels::test_stream(seed);
        (0..len).map(|_| next() % (2 * bound + 1) - bound).collect()
    }

    #[test]
    fn equals_the_general_kernel_in_both_layouts() {
        for expr in ["ti,io->to", "ti,oi->to"] {
            let e = EinsumExpr::parse(expr).unwrap();
            for (m, k, n) in [(1, 768, 300), (3, 37, 5), (32, 1000, 700)] {
                let sb = if expr == "ti,io->to" { [k, n] } else { [n, k] };
                // activations over all of i16 (its minimum included), 13-bit weights
                let mut a = values(m * k, 1, i64::from(i16::MAX));
                a[0] = i64::from(i16::MIN);
                let b = values(k * n, 2, 1 << 12);
                let p = PackedB::new(&e, &b, &sb).expect("packs");
                let want = einsum(&e, &a, &[m, k], &b, &sb, &[m, n]).unwrap();
                assert_eq!(p.product(&a, m).unwrap(), want, "{expr} {m}x{k}x{n}");
            }
        }
    }

    #[test]
    fn refuses_what_it_cannot_compute_exactly() {
        let e = EinsumExpr::parse("ti,io->to").unwrap();
        // a weight outside i16
        assert!(PackedB::new(&e, &[1 << 16, 0], &[2, 1]).is_none());
        // activations too wide for the i16 path: the caller falls back
        let p = PackedB::new(&e, &[1 << 12, 0], &[2, 1]).unwrap();
        assert!(p.product(&[1 << 20, 0], 1).is_none());
        assert!(p.product(&[1, 2, 3], 1).is_none());
        // +2^15 is within the bound but not in i16 (it would wrap to -2^15)
        assert!(p.product(&[1 << 15, 0], 1).is_none());
        // not a plain product
        for expr in ["ti,oi->ot", "ti,ti->t", "bti,io->bto"] {
            let e = EinsumExpr::parse(expr).unwrap();
            assert!(PackedB::new(&e, &[0; 4], &[2, 2]).is_none(), "{expr}");
        }
    }
}
