//! The inner-product sumcheck `Σ_x f(x)·W(x)` for a weight that is a sum of scaled eq tables
//! placed in a stack — the PCS's claim batching — without ever materialising `W`.
//!
//! # Statement
//! `f` has `K` variables (base field). Each [`EqTerm`] `j` names a sub-cube of `f`: `k_j` low
//! variables starting at `offset_j` (a multiple of `2^{k_j}`), a point `z_j ∈ EF^{k_j}` and a
//! coefficient `c_j`, and
//!
//! ```text
//! W(x) = Σ_j c_j · eq(z_j, x_low) · [x_high = offset_j / 2^{k_j}]  =  Σ_j c_j · eq(ẑ_j, x),
//! ```
//!
//! where `ẑ_j ∈ EF^K` is `z_j` followed by the bits of `offset_j / 2^{k_j}` (boolean
//! coordinates). The prover writes exactly what [`crate::prove_inner_product`] writes for the
//! materialised `W` (and so what [`crate::prove`] writes for `[f, W]` with
//! `Composition::product(2)`): the round polynomial of a sumcheck is a function of the tables
//! alone, so [`crate::verify`] with degree 2 checks it and proofs are byte-identical.
//!
//! # Why
//! Round `i`'s polynomial factors per term: with `f_i` the table after binding `r_0 … r_{i−1}`,
//! `c_j^{(i)} = c_j·Π_{m<i} eq(ẑ_{j,m}, r_m)` and `A_{j,t} = Σ_{x'} f_i(t, x')·eq(ẑ_j[i+1..], x')`,
//!
//! ```text
//! h_i(t) = Σ_j c_j^{(i)} · eq(ẑ_{j,i}, t) · ((1 − t)·A_{j,0} + t·A_{j,1}),
//! ```
//!
//! and `eq(ẑ_j[i+1..], ·)` is zero off term `j`'s sub-cube, where it is the outer product of two
//! tables of `2^{⌈m/2⌉}` and `2^{⌊m/2⌋}` entries (`m` its remaining variables). So the prover
//! holds `f` (borrowed), the folded `f_1` (half as many extension elements) and tables of square
//! root size: for a stack of `2^K` entries that is ~`8·2^K` bytes instead of the `40·2^K` of
//! materialising `W` and folding both tables. Work: `Σ_j 2^{k_j+1}` multiply-adds for the
//! terms plus `2^K` for folding `f`.
//!
//! # Soundness
//! That of the sumcheck it reproduces: `2K / |EF|` (degree 2, `K` rounds).

use p3_maybe_rayon::prelude::*;
use zkinfer_field::p3_field::{Algebra, ExtensionField, Field, PrimeField64};
use zkinfer_poly::eq_table;
use zkinfer_transcript::ProverTranscript;

use crate::prover::ProverOutput;
use crate::verifier::{absorb_statement, interpolate_at};

/// Sub-cubes of at most this many remaining variables use one eq table (no outer product).
const SPLIT_VARS: usize = 12;
/// Entries per parallel task when folding.
const FOLD_CHUNK: usize = 1 << 12;

/// One term `c·eq(z, x_low)·[x_high = offset / 2^{|z|}]` of the weight (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EqTerm<EF> {
    /// The coefficient `c`.
    pub coeff: EF,
    /// The point `z` on the sub-cube's own variables (variable 0 first).
    pub point: Vec<EF>,
    /// Where the sub-cube starts in `f`: a multiple of `2^{|z|}`.
    pub offset: usize,
}

/// Term `j`'s coordinate for variable `i`: `z_{j,i}` inside its sub-cube, else the selector bit.
fn coord<EF: Field>(t: &EqTerm<EF>, i: usize) -> EF {
    match t.point.get(i) {
        Some(&z) => z,
        None if (t.offset >> i) & 1 == 1 => EF::ONE,
        None => EF::ZERO,
    }
}

/// `(A_0, A_1) = Σ_p eq(rest, p)·(f[2(p0+p)], f[2(p0+p)+1])` over `p < 2^{|rest|}`.
fn pair_sums<T, EF>(f: &[T], p0: usize, rest: &[EF]) -> [EF; 2]
where
    T: Field,
    EF: ExtensionField<T> + Algebra<T>,
{
    let f = &f[2 * p0..2 * p0 + (2usize << rest.len())];
    let dot = |lo: &[EF], fs: &[T]| {
        let mut s = [EF::ZERO; 2];
        for (&e, pair) in lo.iter().zip(fs.chunks_exact(2)) {
            s[0] += e * pair[0];
            s[1] += e * pair[1];
        }
        s
    };
    if rest.len() <= SPLIT_VARS {
        return dot(&eq_table(rest), f);
    }
    // eq(rest, h·2^a + l) = lo(l)·hi(h): one extension multiply per 2^a pairs for the high part.
    let a = rest.len().div_ceil(2);
    let (lo, hi) = (eq_table(&rest[..a]), eq_table(&rest[a..]));
    f.par_chunks(2 << a)
        .zip(hi.par_iter())
        .map(|(fs, &h)| {
            let [s0, s1] = dot(&lo, fs);
            [s0 * h, s1 * h]
        })
        .reduce(|| [EF::ZERO; 2], |x, y| [x[0] + y[0], x[1] + y[1]])
}

/// `(h(0), h(1), h(2))` of round `i` for table `f` (= `f_i`) and the terms' current coefficients.
fn round_sums<T, EF>(f: &[T], terms: &[EqTerm<EF>], coeffs: &[EF], i: usize) -> [EF; 3]
where
    T: Field,
    EF: ExtensionField<T> + Algebra<T>,
{
    let mut h = [EF::ZERO; 3];
    for (t, &c) in terms.iter().zip(coeffs) {
        let rest = t.point.get(i + 1..).unwrap_or(&[]);
        let [a0, a1] = pair_sums(f, t.offset >> (i + 1), rest);
        let z = coord(t, i);
        // eq(z, t) at t = 0, 1, 2: 1 − z, z, 3z − 1; f at t = 2: 2·A_1 − A_0.
        h[0] += c * (EF::ONE - z) * a0;
        h[1] += c * z * a1;
        h[2] += c * (z.double() + z - EF::ONE) * (a1.double() - a0);
    }
    h
}

/// `f(r, ·)`: binds variable 0 of `f` to `r`.
fn fold<T, EF>(f: &[T], r: EF) -> Vec<EF>
where
    T: Field,
    EF: ExtensionField<T> + Algebra<T>,
{
    let mut out = vec![EF::ZERO; f.len() / 2];
    out.par_chunks_mut(FOLD_CHUNK)
        .zip(f.par_chunks(2 * FOLD_CHUNK))
        .for_each(|(o, fs)| {
            for (x, p) in o.iter_mut().zip(fs.chunks_exact(2)) {
                *x = r * (p[1] - p[0]) + p[0];
            }
        });
    out
}

/// Proves `claim = Σ_x f(x)·W(x)` for `W = Σ_j c_j·eq(ẑ_j, ·)` (see the module docs); the
/// output's evaluations are `[f(r), W(r)]`. `None`, with nothing written, when the claim is not
/// that sum (prover misuse).
///
/// # Panics
/// If `f`'s length is not a power of two, or a term's sub-cube is misaligned or outside `f`.
pub fn prove_eq_batch<F, EF>(
    claim: EF,
    f: &[F],
    terms: &[EqTerm<EF>],
    transcript: &mut ProverTranscript<F>,
) -> Option<ProverOutput<EF>>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    let n = zkinfer_poly::num_vars(f.len());
    for t in terms {
        let size = 1usize << t.point.len();
        assert!(
            t.offset % size == 0 && t.offset + size <= f.len(),
            "eq term outside the table or misaligned"
        );
    }
    let mut coeffs: Vec<EF> = terms.iter().map(|t| t.coeff).collect();
    if n == 0 {
        let w: EF = coeffs.iter().copied().sum();
        if w * f[0] != claim {
            return None;
        }
        absorb_statement(transcript, &[claim], 0, 2);
        return Some(ProverOutput {
            point: Vec::new(),
            evals: vec![EF::from(f[0]), w],
            coeffs: vec![EF::ONE],
        });
    }
    let [h0, h1, h2] = round_sums(f, terms, &coeffs, 0);
    if h0 + h1 != claim {
        return None;
    }
    absorb_statement(transcript, &[claim], n, 2);
    let mut claim = claim;
    let mut h = [h0, h2];
    let mut point = Vec::with_capacity(n);
    let mut table: Vec<EF> = Vec::new();
    for i in 0..n {
        transcript.write_ext("sumcheck round", &h);
        let r: EF = transcript.sample_ext("sumcheck challenge");
        claim = interpolate_at(&[h[0], claim - h[0], h[1]], r);
        for (c, t) in coeffs.iter_mut().zip(terms) {
            let z = coord(t, i);
            *c *= (EF::ONE - z) * (EF::ONE - r) + z * r;
        }
        table = if i == 0 { fold(f, r) } else { fold(&table, r) };
        if i + 1 < n {
            let [a, _, b] = round_sums(&table, terms, &coeffs, i + 1);
            h = [a, b];
        }
        point.push(r);
    }
    Some(ProverOutput {
        point,
        evals: vec![table[0], coeffs.iter().copied().sum()],
        coeffs: vec![EF::ONE],
    })
}
