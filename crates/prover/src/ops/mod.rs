//! Per-op reductions: a merged claim on a node's output becomes claims on its inputs.
//!
//! Linear and structural ops (Move, Pad, Concat, Add/Sub, ReduceSum, SumPool, Rescale) move
//! weights through their index maps: `Σ_i W[i]·y[i] = Σ_j (Aᵀ W)[j]·x[j]` — no proof bytes.
//! Requantization is linear in the accumulator and the committed remainder limbs. Bilinear
//! ops (Einsum, Conv, Mul) run sumchecks ([`bilinear`], [`conv`]). Lookup outputs are
//! committed, so their claims go to the witness opening.

pub mod argmax;
pub mod attain;
pub mod bilinear;
pub mod compare;
pub mod conv;
pub mod max;
pub mod softmax;

use zkinfer_model::eval::structural_map;
use zkinfer_model::kernels::indexed::{self, IndexKind, Src};
use zkinfer_model::kernels::{reduce, shape as sk};
use zkinfer_model::QuantOp;

use crate::error::Error;
use crate::layout::{dot, scatter};
use crate::plan::{requant, LIMB_BITS};
use crate::side::Side;
use crate::walk::{ef, pow2, Ctx, Weighted};
use crate::EF;
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// Processes node `ni`.
pub fn backward<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize) -> Result<(), Error> {
    let g = ctx.g;
    let n = &g.nodes[ni];
    ctx.side
        .set_stage(format!("node `{}` ({})", n.name, n.op.name()));
    if matches!(
        n.op,
        QuantOp::MaxPool(_) | QuantOp::ReduceMax { .. } | QuantOp::Relu
    ) {
        max::attainment(ctx, ni)?;
    }
    if matches!(n.op, QuantOp::Compare { .. }) {
        compare::relation(ctx, ni)?;
    }
    if matches!(n.op, QuantOp::Softmax { .. }) {
        softmax::relations(ctx, ni)?;
    }
    let Some(claim) = ctx.take(n.output.0) else {
        return Ok(());
    };
    if matches!(n.op, QuantOp::ArgMax) {
        // The output is public (plan): the verifier evaluated this claim itself, and the
        // relation to the input is the range lookup on `argmax::diff_column`.
        return Ok(());
    }
    let sout = ctx.shape(n.output.0);
    let input = |k: usize| -> Result<usize, Error> {
        n.inputs
            .get(k)
            .map(|t| t.0)
            .ok_or_else(|| Error::Prover(format!("node `{}`: missing input {k}", n.name)))
    };
    let bad = |why: &str| Error::Unsupported {
        node: n.name.clone(),
        op: n.op.name(),
        reason: why.to_string(),
    };
    match &n.op {
        QuantOp::Lookup { .. }
        | QuantOp::MaxPool(_)
        | QuantOp::ReduceMax { .. }
        | QuantOp::Relu
        | QuantOp::Compare { .. }
        | QuantOp::Softmax { .. } => {
            let p = ctx.plan.out_poly[ni].ok_or_else(|| bad("no committed output"))?;
            ctx.poly_claims[p].push(claim);
        }
        QuantOp::Move(fop) => {
            let x = input(0)?;
            let sx = ctx.shape(x);
            let map = structural_map(fop, sx, sout).ok_or_else(|| bad("not a data movement"))?;
            let w = scatter(&claim.w, &map, sx.iter().product());
            ctx.add(x, w, claim.value);
        }
        QuantOp::Pad { pads, value } => {
            let x = input(0)?;
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
        op => {
            let rq = requant(op).ok_or_else(|| bad("no proof protocol"))?;
            let (w, v) = requantize(ctx, ni, rq, claim)?;
            accumulator(ctx, ni, w, v)?;
        }
    }
    Ok(())
}

/// `y = (M·acc + c − r)/2^s` with `r = Σ_j 2^{16j} r_j` committed: the claim on `y` becomes
/// claims on `acc` (weights `W⊙M`) and on each limb. The range checks on `y` and the limbs
/// (in the lookup argument) make this the integer relation `y = ⌊(M·acc + 2^{s−1})/2^s⌋`.
fn requantize<S: Side>(
    ctx: &mut Ctx<'_, S>,
    ni: usize,
    rq: &zkinfer_model::quant::Requant,
    claim: Weighted,
) -> Result<(Vec<EF>, EF), Error> {
    let g = ctx.g;
    let n = &g.nodes[ni];
    let sout = ctx.shape(n.output.0);
    let wm: Vec<EF> = claim
        .w
        .iter()
        .enumerate()
        .map(|(i, &w)| w * ef(rq.multiplier(i, sout)))
        .collect();
    let limbs = ctx.plan.limbs[ni].clone();
    if limbs.is_empty() {
        // s = 0: y = M·acc exactly.
        return Ok((wm, claim.value));
    }
    let wit = ctx.wit;
    let v_acc = ctx.side.msg("model.requant_acc", 1, || {
        let acc = wit.and_then(|w| w.acc[ni].as_deref()).unwrap_or(&[]);
        vec![dot(&wm, acc)]
    })?[0];
    let rest = ctx.side.msg("model.requant_limbs", limbs.len() - 1, || {
        let w = &claim.w;
        limbs[1..]
            .iter()
            .map(|&(p, _)| {
                let poly = wit.map(|x| x.polys[p].as_slice()).unwrap_or(&[]);
                w.iter().zip(poly).map(|(&a, &b)| a * EF::from(b)).sum()
            })
            .collect()
    })?;
    let c = if rq.shift > 0 {
        pow2(rq.shift - 1)
    } else {
        EF::ZERO
    };
    let wsum: EF = claim.w.iter().copied().sum();
    let v_r = v_acc + c * wsum - pow2(rq.shift) * claim.value;
    let mut v0 = v_r;
    for (j, v) in rest.iter().enumerate() {
        v0 -= pow2(LIMB_BITS * (j as u32 + 1)) * *v;
    }
    let values: Vec<EF> = std::iter::once(v0).chain(rest).collect();
    for (&(p, _), v) in limbs.iter().zip(values) {
        ctx.poly_claims[p].push(Weighted {
            w: claim.w.clone(),
            value: v,
        });
    }
    Ok((wm, v_acc))
}

/// Reduces a claim on a node's accumulator to claims on its inputs.
fn accumulator<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, w: Vec<EF>, v: EF) -> Result<(), Error> {
    let g = ctx.g;
    let n = &g.nodes[ni];
    let sout = ctx.shape(n.output.0);
    let x = n.inputs.first().map(|t| t.0).unwrap_or(0);
    match &n.op {
        QuantOp::Rescale { .. } => ctx.add(x, w, v),
        QuantOp::AddSub {
            lhs_shift,
            rhs_shift,
            sub,
            ..
        } => {
            let b = n.inputs.get(1).map(|t| t.0).unwrap_or(0);
            let (sa, sb) = (ctx.shape(x), ctx.shape(b));
            let wa: Vec<EF> = scatter(&w, &sk::broadcast_map(sa, sout), sa.iter().product())
                .into_iter()
                .map(|e| e * pow2(*lhs_shift))
                .collect();
            let sign = if *sub { -EF::ONE } else { EF::ONE };
            let wb: Vec<EF> = scatter(&w, &sk::broadcast_map(sb, sout), sb.iter().product())
                .into_iter()
                .map(|e| e * pow2(*rhs_shift) * sign)
                .collect();
            let va = ctx.side.msg("model.addsub_lhs", 1, || {
                vec![dot(&wa, ctx_vals(ctx.wit, x))]
            })?[0];
            ctx.add(x, wa, va);
            ctx.add(b, wb, v - va);
        }
        QuantOp::ReduceSum { axes, .. } => {
            let sx = ctx.shape(x);
            let mut wx = vec![EF::ZERO; sx.iter().product()];
            for (o, grp) in reduce::reduce_groups(sx, axes).iter().enumerate() {
                let wo = w.get(o).copied().unwrap_or(EF::ZERO);
                for &i in grp {
                    wx[i] += wo;
                }
            }
            ctx.add(x, wx, v);
        }
        QuantOp::SumPool { window, .. } => {
            let sx = ctx.shape(x);
            let wins = conv::windows(window, sx, sout).ok_or_else(|| Error::Unsupported {
                node: n.name.clone(),
                op: n.op.name(),
                reason: "bad pooling geometry".into(),
            })?;
            let mut wx = vec![EF::ZERO; sx.iter().product()];
            for (o, list) in wins.iter().enumerate() {
                let wo = w.get(o).copied().unwrap_or(EF::ZERO);
                for &i in list {
                    wx[i] += wo;
                }
            }
            ctx.add(x, wx, v);
        }
        QuantOp::Mul { .. } => bilinear::mul(ctx, ni, w, v)?,
        QuantOp::Select { .. } => compare::select(ctx, ni, w, v)?,
        QuantOp::Einsum { .. } => bilinear::einsum(ctx, ni, w, v)?,
        QuantOp::Conv { .. } => conv::conv(ctx, ni, w, v)?,
        _ => {
            return Err(Error::Unsupported {
                node: n.name.clone(),
                op: n.op.name(),
                reason: "no proof protocol".into(),
            })
        }
    }
    Ok(())
}

/// Prover-side values of a tensor (empty on the verifier).
pub fn ctx_vals<'a>(wit: Option<&'a crate::walk::Witness<'a>>, id: usize) -> &'a [i64] {
    wit.and_then(|w| w.trace.values.get(id))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Concat: the output's weights split into one block per input; the prover sends all but the
/// last part's value, the last is what remains.
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
    let mut wd = vec![EF::ZERO; sx.iter().product()];
    let mut wu = vec![EF::ZERO; supd.map_or(0, |s| s.iter().product())];
    for (s, &w) in map.iter().zip(&claim.w) {
        match *s {
            Src::Data(j) => wd[j] += w,
            Src::Update(j) => wu[j] += w,
        }
    }
    let Some(u) = upd else {
        ctx.add(x, wd, claim.value);
        return Ok(());
    };
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
