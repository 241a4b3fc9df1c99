//! Max / min over windows or axes (MaxPool, ReduceMax, ReduceMin) and ReLU (`max(x_o, 0)`:
//! the group `{x_o, 0}`, where a group member may be the constant 0, [`ZERO`]).
//!
//! `y_o = max_{k} x_{g_o[k]}` is proven with the committed `y` by
//! (1) range: every difference `d_{o,k} = y_o − x_{g_o[k]}` lies in `[0, 2^A)` (one lookup
//! column listing all pairs), so `y_o ≥` every element; and (2) attainment (`super::attain`):
//! some `d_{o,k}` is 0 — a product zero-check for groups of up to 64 members, a committed
//! one-hot selector for longer ones (up to [`MAX_GROUP`]). Together: `y_o` is an element of
//! the group and no element exceeds it. Min negates the differences. Soundness error: that
//! of the attainment protocol (`super::attain`), the split being exact.

use zkinfer_model::kernels::reduce;
use zkinfer_model::quant::QuantNode;
use zkinfer_model::{QuantOp, QuantizedGraph};

use super::{attain, ctx_vals, to_output_poly, write_output, OpFamily};
use crate::error::Error;
use crate::layout::{compact_vars, dot, eq_prefix, pad_base};
use crate::plan::{window_ok, Col, Plan, PlanBuilder, TableSpec};
use crate::side::Side;
use crate::walk::{Ctx, Weighted, Witness};
use crate::{EF, F};
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// The max/min family.
pub struct Max;

impl OpFamily for Max {
    fn owns(op: &QuantOp) -> bool {
        matches!(
            op,
            QuantOp::MaxPool(_) | QuantOp::ReduceMax { .. } | QuantOp::Relu
        )
    }

    fn check(g: &QuantizedGraph, n: &QuantNode) -> Result<(), String> {
        let out = &g.tensors[n.output.0].shape;
        match &n.op {
            QuantOp::MaxPool(wn) if !window_ok(wn) || out.len() < wn.kernel.len() => {
                Err(format!("window geometry inconsistent: {wn:?}"))
            }
            _ => Ok(()),
        }
    }

    fn plan(b: &mut PlanBuilder<'_>, ni: usize) -> Result<(), String> {
        let g = b.g;
        let (grs, _) = groups(g, ni).ok_or("bad window or axes")?;
        let k = grs.iter().map(Vec::len).max().unwrap_or(0);
        if k == 0 || k > MAX_GROUP {
            return Err(format!(
                "max over {k} elements (supported: 1..={MAX_GROUP})"
            ));
        }
        let pairs = pairs(&grs).len();
        if pairs > attain::MAX_PAIRS {
            return Err(format!(
                "max over {pairs} (output, input) pairs (supported: up to 2^34)"
            ));
        }
        let numel: usize = g.tensors[g.nodes[ni].output.0].shape.iter().product();
        b.output(ni, compact_vars(numel));
        b.lookup(
            ni,
            TableSpec::Range(g.config.act_bits),
            vec![Col::Virtual { node: ni, tag: 0 }],
            pairs,
        );
        attain::plan_selector(b, ni, pairs, k);
        Ok(())
    }

    fn witness(
        w: &mut Witness<'_>,
        g: &QuantizedGraph,
        plan: &Plan,
        ni: usize,
    ) -> Result<(), String> {
        if let Some(p) = attain::selector_poly(plan, ni) {
            let (grs, max) = groups(g, ni).ok_or("groups")?;
            let n = &g.nodes[ni];
            let (x, y) = (w.value(n.inputs[0].0), w.value(n.output.0));
            w.polys[p] = attain::selector_column(&grs, |o, q| diff(max, y, x, o, q))?;
        }
        write_output(w, g, plan, ni, 0);
        Ok(())
    }

    fn column(
        w: &Witness<'_>,
        g: &QuantizedGraph,
        _plan: &Plan,
        ni: usize,
        _tag: u8,
    ) -> Result<Vec<F>, String> {
        let n = &g.nodes[ni];
        let (grs, max) = groups(g, ni).ok_or("groups")?;
        let d = diff_column(&grs, max, w.value(n.output.0), w.value(n.inputs[0].0));
        Ok(pad_base(&d, 0))
    }

    fn absorb<S: Side>(
        ctx: &mut Ctx<'_, S>,
        ni: usize,
        _tag: u8,
        _rows: usize,
        point: &[EF],
        value: EF,
    ) -> Result<(), Error> {
        absorb_diff(ctx, ni, point, value)
    }

    fn relations<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize) -> Result<(), Error> {
        attainment(ctx, ni)
    }

    fn backward<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, claim: Weighted) -> Result<(), Error> {
        to_output_poly(ctx, ni, claim)
    }
}

/// Largest group a max is proven for.
pub const MAX_GROUP: usize = super::attain::MAX_GROUP;

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
pub fn groups(g: &QuantizedGraph, ni: usize) -> Option<(Vec<Vec<usize>>, bool)> {
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

/// Prover: the difference `σ·(y_o − x_q)` as a field element.
pub fn diff(max: bool, y: &[i64], x: &[i64], o: usize, q: usize) -> F {
    let d = y.get(o).copied().unwrap_or(0)
        - if q == ZERO {
            0
        } else {
            x.get(q).copied().unwrap_or(0)
        };
    zkinfer_field::from_signed(if max { d } else { -d })
}

/// The attainment check of node `ni` (`super::attain`).
pub fn attainment<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize) -> Result<(), Error> {
    let g = ctx.g;
    let (grs, max) =
        groups(g, ni).ok_or_else(|| Error::rejected(ctx.side.stage(), "max groups"))?;
    let n = &g.nodes[ni];
    let (x, y) = (n.inputs[0].0, n.output.0);
    let (xv, yv) = (ctx_vals(ctx.wit, x), ctx_vals(ctx.wit, y));
    let gr = super::attain::Groups {
        groups: &grs,
        max,
        nx: ctx.shape(x).iter().product(),
    };
    let sel = super::attain::selector_poly(ctx.plan, ni);
    let r = super::attain::prove(ctx, gr, sel, |o, q| diff(max, yv, xv, o, q))?;
    split_claim(ctx, y, r.top, x, r.x, r.value)
}
