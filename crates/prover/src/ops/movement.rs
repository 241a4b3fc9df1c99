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
        if let Some(rows) = committed_rows(ctx, kind, x, &map) {
            return gather_rows(ctx, ni, x, &rows, claim).map_err(|e| e.to_string());
        }
        // Any other gather: sparse, so that a claim on a large table costs the verifier the
        // entries looked up, not the table.
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

/// The rows an embedding lookup reads, when its table is a committed constant `[V, d]` in its
/// natural layout gathered along axis 0 (`out[t, :] = x[rows[t], :]`): such a claim is settled
/// by [`gather_rows`] instead of a sparse claim. Decided by the op, the shapes and the plan
/// only (the rows themselves are public inputs), so both sides and the masked shape pass agree.
fn committed_rows<S: Side>(
    ctx: &Ctx<'_, S>,
    kind: IndexKind,
    x: usize,
    map: &[Src],
) -> Option<Vec<usize>> {
    let sx = ctx.shape(x);
    let slot = *ctx.plan.const_slot.get(&x)?;
    if kind != (IndexKind::Gather { axis: 0 })
        || sx.len() != 2
        || sx[1] == 0
        || ctx.plan.consts[slot].1 != crate::plan::ConstLayout::Natural
    {
        return None;
    }
    let d = sx[1];
    map.chunks(d)
        .map(|row| match row.first() {
            Some(&Src::Data(j)) if row.len() == d => Some(j / d),
            _ => None,
        })
        .collect()
}

/// An embedding lookup `G[t, :] = E[rows[t], :]` from a committed table `E [V, d]`, settled
/// without touching the table: the claim `Σ_i W[i]·G[i] = v` is reduced to a point `(s_t, s_d)`
/// of `G`'s padded layout by a degree-2 sumcheck over `G` (`T·d` entries, soundness error
/// `2n/|EF|` for its `n` variables); the prover sends `e_t = E(rows[t], s_d)` for every `t`;
/// the verifier checks `Σ_t eq(s_t, t)·e_t = G(s_t, s_d)` (exact: `G`'s padding is zero) and
/// each `e_t` becomes a point claim on `E` whose row coordinates are the bits of `rows[t]` — a
/// claim on one row's sub-cube, which the weight opening settles with the rest (its cost is
/// the row's `d` entries, not the table's `V·d`).
fn gather_rows<S: Side>(
    ctx: &mut Ctx<'_, S>,
    ni: usize,
    x: usize,
    rows: &[usize],
    claim: Weighted,
) -> Result<(), Error> {
    let out = ctx.g.nodes[ni].output.0;
    let (v, d) = (ctx.shape(x)[0], ctx.shape(x)[1]);
    let gl = crate::layout::Padded::new(&[rows.len(), d]);
    let mut w = claim.w;
    w.resize(rows.len() * d, EF::ZERO);
    let wpad = gl.pad_weights(&w);
    drop(w);
    let wit = ctx.wit;
    let (s, evals) = ctx.side.sumcheck(
        claim.value,
        gl.num_vars(),
        &zkinfer_sumcheck::Composition::product(2),
        1,
        || {
            vec![
                zkinfer_sumcheck::Mle::Ext(wpad.clone()),
                zkinfer_sumcheck::Mle::Ext(gl.pad(&super::bilinear::to_ext(ctx_vals(wit, out)))),
            ]
        },
        |p| vec![zkinfer_poly::evaluate(&wpad, p)],
    )?;
    let parts = gl.split(&s);
    let (s_t, s_d) = (&parts[0], &parts[1]);
    let eq_d = zkinfer_poly::eq_table(s_d);
    let table = ctx_vals(wit, x);
    let e = ctx.side.msg("model.gather_rows", rows.len(), || {
        rows.iter()
            .map(|&r| {
                let row = table.get(r * d..(r + 1) * d).unwrap_or(&[]);
                eq_d.iter().zip(row).map(|(&z, &y)| z * ef(y)).sum::<EF>()
            })
            .collect()
    })?;
    let eq_t = zkinfer_poly::eq_table(s_t);
    let folded: EF = eq_t.iter().zip(&e).map(|(&z, &y)| z * y).sum();
    ctx.side.check(
        folded == evals[1],
        "gathered rows do not add up to the claim",
    )?;
    let xl = crate::layout::Padded::new(&[v, d]);
    let row_vars = xl.dim_vars(0);
    for (&r, &value) in rows.iter().zip(&e) {
        let bits: Vec<EF> = (0..row_vars)
            .map(|j| if (r >> j) & 1 == 1 { EF::ONE } else { EF::ZERO })
            .collect();
        let point = xl.point(&[bits, s_d.clone()]);
        ctx.point_claim(x, point, value);
    }
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
