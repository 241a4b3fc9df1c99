//! Greedy token choice: `t_o = argmax_k x_{o,k}` over the last axis, ties to the lowest index,
//! with the indices `t` public (an ArgMax output must be a graph output; the verifier reads it
//! from the statement and never needs a commitment to it).
//!
//! Relation: the virtual column `d_{o,k} = x_{o,t_o} − x_{o,k} − [k < t_o]` lies in `[0, 2^A)`
//! (one range lookup over all `O·V` pairs). As integers `|d| ≤ 2·B_x + 1` (`B_x` the bound on
//! x, `bounds::node_safety` requires `2·B_x + 1 + 2^A < p`), so membership means
//! `x_{t_o} ≥ x_k` for every k and `x_{t_o} > x_k` for every `k < t_o`: `t_o` is the first
//! maximum. Given `t`, the column is linear in x, so the lookup's claim `d(r) = v` becomes
//! one weighted claim on x — no sumcheck and no extra prover message. Soundness error: that
//! of the lookup argument; the rows need not be short (a 262,144-entry vocabulary is one
//! column).

use crate::error::Error;
use crate::layout::eq_prefix;
use crate::side::Side;
use crate::walk::Ctx;
use crate::EF;
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// `(rows, row length)` of ArgMax node `ni`'s input.
pub fn rows(g: &zkinfer_model::QuantizedGraph, ni: usize) -> Option<(usize, usize)> {
    let n = g.nodes.get(ni)?;
    let sx = &g.tensors.get(n.inputs.first()?.0)?.shape;
    let v = *sx.last()?;
    let total: usize = sx.iter().product();
    (v > 0).then(|| (total / v, v))
}

/// Prover: the difference column for indices `t` (one per row).
pub fn diff_column(x: &[i64], t: &[i64], v: usize) -> Vec<i64> {
    x.chunks(v.max(1))
        .zip(t)
        .flat_map(|(row, &t)| {
            let tu = usize::try_from(t)
                .unwrap_or(0)
                .min(row.len().saturating_sub(1));
            let top = row.get(tu).copied().unwrap_or(0);
            row.iter()
                .enumerate()
                .map(move |(k, &xk)| top - xk - i64::from(k < tu))
        })
        .collect()
}

/// The public indices of ArgMax node `ni` (its output in the statement), each checked to be
/// a valid position in a row of `v`.
fn public_indices<S: Side>(ctx: &Ctx<'_, S>, ni: usize, v: usize) -> Result<Vec<usize>, Error> {
    let g = ctx.g;
    let out = g.nodes[ni].output;
    let k = g
        .outputs
        .iter()
        .position(|&o| o == out)
        .ok_or_else(|| Error::rejected(ctx.side.stage(), "argmax output is not public"))?;
    let t = ctx
        .outputs
        .get(k)
        .ok_or_else(|| Error::rejected(ctx.side.stage(), "missing argmax output"))?;
    t.iter()
        .map(|&i| {
            usize::try_from(i)
                .ok()
                .filter(|&i| i < v)
                .ok_or_else(|| Error::rejected(ctx.side.stage(), "argmax index outside the row"))
        })
        .collect()
}

/// Claim `d(point) = value` on the difference column → one claim on x.
pub fn absorb_diff<S: Side>(
    ctx: &mut Ctx<'_, S>,
    ni: usize,
    point: &[EF],
    value: EF,
) -> Result<(), Error> {
    let (no, v) =
        rows(ctx.g, ni).ok_or_else(|| Error::rejected(ctx.side.stage(), "argmax rows"))?;
    let t = public_indices(ctx, ni, v)?;
    if t.len() != no {
        return Err(Error::rejected(ctx.side.stage(), "argmax index count"));
    }
    let x = ctx.g.nodes[ni].inputs[0].0;
    // Σ_{o,k} e_{o,k}·(x_{o,t_o} − x_{o,k} − [k < t_o]) = value.
    let mut w: Vec<EF> = eq_prefix(point, no * v).into_iter().map(|e| -e).collect();
    let mut constant = EF::ZERO;
    for (o, &to) in t.iter().enumerate() {
        let row = &mut w[o * v..(o + 1) * v];
        let total: EF = row.iter().copied().sum();
        constant -= row[..to].iter().copied().sum::<EF>();
        row[to] -= total;
    }
    ctx.add(x, w, value + constant);
    Ok(())
}
