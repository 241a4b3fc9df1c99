//! A dedicated prover for the inner product `Σ_x f(x)·w(x)` with `f` in the base field and `w`
//! in the extension — the walk's collapse sumchecks run it over whole committed tables (GPT-2's
//! embedding: 2^26 entries), so it is among the largest sumchecks by size.
//!
//! It writes exactly what [`crate::prove`] writes for `[Mle::Base(f), Mle::Ext(w)]` and
//! `Composition::product(2)` (so [`crate::verify`] with degree 2 checks it), but binds each
//! round's challenge and sums the next round's messages in one pass over the tables, and
//! checks the claimed sum in round 0 at no extra pass. Tables are bound in place (round 0
//! reads the base-field table into a half-size extension table), so a round holds no second
//! pair of tables.

use p3_maybe_rayon::prelude::*;
use zkinfer_field::p3_field::{Algebra, ExtensionField, Field, PrimeField64};
use zkinfer_transcript::ProverTranscript;

use crate::prover::ProverOutput;
use crate::verifier::{absorb_statement, interpolate_at};

/// Pairs per parallel task.
const CHUNK: usize = 1 << 11;

/// `(h(0), h(1), h(2))` of `Σ_j (g_j(X)·w_j(X))` over the pairs `(2j, 2j+1)`.
fn sums<T, EF>(g: &[T], w: &[EF]) -> [EF; 3]
where
    T: Field,
    EF: ExtensionField<T> + Algebra<T>,
{
    let part = |gs: &[T], ws: &[EF]| {
        let mut s = [EF::ZERO; 3];
        for (gp, wp) in gs.chunks_exact(2).zip(ws.chunks_exact(2)) {
            let (a, b, c, d) = (gp[0], gp[1], wp[0], wp[1]);
            s[0] += c * a;
            s[1] += d * b;
            s[2] += (d.double() - c) * (b.double() - a);
        }
        s
    };
    let add = |x: [EF; 3], y: [EF; 3]| [x[0] + y[0], x[1] + y[1], x[2] + y[2]];
    if g.len() >= 4 * CHUNK {
        g.par_chunks(2 * CHUNK)
            .zip(w.par_chunks(2 * CHUNK))
            .map(|(gs, ws)| part(gs, ws))
            .reduce(|| [EF::ZERO; 3], add)
    } else {
        part(g, w)
    }
}

/// Binds variable 0 of `w` (in place) and of `g` — read from `src` into the first half of `g`
/// when given (round 0: `f` is in the base field), else in place — to `r`, and returns the
/// next round's `(h(0), h(2))`. Both tables are truncated to half; binding in place keeps the
/// round's memory to the tables themselves (no second pair of half tables: 1 GiB less for a
/// 2^26-entry collapse).
fn bind_in_place<T, EF>(src: Option<&[T]>, g: &mut Vec<EF>, w: &mut Vec<EF>, r: EF) -> [EF; 2]
where
    T: Field,
    EF: ExtensionField<T> + Algebra<T>,
{
    let half = w.len() / 2;
    // Each task binds one block of 4·CHUNK old entries into the first half of its own block
    // (a pair is written only after the four entries it replaces are read); the blocks'
    // halves are then moved together. With a source, `g`'s block is its destination half.
    let block = |gs: Option<&[T]>, gd: &mut [EF], wd: &mut [EF]| {
        let mut s = [EF::ZERO; 2];
        for j in 0..wd.len() / 4 {
            let i = 4 * j;
            let (g0, g1) = match gs {
                Some(q) => (
                    r * (q[i + 1] - q[i]) + q[i],
                    r * (q[i + 3] - q[i + 2]) + q[i + 2],
                ),
                None => (
                    r * (gd[i + 1] - gd[i]) + gd[i],
                    r * (gd[i + 3] - gd[i + 2]) + gd[i + 2],
                ),
            };
            let w0 = (wd[i + 1] - wd[i]) * r + wd[i];
            let w1 = (wd[i + 3] - wd[i + 2]) * r + wd[i + 2];
            s[0] += g0 * w0;
            s[1] += (g1.double() - g0) * (w1.double() - w0);
            (gd[2 * j], gd[2 * j + 1]) = (g0, g1);
            (wd[2 * j], wd[2 * j + 1]) = (w0, w1);
        }
        s
    };
    if half < 2 {
        if half == 1 {
            let g0 = match src {
                Some(f) => r * (f[1] - f[0]) + f[0],
                None => r * (g[1] - g[0]) + g[0],
            };
            g.truncate(0);
            g.push(g0);
            w[0] = (w[1] - w[0]) * r + w[0];
            w.truncate(1);
        }
        return [EF::ZERO; 2];
    }
    let add = |x: [EF; 2], y: [EF; 2]| [x[0] + y[0], x[1] + y[1]];
    let s = if half >= 2 * CHUNK {
        let block_len = 4 * CHUNK;
        let s = match src {
            Some(f) => f
                .par_chunks(block_len)
                .zip(g.par_chunks_mut(block_len / 2))
                .zip(w.par_chunks_mut(block_len))
                .map(|((fs, gd), wd)| block(Some(fs), gd, wd))
                .reduce(|| [EF::ZERO; 2], add),
            None => g
                .par_chunks_mut(block_len)
                .zip(w.par_chunks_mut(block_len))
                .map(|(gd, wd)| block(None, gd, wd))
                .reduce(|| [EF::ZERO; 2], add),
        };
        // Block c's result sits at [c·4C, c·4C + 2C); move it to [c·2C, (c+1)·2C) (blocks in
        // order: each destination ends before its source starts).
        let out = block_len / 2;
        for c in 1..w.len() / block_len {
            w.copy_within(c * block_len..c * block_len + out, c * out);
            if src.is_none() {
                g.copy_within(c * block_len..c * block_len + out, c * out);
            }
        }
        s
    } else {
        match src {
            Some(f) => block(Some(f), g, w),
            None => block(None, g, w),
        }
    };
    g.truncate(half);
    w.truncate(half);
    s
}

/// Proves `claim = Σ_x f(x)·w(x)` (see the module docs); `None`, with nothing written, when
/// the claim is not that sum (prover misuse).
///
/// # Panics
/// If `f` and `w` differ in length or the length is not a power of two.
pub fn prove_inner_product<F, EF>(
    claim: EF,
    f: &[F],
    w: Vec<EF>,
    transcript: &mut ProverTranscript<F>,
) -> Option<ProverOutput<EF>>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    prove_or_return(claim, f, w, transcript).ok()
}

/// [`prove_inner_product`], handing `w` back when the claim is not the sum.
pub(crate) fn prove_or_return<F, EF>(
    claim: EF,
    f: &[F],
    w: Vec<EF>,
    transcript: &mut ProverTranscript<F>,
) -> Result<ProverOutput<EF>, Vec<EF>>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    assert_eq!(f.len(), w.len(), "sumcheck: MLE sizes differ");
    let n = zkinfer_poly::num_vars(f.len());
    if n == 0 {
        if w[0] * f[0] != claim {
            return Err(w);
        }
        absorb_statement(transcript, &[claim], 0, 2);
        return Ok(ProverOutput {
            point: Vec::new(),
            evals: vec![EF::from(f[0]), w[0]],
            coeffs: vec![EF::ONE],
        });
    }
    let [h0, h1, h2] = sums(f, &w);
    if h0 + h1 != claim {
        return Err(w);
    }
    absorb_statement(transcript, &[claim], n, 2);
    let mut claim = claim;
    let mut h = [h0, h2];
    let mut point = Vec::with_capacity(n);
    // `f` folded (first round: read from `f`, then in place); `w` folded in place.
    let (mut g, mut w) = (vec![EF::ZERO; f.len() / 2], w);
    for i in 0..n {
        transcript.write_ext("sumcheck round", &h);
        let r: EF = transcript.sample_ext("sumcheck challenge");
        claim = interpolate_at(&[h[0], claim - h[0], h[1]], r);
        h = bind_in_place((i == 0).then_some(f), &mut g, &mut w, r);
        point.push(r);
    }
    Ok(ProverOutput {
        point,
        evals: vec![g[0], w[0]],
        coeffs: vec![EF::ONE],
    })
}
