//! Max / min over windows or axes (MaxPool, ReduceMax, ReduceMin) and ReLU (`max(x_o, 0)`:
//! the group `{x_o, 0}`, where a group member may be the constant 0, [`ZERO`]).
//!
//! `y_o = max_{k} x_{g_o[k]}` is proven with the committed `y` by
//! (1) range: every difference `d_{o,k} = y_o − x_{g_o[k]}` lies in `[0, 2^A)` (one lookup
//! column listing all pairs), so `y_o ≥` every element; and (2) attainment:
//! `Π_k d_{o,k} = 0` for every `o`, by a zero-check `Σ_o eq(τ, o)·Π_k D_k(o) = 0` (degree
//! K+1; `D_k(o) = 1` where a window has fewer than K elements). Together: `y_o` is an element
//! of the group and no element exceeds it. Min negates the differences. Soundness error:
//! `(K+1)·log n/|EF|` for the zero-check plus `n/|EF|` for τ and `K/|EF|` for the γ-combination.

use zkinfer_model::kernels::reduce;
use zkinfer_model::QuantOp;
use zkinfer_poly::{eq_eval, eq_table};
use zkinfer_sumcheck::{Composition, Mle};
use zkinfer_transcript::Duplex;

use super::ctx_vals;
use crate::error::Error;
use crate::layout::{compact_vars, dot, eq_prefix};
use crate::side::Side;
use crate::walk::{ef, Ctx};
use crate::EF;
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// Largest group a max is proven for (the zero-check has degree K + 1).
pub const MAX_GROUP: usize = 64;

/// A group member that is the constant 0 rather than an input element.
pub const ZERO: usize = usize::MAX;

/// `x_q`, or 0 for [`ZERO`].
fn member(x: &[i64], q: usize) -> i64 {
    if q == ZERO {
        0
    } else {
        x[q]
    }
}

/// The groups of a max/min node (input indices per output) and whether it is a max.
pub fn groups(g: &zkinfer_model::QuantizedGraph, ni: usize) -> Option<(Vec<Vec<usize>>, bool)> {
    let n = g.nodes.get(ni)?;
    let sx = &g.tensors.get(n.inputs.first()?.0)?.shape;
    let sout = &g.tensors.get(n.output.0)?.shape;
    match &n.op {
        QuantOp::MaxPool(win) => Some((super::conv::windows(win, sx, sout)?, true)),
        QuantOp::ReduceMax { axes, max } => Some((reduce::reduce_groups(sx, axes), *max)),
        QuantOp::Relu => Some((
            (0..sx.iter().product()).map(|o| vec![o, ZERO]).collect(),
            true,
        )),
        _ => None,
    }
}

/// The flattened (output, input) pairs of the difference column.
pub fn pairs(groups: &[Vec<usize>]) -> Vec<(usize, usize)> {
    groups
        .iter()
        .enumerate()
        .flat_map(|(o, gr)| gr.iter().map(move |&q| (o, q)))
        .collect()
}

/// Prover: the difference column `sign·(y_o − x_q)`.
pub fn diff_column(groups: &[Vec<usize>], max: bool, y: &[i64], x: &[i64]) -> Vec<i64> {
    let s = if max { 1 } else { -1 };
    pairs(groups)
        .into_iter()
        .map(|(o, q)| s * (y[o] - member(x, q)))
        .collect()
}

/// Splits `Σ W_y·y + Σ W_x·x = v` into one claim on each tensor (the prover sends the `y` part).
pub fn split_claim<S: Side>(
    ctx: &mut Ctx<'_, S>,
    y: usize,
    wy: Vec<EF>,
    x: usize,
    wx: Vec<EF>,
    v: EF,
) -> Result<(), Error> {
    let wit = ctx.wit;
    let a = ctx
        .side
        .msg("model.max_split", 1, || vec![dot(&wy, ctx_vals(wit, y))])?[0];
    ctx.add(y, wy, a);
    ctx.add(x, wx, v - a);
    Ok(())
}

/// Claim `col(point) = value` on the difference column → claims on y and x.
pub fn absorb_diff<S: Side>(
    ctx: &mut Ctx<'_, S>,
    ni: usize,
    point: &[EF],
    value: EF,
) -> Result<(), Error> {
    let g = ctx.g;
    let (grs, max) =
        groups(g, ni).ok_or_else(|| Error::rejected(ctx.side.stage(), "max groups"))?;
    let n = &g.nodes[ni];
    let (x, y) = (n.inputs[0].0, n.output.0);
    let pr = pairs(&grs);
    let w = eq_prefix(point, pr.len());
    let sign = if max { EF::ONE } else { -EF::ONE };
    let mut wy = vec![EF::ZERO; grs.len()];
    let mut wx = vec![EF::ZERO; ctx.shape(x).iter().product()];
    for (&(o, q), &wi) in pr.iter().zip(&w) {
        wy[o] += sign * wi;
        if q != ZERO {
            wx[q] -= sign * wi;
        }
    }
    split_claim(ctx, y, wy, x, wx, value)
}

/// The attainment zero-check of node `ni`.
pub fn attainment<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize) -> Result<(), Error> {
    let g = ctx.g;
    let (grs, max) =
        groups(g, ni).ok_or_else(|| Error::rejected(ctx.side.stage(), "max groups"))?;
    let n = &g.nodes[ni];
    let (x, y) = (n.inputs[0].0, n.output.0);
    let k = grs.iter().map(Vec::len).max().unwrap_or(0);
    let no = grs.len();
    let nv = compact_vars(no);
    let tau: Vec<EF> = (0..nv)
        .map(|_| ctx.side.t().sample_ext("model.max_tau"))
        .collect();
    let wit = ctx.wit;
    let s = if max { 1 } else { -1 };
    let (t, evals) = ctx.side.sumcheck(
        EF::ZERO,
        nv,
        &Composition::product(k + 1),
        1,
        || {
            let (yv, xv) = (ctx_vals(wit, y), ctx_vals(wit, x));
            let mut mles = vec![Mle::Ext(eq_table(&tau))];
            for j in 0..k {
                let mut d = vec![EF::ZERO; 1 << nv];
                for (o, gr) in grs.iter().enumerate() {
                    d[o] = match gr.get(j) {
                        Some(&q) => ef(s * (yv[o] - member(xv, q))),
                        None => EF::ONE,
                    };
                }
                mles.push(Mle::Ext(d));
            }
            mles
        },
        |p| vec![eq_eval(&tau, p)],
    )?;
    let gamma: EF = ctx.side.t().sample_ext("model.max_gamma");
    let e = eq_prefix(&t, no);
    let sign = if max { EF::ONE } else { -EF::ONE };
    let mut wy = vec![EF::ZERO; no];
    let mut wx = vec![EF::ZERO; ctx.shape(x).iter().product()];
    let mut constant = EF::ZERO;
    let mut v = EF::ZERO;
    let mut gk = EF::ONE;
    for j in 0..k {
        v += gk * evals[j + 1];
        for (o, gr) in grs.iter().enumerate() {
            match gr.get(j) {
                Some(&q) => {
                    wy[o] += gk * sign * e[o];
                    if q != ZERO {
                        wx[q] -= gk * sign * e[o];
                    }
                }
                None => constant += gk * e[o],
            }
        }
        gk *= gamma;
    }
    split_claim(ctx, y, wy, x, wx, v - constant)
}
