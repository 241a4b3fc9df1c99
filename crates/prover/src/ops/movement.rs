//! Data movement: Move (reshape, transpose, slice, gather with constant indices, …), Pad,
//! Concat and indexed movement with public indices (token embeddings, scatters). Each output
//! entry is an input entry or a constant, so a weighted claim `Σ_i W[i]·y[i] = v` moves to
//! the inputs through the index map, `Σ_j (Aᵀ W)[j]·x[j]`: no commitment, no lookup, and one
//! prover message per extra input (Concat's parts, a scatter's data). Exact: no soundness
//! error of its own.

use zkinfer_model::eval::structural_map;
use zkinfer_model::kernels::indexed::{self, IndexKind, Src};
use zkinfer_model::kernels::shape as sk;
use zkinfer_model::quant::QuantNode;
use zkinfer_model::{QuantOp, QuantizedGraph};

use super::{ctx_vals, input, unsupported, OpFamily};
use crate::error::Error;
use crate::layout::{dot, scatter};
use crate::plan::{PlanBuilder, MAX_FRAC};
use crate::side::Side;
use crate::walk::{ef, Ctx, Weighted};
use crate::EF;
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// The data-movement family.
pub struct Movement;

impl OpFamily for Movement {
    fn owns(op: &QuantOp) -> bool {
        matches!(
            op,
            QuantOp::Move(_)
                | QuantOp::IndexedMove { .. }
                | QuantOp::Pad { .. }
                | QuantOp::Concat { .. }
        )
    }

    fn arity(op: &QuantOp) -> (usize, usize) {
        match op {
            QuantOp::Concat { .. } => (1, usize::MAX),
            QuantOp::IndexedMove { kind, .. } => {
                let k = 2 + usize::from(kind.has_updates());
                (k, k)
            }
            _ => (1, 1),
        }
    }

    fn check(_g: &QuantizedGraph, n: &QuantNode) -> Result<(), String> {
        match &n.op {
            QuantOp::IndexedMove { index_frac, .. } if index_frac.unsigned_abs() > MAX_FRAC => {
                Err(format!("index fraction {index_frac} out of range"))
            }
            _ => Ok(()),
        }
    }

    fn plan(_b: &mut PlanBuilder<'_>, _ni: usize) -> Result<(), String> {
        Ok(())
    }

    fn backward<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, claim: Weighted) -> Result<(), Error> {
        let g = ctx.g;
        let n = &g.nodes[ni];
        let sout = ctx.shape(n.output.0);
        let bad = |why: &str| unsupported(g, ni, why);
        match &n.op {
            QuantOp::Move(fop) => {
                let x = input(g, ni, 0)?;
                let sx = ctx.shape(x);
                let map =
                    structural_map(fop, sx, sout).ok_or_else(|| bad("not a data movement"))?;
                let w = scatter(&claim.w, &map, sx.iter().product());
                ctx.add(x, w, claim.value);
            }
            QuantOp::Pad { pads, value } => {
                let x = input(g, ni, 0)?;
                let sx = ctx.shape(x);
                let map = sk::pad_map(sx, pads, sout);
                let fill: EF = claim
                    .w
                    .iter()
                    .zip(&map)
                    .filter(|(_, m)| m.is_none())
                    .map(|(w, _)| *w)
                    .sum();
                let w = scatter(&claim.w, &map, sx.iter().product());
                ctx.add(x, w, claim.value - ef(*value) * fill);
            }
            QuantOp::Concat { axis } => concat(ctx, ni, *axis, claim)?,
            QuantOp::IndexedMove { kind, index_frac } => {
                indexed_move(ctx, ni, *kind, *index_frac, claim).map_err(|why| bad(&why))?
            }
            _ => return Err(bad("not a data movement")),
        }
        Ok(())
    }
}

/// Indexed movement with public indices: both sides read the index tensor from the public
/// inputs and move the weights through the map, like [`QuantOp::Move`]; a scatter splits the
/// claim between data and updates with one prover message (the data part's value).
fn indexed_move<S: Side>(
    ctx: &mut Ctx<'_, S>,
    ni: usize,
    kind: IndexKind,
    index_frac: i32,
    claim: Weighted,
) -> Result<(), String> {
    let g = ctx.g;
    let n = &g.nodes[ni];
    let (x, it) = match n.inputs[..] {
        [x, it, ..] => (x.0, it.0),
        _ => return Err("missing inputs".into()),
    };
    let pos = g
        .inputs
        .iter()
        .position(|t| t.0 == it)
        .ok_or("the indices are not a public model input")?;
    let q = ctx.inputs.get(pos).ok_or("missing public input")?;
    let idx = indexed::dequant_indices(q, index_frac)?;
    let upd = n.inputs.get(2).map(|t| t.0);
    let sx = ctx.shape(x);
    let supd = upd.map(|u| ctx.shape(u));
    let map = indexed::indexed_map(kind, sx, ctx.shape(it), &idx, supd, ctx.shape(n.output.0))?;
    let Some(u) = upd else {
        // A gather (an embedding lookup): sparse, so that a claim on a large table costs the
        // verifier the rows looked up, not the table.
        let entries = map
            .iter()
            .zip(&claim.w)
            .filter_map(|(s, &w)| match *s {
                Src::Data(j) => Some((j, w)),
                Src::Update(_) => None,
            })
            .collect();
        ctx.add_sparse(x, entries, claim.value);
        return Ok(());
    };
    let mut wd = vec![EF::ZERO; sx.iter().product()];
    let mut wu = vec![EF::ZERO; supd.map_or(0, |s| s.iter().product())];
    for (s, &w) in map.iter().zip(&claim.w) {
        match *s {
            Src::Data(j) => wd[j] += w,
            Src::Update(j) => wu[j] += w,
        }
    }
    let wit = ctx.wit;
    let vd = ctx
        .side
        .msg("model.scatter_data", 1, || vec![dot(&wd, ctx_vals(wit, x))])
        .map_err(|e| e.to_string())?
        .first()
        .copied()
        .ok_or("missing scatter message")?;
    ctx.add(x, wd, vd);
    ctx.add(u, wu, claim.value - vd);
    Ok(())
}

/// Concat: the output's weights split into one block per input; the prover sends all but the
/// last part's value, the last is what remains.
fn concat<S: Side>(
    ctx: &mut Ctx<'_, S>,
    ni: usize,
    axis: usize,
    claim: Weighted,
) -> Result<(), Error> {
    let g = ctx.g;
    let n = &g.nodes[ni];
    let sout = ctx.shape(n.output.0);
    let outer: usize = sout[..axis].iter().product();
    let mut parts: Vec<Vec<EF>> = Vec::new();
    let mut off = 0;
    for t in &n.inputs {
        let s = ctx.shape(t.0);
        let (d, inner) = (s[axis], s[axis + 1..].iter().product::<usize>());
        let mut w = vec![EF::ZERO; s.iter().product()];
        for o in 0..outer {
            for a in 0..d {
                for i in 0..inner {
                    let src = (o * d + a) * inner + i;
                    let dst = (o * sout[axis] + off + a) * inner + i;
                    w[src] = claim.w.get(dst).copied().unwrap_or(EF::ZERO);
                }
            }
        }
        off += d;
        parts.push(w);
    }
    let k = parts.len();
    let wit = ctx.wit;
    let ids: Vec<usize> = n.inputs.iter().map(|t| t.0).collect();
    let vals = ctx.side.msg("model.concat_parts", k - 1, || {
        parts[..k - 1]
            .iter()
            .zip(&ids)
            .map(|(w, &id)| dot(w, ctx_vals(wit, id)))
            .collect()
    })?;
    let last = claim.value - vals.iter().copied().sum::<EF>();
    for ((w, id), v) in parts
        .into_iter()
        .zip(ids)
        .zip(vals.into_iter().chain([last]))
    {
        ctx.add(id, w, v);
    }
    Ok(())
}
