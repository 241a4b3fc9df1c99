//! Dense multilinear polynomials over the boolean hypercube.
//!
//! ```text
//! field → [poly] → transcript → sumcheck / pcs → lookup → layers → prover / verifier
//! ```
//!
//! A vector `v` of length 2^n is the table of the unique multilinear `ṽ : EF^n → EF` with
//! `ṽ(x) = v[Σ_i x_i·2^i]` on `{0,1}^n`: **little-endian variable order**, variable 0 is the
//! least significant index bit. So for a row-major `rows × cols` matrix (both powers of two)
//! the low `log cols` variables select the column and the high ones the row.
//!
//! `ṽ(r) = Σ_x eq(r, x)·v[x]` with `eq(r, x) = Π_i (r_i·x_i + (1 − r_i)(1 − x_i))`.
//! Binding variable 0 to `r` maps `v` to `v'[j] = v[2j] + r·(v[2j+1] − v[2j])` (half length);
//! binding all variables in turn evaluates `ṽ(r)` in O(2^n) operations.
//!
//! Entries may be base-field (`F`: witnesses, weights) or extension-field (`EF`: after the
//! first challenge). Work splits over threads through `p3-maybe-rayon` (feature `parallel`);
//! every reduction is a field sum, which is associative and commutative, so results are
//! identical for any thread count.

use p3_maybe_rayon::prelude::*;
use zkinfer_field::p3_field::{Algebra, ExtensionField, Field};

/// Below this many output entries, work stays on one thread (task overhead dominates).
const PAR_THRESHOLD: usize = 1 << 12;

/// `log2(len)`, requiring a power of two.
///
/// # Panics
/// If `len` is not a power of two (a caller bug: tables are padded before they get here).
pub fn num_vars(len: usize) -> usize {
    assert!(
        len.is_power_of_two(),
        "MLE table length {len} is not a power of two"
    );
    len.trailing_zeros() as usize
}

/// The table of `eq(r, ·)` over `{0,1}^n`, `n = r.len()`, in little-endian order.
pub fn eq_table<EF: Field>(r: &[EF]) -> Vec<EF> {
    eq_table_scaled(r, EF::ONE)
}

/// The table of `scale · eq(r, ·)`.
pub fn eq_table_scaled<EF: Field>(r: &[EF], scale: EF) -> Vec<EF> {
    // Large tables: the outer product of the low and high halves' tables, one multiplication
    // per entry, split over threads (index = high·2^a + low, a = ⌈n/2⌉).
    if 1usize << r.len() >= 4 * PAR_THRESHOLD {
        let a = r.len().div_ceil(2);
        let lo = eq_table_scaled(&r[..a], scale);
        let hi = eq_table_scaled(&r[a..], EF::ONE);
        let mut out = vec![EF::ZERO; 1 << r.len()];
        out.par_chunks_mut(lo.len())
            .zip(hi.par_iter())
            .for_each(|(row, &h)| {
                for (o, &l) in row.iter_mut().zip(&lo) {
                    *o = l * h;
                }
            });
        return out;
    }
    let mut out = Vec::with_capacity(1 << r.len());
    out.push(scale);
    // Splitting on the last variable first leaves, after each step, a table whose index bit 0
    // is the most recently processed variable; going from r_{n-1} down to r_0 puts r_0 at bit 0.
    for &ri in r.iter().rev() {
        let len = out.len();
        out.resize(2 * len, EF::ZERO);
        // new[2j] = old[j]·(1−r), new[2j+1] = old[j]·r; iterate backwards to work in place.
        for j in (0..len).rev() {
            let v = out[j];
            let hi = v * ri;
            out[2 * j + 1] = hi;
            out[2 * j] = v - hi;
        }
    }
    out
}

/// `eq(a, b) = Π_i (a_i·b_i + (1 − a_i)(1 − b_i))`, in O(n).
pub fn eq_eval<EF: Field>(a: &[EF], b: &[EF]) -> EF {
    debug_assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let xy = x * y;
            xy.double() - x - y + EF::ONE
        })
        .product()
}

/// Binds variable 0 of a base- or extension-field table to `r`, returning the half-length table.
pub fn bind_low<T, EF>(evals: &[T], r: EF) -> Vec<EF>
where
    T: Field,
    EF: ExtensionField<T> + Algebra<T>,
{
    let half = evals.len() / 2;
    let f = |j: usize| {
        let (a, b) = (evals[2 * j], evals[2 * j + 1]);
        r * (b - a) + a
    };
    if half >= PAR_THRESHOLD {
        (0..half).into_par_iter().map(f).collect()
    } else {
        (0..half).map(f).collect()
    }
}

/// Binds variable 0 of an extension-field table to `r` in place (the table halves).
pub fn bind_low_in_place<EF: Field>(evals: &mut Vec<EF>, r: EF) {
    let half = evals.len() / 2;
    if half >= PAR_THRESHOLD {
        let next: Vec<EF> = (0..half)
            .into_par_iter()
            .map(|j| {
                let (a, b) = (evals[2 * j], evals[2 * j + 1]);
                (b - a) * r + a
            })
            .collect();
        *evals = next;
    } else {
        for j in 0..half {
            let (a, b) = (evals[2 * j], evals[2 * j + 1]);
            evals[j] = (b - a) * r + a;
        }
        evals.truncate(half);
    }
}

/// Evaluates the MLE of `evals` at `point` (`point.len() = log2(evals.len())`).
pub fn evaluate<T, EF>(evals: &[T], point: &[EF]) -> EF
where
    T: Field,
    EF: ExtensionField<T>,
{
    assert_eq!(
        1usize << point.len(),
        evals.len(),
        "point/table size mismatch"
    );
    let Some((&r0, rest)) = point.split_first() else {
        return EF::from(evals[0]);
    };
    let mut cur = bind_low(evals, r0);
    for &r in rest {
        bind_low_in_place(&mut cur, r);
    }
    cur[0]
}

/// Fixes the low `r.len()` variables of `evals` to `r`: returns the table over the remaining
/// high variables. For a row-major matrix this evaluates every row at a column point.
pub fn fix_low<T, EF>(evals: &[T], r: &[EF]) -> Vec<EF>
where
    T: Field,
    EF: ExtensionField<T>,
{
    let block = 1usize << r.len();
    assert!(
        evals.len().is_multiple_of(block) && evals.len() >= block,
        "fix_low: size mismatch"
    );
    let eq = eq_table(r);
    let f = |chunk: &[T]| -> EF { eq.iter().zip(chunk).map(|(&e, &v)| e * v).sum() };
    if evals.len() >= PAR_THRESHOLD {
        evals.par_chunks(block).map(f).collect()
    } else {
        evals.chunks(block).map(f).collect()
    }
}

/// Fixes the high `r.len()` variables of `evals` to `r`: returns the table over the remaining
/// low variables. For a row-major matrix this combines rows at a row point.
pub fn fix_high<T, EF>(evals: &[T], r: &[EF]) -> Vec<EF>
where
    T: Field,
    EF: ExtensionField<T>,
{
    let rows = 1usize << r.len();
    assert!(
        evals.len().is_multiple_of(rows) && evals.len() >= rows,
        "fix_high: size mismatch"
    );
    let width = evals.len() / rows;
    let eq = eq_table(r);
    let col = |c: usize| -> EF { (0..rows).map(|i| eq[i] * evals[i * width + c]).sum() };
    if width >= PAR_THRESHOLD {
        (0..width).into_par_iter().map(col).collect()
    } else {
        (0..width).map(col).collect()
    }
}

/// Pads `values` with zeros to the next power of two (at least 1).
pub fn pad_pow2<T: Field>(mut values: Vec<T>) -> Vec<T> {
    let n = values.len().max(1).next_power_of_two();
    values.resize(n, T::ZERO);
    values
}

#[cfg(test)]
mod tests;
