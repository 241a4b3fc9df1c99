//! A dedicated prover for one GKR layer's sumcheck, producing exactly the messages
//! `zkinfer_sumcheck::prove` would for the same composition (tested byte for byte), faster:
//!
//! - no `eq` table is bound: with `eq(r, x) = Π_i eq(r_i, x_i)`, round `j`'s polynomial is
//!   `h(X) = acc · eq(r_j, X) · g(X)` (Gruen), `acc = Π_{i<j} eq(r_i, s_i)`, where
//!   `g(X) = Σ_y eq(r_{>j}, y)·F(X, y)` has degree 2 — so `g` is computed at `0` and `2` only and
//!   `g(1)` follows from the claim `acc·[(1 − r_j)·g(0) + r_j·g(1)]`;
//! - `F = Σ_t λ^{2t}[p0 q1 + p1 q0] + λ^{2t+1} q0 q1` is evaluated directly on the half-tables.

use p3_maybe_rayon::prelude::*;
use zkinfer_field::p3_field::{ExtensionField, Field, PrimeField64};
use zkinfer_poly::{bind_low_in_place, eq_table};
use zkinfer_sumcheck::{interpolate_at, Mask};
use zkinfer_transcript::ProverTranscript;

/// One tree's children at this layer: `p(·,0), p(·,1)` (`None`: witness leaves, `p ≡ 1`) and
/// `q(·,0), q(·,1)`.
pub(crate) struct Halves<EF> {
    pub p: Option<[Vec<EF>; 2]>,
    pub q: [Vec<EF>; 2],
}

/// Pairs per parallel task.
const CHUNK: usize = 1 << 11;

/// Proves `claim = Σ_x eq(r, x)·F(x)` (the layer composition with coefficients `λ^{2t}`,
/// `λ^{2t+1}`), masked by `mask` when given (then the messages are those of
/// `zkinfer_sumcheck::prove_masked`: the mask's share is added to each round polynomial,
/// whose unmasked part is computed as below). Returns the challenge point, the trees'
/// evaluations in composition order and the mask values `s_l(r_l)` (empty unmasked).
pub(crate) fn prove<F: PrimeField64, EF: ExtensionField<F>>(
    mut claim: EF,
    r: &[EF],
    mut trees: Vec<Halves<EF>>,
    lambda: EF,
    mask: Option<&Mask<F, EF>>,
    transcript: &mut ProverTranscript<F>,
) -> (Vec<EF>, Vec<EF>, Vec<EF>) {
    let n = r.len();
    // The framing of `zkinfer_sumcheck::prove` (statement, then d = 3 values per round), or
    // of its masked form.
    let mut masked = match mask {
        Some(m) => Some(zkinfer_sumcheck::begin_single(claim, n, 3, m, transcript)),
        None => {
            zkinfer_sumcheck::absorb_statement(transcript, &[claim], n, 3);
            None
        }
    };
    let coeffs: Vec<(EF, EF)> = lambda
        .powers()
        .step_by(2)
        .take(trees.len())
        .map(|w| (w, w * lambda))
        .collect();
    let mut acc = EF::ONE;
    let mut point = Vec::with_capacity(n);
    for j in 0..n {
        let rj = r[j];
        let direct = rj == EF::ZERO || acc == EF::ZERO;
        // eq(r_{>j}, y) = lo(y mod 2^a)·hi(y / 2^a): two tables of square-root size instead
        // of one of half the layer (8 bytes per leaf at the leaf layer).
        let rest = &r[j + 1..];
        let a = rest.len().div_ceil(2);
        let e = (eq_table(&rest[..a]), eq_table(&rest[a..]));
        let [g0, g1d, g2] = node_sums(&trees, &coeffs, (&e.0, &e.1), direct);
        // g(1) from the claim when it can be solved for (almost always); else computed.
        let g1 = if direct {
            g1d
        } else {
            (claim * acc.inverse() - (EF::ONE - rj) * g0) * rj.inverse()
        };
        let g3 = g0 - g1.double() - g1 + g2.double() + g2;
        let lin = |x: EF| rj * x + (EF::ONE - rj) * (EF::ONE - x);
        let h = [
            acc * lin(EF::ZERO) * g0,
            acc * lin(EF::ONE) * g1,
            acc * lin(EF::TWO) * g2,
            acc * lin(EF::from_u64(3)) * g3,
        ];
        // The masked message: `h + ρ·m_j` (its value at 1 then matches the masked running
        // claim, since the mask's share sums consistently round to round).
        let mut sent = h;
        if let Some(m) = &masked {
            m.add_to_round(&mut sent);
        }
        transcript.write_ext("sumcheck round", &[sent[0], sent[2], sent[3]]);
        let s: EF = transcript.sample_ext("sumcheck challenge");
        if let Some(m) = &mut masked {
            m.bind(s);
        }
        claim = interpolate_at(&h, s);
        acc *= lin(s);
        trees.par_iter_mut().for_each(|t| {
            t.p.iter_mut()
                .flatten()
                .chain(t.q.iter_mut())
                .for_each(|v| bind_low_in_place(v, s));
        });
        point.push(s);
    }
    let mask_values = masked.map_or(Vec::new(), |m| m.finish(transcript));
    let mut evals = Vec::new();
    for t in &trees {
        if let Some([p0, p1]) = &t.p {
            evals.extend([p0[0], p1[0]]);
        }
        evals.extend([t.q[0][0], t.q[1][0]]);
    }
    (point, evals, mask_values)
}

/// `[g(0), g(1) (only if `with_one`, else 0), g(2)]` with `g(X) = Σ_y e(y)·F(X, y)`,
/// `e(y) = lo[y mod |lo|]·hi[y / |lo|]`.
fn node_sums<EF: Field>(
    trees: &[Halves<EF>],
    coeffs: &[(EF, EF)],
    (lo, hi): (&[EF], &[EF]),
    with_one: bool,
) -> [EF; 3] {
    let pairs = lo.len() * hi.len();
    let (mask, shift) = (lo.len() - 1, lo.len().trailing_zeros());
    let work = |c: usize| {
        let mut out = [EF::ZERO; 3];
        for y in c * CHUNK..((c + 1) * CHUNK).min(pairs) {
            let (a, b) = (2 * y, 2 * y + 1);
            let mut f = [EF::ZERO; 3];
            for (t, &(cp, cq)) in trees.iter().zip(coeffs) {
                let [q0, q1] = &t.q;
                let ext = |v: &[EF]| [v[a], v[b], v[b].double() - v[a]];
                let (x0, x1) = (ext(q0), ext(q1));
                let ps = t.p.as_ref().map(|[p0, p1]| (ext(p0), ext(p1)));
                for node in [0, 1, 2] {
                    if node == 1 && !with_one {
                        continue;
                    }
                    let cross = match &ps {
                        Some((y0, y1)) => y0[node] * x1[node] + y1[node] * x0[node],
                        None => x0[node] + x1[node],
                    };
                    f[node] += cp * cross + cq * (x0[node] * x1[node]);
                }
            }
            let e = lo[y & mask] * hi[y >> shift];
            for node in 0..3 {
                out[node] += e * f[node];
            }
        }
        out
    };
    let add = |a: [EF; 3], b: [EF; 3]| [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
    let chunks = pairs.div_ceil(CHUNK);
    if chunks > 1 {
        (0..chunks)
            .into_par_iter()
            .map(work)
            .reduce(|| [EF::ZERO; 3], add)
    } else {
        work(0)
    }
}
