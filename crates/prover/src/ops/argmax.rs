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

use zkinfer_model::quant::QuantNode;
use zkinfer_model::{QuantOp, QuantizedGraph};

use super::OpFamily;
use crate::error::Error;
use crate::layout::{eq_prefix, pad_base};
use crate::plan::{Col, Plan, PlanBuilder, TableSpec};
use crate::side::Side;
use crate::walk::{Ctx, Weighted, Witness};
use crate::{EF, F};
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// The argmax family.
pub struct ArgMax;

impl OpFamily for ArgMax {
    fn owns(op: &QuantOp) -> bool {
        matches!(op, QuantOp::ArgMax)
    }

    fn check(g: &QuantizedGraph, n: &QuantNode) -> Result<(), String> {
        let x = &g.tensors[n.inputs[0].0].shape;
        let out = &g.tensors[n.output.0].shape;
        if x.is_empty() || out[..] != x[..x.len() - 1] {
            return Err(format!(
                "argmax output {out:?} is not the input {x:?} without its last axis"
            ));
        }
        Ok(())
    }

    fn plan(b: &mut PlanBuilder<'_>, ni: usize) -> Result<(), String> {
        let g = b.g;
        let n = &g.nodes[ni];
        let (no, v) = rows(g, ni).ok_or("argmax over an empty axis")?;
        // The indices are read from the statement: the output must be public and feed
        // nothing else.
        let public = g.outputs.contains(&n.output);
        let consumed = g.nodes.iter().any(|m| m.inputs.contains(&n.output));
        if !public || consumed {
            return Err("an argmax output must be a graph output that no node consumes".into());
        }
        let rows = no
            .checked_mul(v)
            .filter(|&r| r <= 1 << 34)
            .ok_or("argmax too large")?;
        b.lookup(
            ni,
            TableSpec::Range(g.config.act_bits),
            vec![Col::Virtual { node: ni, tag: 0 }],
            rows,
        );
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
        let (_, v) = rows(g, ni).ok_or("rows")?;
        Ok(pad_base(
            &diff_column(w.value(n.inputs[0].0), w.value(n.output.0), v),
            0,
        ))
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

    /// The output is public: the verifier evaluated this claim itself, and the relation to
    /// the input is the range lookup on the difference column.
    fn backward<S: Side>(_ctx: &mut Ctx<'_, S>, _ni: usize, _claim: Weighted) -> Result<(), Error> {
        Ok(())
    }
}

/// `(rows, row length)` of ArgMax node `ni`'s input.
pub fn rows(g: &QuantizedGraph, ni: usize) -> Option<(usize, usize)> {
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
