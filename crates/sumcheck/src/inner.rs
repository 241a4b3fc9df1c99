//! A dedicated prover for the inner product `Σ_x f(x)·w(x)` with `f` in the base field and `w`
//! in the extension — the PCS's claim batching runs it over the whole stacked witness, so it
//! is the hottest sumcheck by size.
//!
//! It writes exactly what [`crate::prove`] writes for `[Mle::Base(f), Mle::Ext(w)]` and
//! `Composition::product(2)` (so [`crate::verify`] with degree 2 checks it), but binds each
//! round's challenge and sums the next round's messages in one pass over the tables, and
//! checks the claimed sum in round 0 at no extra pass.

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

/// Binds variable 0 of `g` and `w` to `r` and returns the halved tables with the next round's
/// `(h(0), h(2))` (zero when the tables end at one entry).
fn bind_and_sum<T, EF>(g: &[T], w: &[EF], r: EF) -> (Vec<EF>, Vec<EF>, [EF; 2])
where
    T: Field,
    EF: ExtensionField<T> + Algebra<T>,
{
    let half = g.len() / 2;
    let mut gn = vec![EF::ZERO; half];
    let mut wn = vec![EF::ZERO; half];
    // One block of 4 old entries per new pair.
    let block = |go: &[T], wo: &[EF], gd: &mut [EF], wd: &mut [EF]| {
        let mut s = [EF::ZERO; 2];
        for (((g4, w4), g2), w2) in go
            .chunks_exact(4)
            .zip(wo.chunks_exact(4))
            .zip(gd.chunks_exact_mut(2))
            .zip(wd.chunks_exact_mut(2))
        {
            let g0 = r * (g4[1] - g4[0]) + g4[0];
            let g1 = r * (g4[3] - g4[2]) + g4[2];
            let w0 = (w4[1] - w4[0]) * r + w4[0];
            let w1 = (w4[3] - w4[2]) * r + w4[2];
            s[0] += g0 * w0;
            s[1] += (g1.double() - g0) * (w1.double() - w0);
            g2[0] = g0;
            g2[1] = g1;
            w2[0] = w0;
            w2[1] = w1;
        }
        s
    };
    if half < 2 {
        if half == 1 {
            gn[0] = r * (g[1] - g[0]) + g[0];
            wn[0] = (w[1] - w[0]) * r + w[0];
        }
        return (gn, wn, [EF::ZERO; 2]);
    }
    let s = if half >= 2 * CHUNK {
        g.par_chunks(4 * CHUNK)
            .zip(w.par_chunks(4 * CHUNK))
            .zip(gn.par_chunks_mut(2 * CHUNK))
            .zip(wn.par_chunks_mut(2 * CHUNK))
            .map(|(((go, wo), gd), wd)| block(go, wo, gd, wd))
            .reduce(|| [EF::ZERO; 2], |x, y| [x[0] + y[0], x[1] + y[1]])
    } else {
        block(g, w, &mut gn, &mut wn)
    };
    (gn, wn, s)
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
    let mut tables: Option<(Vec<EF>, Vec<EF>)> = None;
    for _ in 0..n {
        transcript.write_ext("sumcheck round", &h);
        let r: EF = transcript.sample_ext("sumcheck challenge");
        claim = interpolate_at(&[h[0], claim - h[0], h[1]], r);
        let (g, wn, next) = match &tables {
            None => bind_and_sum(f, &w, r),
            Some((g, wt)) => bind_and_sum(g, wt, r),
        };
        tables = Some((g, wn));
        h = next;
        point.push(r);
    }
    let (g, wt) = tables.unwrap_or_default();
    Ok(ProverOutput {
        point,
        evals: vec![g[0], wt[0]],
        coeffs: vec![EF::ONE],
    })
}
