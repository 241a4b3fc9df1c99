//! Requantized ops: Einsum, Conv, SumPool, Add/Sub, Mul, Rescale, ReduceSum and Select.
//! Each computes an integer accumulator `acc` from its inputs and requantizes it:
//! `y = clamp(⌊(M·acc + 2^{s−1})/2^s⌋)`, proven with `y` range-checked in the activation
//! range (so the clamp never acts: an input that would saturate is a prover error) and the
//! remainder `r = M·acc + 2^{s−1} − 2^s·y` committed in 16-bit limbs, each range-checked —
//! together the integer relation, given the field-safety bounds `Plan::new` enforces.
//! A claim on `y` becomes a claim on `acc` and on the limbs (no proof bytes beyond one value);
//! the accumulator's own relation is linear for Rescale, ReduceSum, SumPool and Add/Sub
//! (index maps; one prover message splits an Add/Sub), a sumcheck for Einsum and Mul
//! ([`super::bilinear`]), Conv ([`super::conv`]) and Select ([`super::compare::select`]).
//! Select's condition is range-checked to {0, 1}. Soundness error: that of those sumchecks.

use zkinfer_model::kernels::{self, linear, pool, reduce, shape as sk};
use zkinfer_model::quant::{QuantNode, RequantIndex};
use zkinfer_model::{QuantOp, QuantizedGraph, Trace};

use super::{bilinear, compare, conv, ctx_vals, unsupported, OpFamily};
use crate::error::Error;
use crate::layout::{dot, pad_base, scatter};
use crate::plan::{
    broadcasts, requant, signed_shift, window_ok, Col, ConstLayout, Plan, PlanBuilder, TableSpec,
    LIMB_BITS,
};
use crate::side::Side;
use crate::walk::{ef, pow2, Ctx, Weighted, Witness};
use crate::EF;
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// The requantized op family.
pub struct Requantized;

impl OpFamily for Requantized {
    fn owns(op: &QuantOp) -> bool {
        matches!(
            op,
            QuantOp::Einsum { .. }
                | QuantOp::Conv { .. }
                | QuantOp::SumPool { .. }
                | QuantOp::AddSub { .. }
                | QuantOp::Mul { .. }
                | QuantOp::Rescale { .. }
                | QuantOp::ReduceSum { .. }
                | QuantOp::Select { .. }
        )
    }

    fn arity(op: &QuantOp) -> (usize, usize) {
        match op {
            QuantOp::Einsum { .. } | QuantOp::Conv { .. } => (2, 3),
            QuantOp::AddSub { .. } | QuantOp::Mul { .. } => (2, 2),
            QuantOp::Select { .. } => (3, 3),
            _ => (1, 1),
        }
    }

    fn check(g: &QuantizedGraph, n: &QuantNode) -> Result<(), String> {
        let shape = |k: usize| g.tensors[n.inputs[k].0].shape.as_slice();
        let out = g.tensors[n.output.0].shape.as_slice();
        match &n.op {
            QuantOp::AddSub { .. } | QuantOp::Mul { .. } | QuantOp::Select { .. } => {
                for k in 0..n.inputs.len() {
                    if !broadcasts(shape(k), out) {
                        return Err(format!(
                            "operand {k} of shape {:?} does not broadcast to the output {:?}",
                            shape(k),
                            out
                        ));
                    }
                }
            }
            QuantOp::Conv { spec, .. } => {
                let (x, w) = (shape(0), shape(1));
                let wn = &spec.window;
                let sp = wn.kernel.len();
                let grp = spec.group;
                let ok = w.len() == sp + 2
                    && x.len() > sp
                    && out.len() == x.len()
                    && w[2..] == wn.kernel[..]
                    && window_ok(wn)
                    && grp >= 1
                    && w[0] % grp == 0
                    && x[x.len() - sp - 1] == w[1] * grp
                    && out[out.len() - sp - 1] == w[0];
                if !ok {
                    return Err(format!(
                        "convolution geometry inconsistent: input {x:?}, weight {w:?}, output {out:?}, {wn:?}, groups {grp}"
                    ));
                }
                if n.inputs.len() == 3 && shape(2).iter().product::<usize>() != w[0] {
                    return Err("convolution bias is not one value per output channel".into());
                }
            }
            QuantOp::SumPool { window: wn, .. }
                if !window_ok(wn) || out.len() < wn.kernel.len() =>
            {
                return Err(format!("window geometry inconsistent: {wn:?}"));
            }
            _ => {}
        }
        Ok(())
    }

    fn const_layout(op: &QuantOp, k: usize) -> ConstLayout {
        match (op, k) {
            (QuantOp::Conv { spec, .. }, 1) => ConstLayout::Conv {
                groups: spec.group.max(1),
            },
            _ => ConstLayout::Natural,
        }
    }

    fn plan(b: &mut PlanBuilder<'_>, ni: usize) -> Result<(), String> {
        let g = b.g;
        let n = &g.nodes[ni];
        let out = &g.tensors[n.output.0];
        let numel: usize = out.shape.iter().product();
        let (lo, hi) = g.config.act_range();
        let act_bits = g.config.act_bits;
        if let QuantOp::Select { .. } = &n.op {
            // The condition must be 0/1.
            let c = n.inputs.first().ok_or("no condition")?;
            let rows: usize = g.tensors[c.0].shape.iter().product();
            b.lookup(
                ni,
                TableSpec::Range(1),
                vec![Col::Tensor { id: c.0, fill: 0 }],
                rows.max(1),
            );
        }
        let rq = requant(&n.op).ok_or("no requant")?;
        if rq.lo != lo || rq.hi != hi {
            return Err("requantization clamp differs from the activation range".into());
        }
        if let RequantIndex::Axis(a) = rq.index {
            if a >= out.shape.len() {
                return Err("requantization axis out of range".into());
            }
        }
        b.lookup_scaled(
            ni,
            TableSpec::Range(act_bits),
            vec![Col::Tensor {
                id: n.output.0,
                fill: 0,
            }],
            numel,
            signed_shift(act_bits),
            1,
        );
        b.limbs(ni, rq.shift, 0, numel);
        Ok(())
    }

    fn witness(
        w: &mut Witness<'_>,
        g: &QuantizedGraph,
        plan: &Plan,
        ni: usize,
    ) -> Result<(), String> {
        let n = &g.nodes[ni];
        let rq = requant(&n.op).ok_or("no requantization")?;
        let tr = w.trace;
        let (c, a) = accumulator_values(g, ni, tr).ok_or("accumulator")?;
        let sout = &g.tensors[n.output.0].shape;
        let y = &tr.values[n.output.0];
        let s = rq.shift;
        let half: i128 = if s > 0 { 1i128 << (s - 1) } else { 0 };
        let mut limbs: Vec<Vec<i64>> = vec![Vec::with_capacity(y.len()); plan.limbs[ni].len()];
        for (i, (&ai, &yi)) in a.iter().zip(y).enumerate() {
            let m = i128::from(rq.multiplier(i, sout));
            let r = m * i128::from(ai) + half - (i128::from(yi) << s);
            if r < 0 || r >= 1i128 << s {
                return Err(format!(
                    "output element {i} saturated the activation range (value {} outside [{}, {}]): \
                     this input exceeds the calibrated range; recompile with it in --calibration",
                    (m * i128::from(ai) + half) >> s,
                    rq.lo,
                    rq.hi
                ));
            }
            for (j, l) in limbs.iter_mut().enumerate() {
                l.push(((r >> (LIMB_BITS as usize * j)) & ((1 << LIMB_BITS) - 1)) as i64);
            }
        }
        for (&(p, _), l) in plan.limbs[ni].iter().zip(&limbs) {
            w.polys[p] = pad_base(l, 0);
        }
        w.core[ni] = c;
        w.acc[ni] = Some(a);
        Ok(())
    }

    fn backward<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, claim: Weighted) -> Result<(), Error> {
        let g = ctx.g;
        let rq = requant(&g.nodes[ni].op).ok_or_else(|| unsupported(g, ni, "no requantization"))?;
        let (w, v) = requantize(ctx, ni, rq, claim)?;
        accumulator(ctx, ni, w, v)
    }
}

/// The accumulator of a requantizing node from the trace: (bilinear core before the bias,
/// where one exists; full accumulator).
fn accumulator_values(
    g: &QuantizedGraph,
    ni: usize,
    tr: &Trace,
) -> Option<(Option<Vec<i64>>, Vec<i64>)> {
    let n = &g.nodes[ni];
    let v = |k: usize| Some(tr.value(g, n.inputs.get(k)?.0));
    let s = |k: usize| {
        g.tensors
            .get(n.inputs.get(k)?.0)
            .map(|t| t.shape.as_slice())
    };
    let sout = &g.tensors.get(n.output.0)?.shape;
    let shl = |a: i64, k: u32| a.wrapping_shl(k);
    Some(match &n.op {
        QuantOp::Einsum { expr, .. } => {
            let e = linear::EinsumExpr::parse(expr)?;
            let core = linear::einsum(&e, v(0)?, s(0)?, v(1)?, s(1)?, sout)?;
            let acc = match (v(2), s(2)) {
                (Some(b), Some(sb)) => kernels::binary(&core, sout, b, sb, sout, i64::wrapping_add),
                _ => core.clone(),
            };
            (Some(core), acc)
        }
        QuantOp::Conv { spec, .. } => {
            let core = linear::conv(spec, v(0)?, s(0)?, v(1)?, s(1)?, None, sout)?;
            let acc = linear::conv(spec, v(0)?, s(0)?, v(1)?, s(1)?, v(2), sout)?;
            (Some(core), acc)
        }
        QuantOp::SumPool { window, .. } => (
            None,
            pool::window_fold(window, v(0)?, s(0)?, sout, 0, i64::wrapping_add)?.0,
        ),
        QuantOp::AddSub {
            lhs_shift,
            rhs_shift,
            sub,
            ..
        } => (
            None,
            kernels::binary(v(0)?, s(0)?, v(1)?, s(1)?, sout, |a, b| {
                if *sub {
                    shl(a, *lhs_shift).wrapping_sub(shl(b, *rhs_shift))
                } else {
                    shl(a, *lhs_shift).wrapping_add(shl(b, *rhs_shift))
                }
            }),
        ),
        QuantOp::Mul { .. } => (
            None,
            kernels::binary(v(0)?, s(0)?, v(1)?, s(1)?, sout, i64::wrapping_mul),
        ),
        QuantOp::Rescale { .. } => (None, v(0)?.to_vec()),
        QuantOp::Select {
            lhs_shift,
            rhs_shift,
            ..
        } => {
            let a: Vec<i64> = v(1)?.iter().map(|&x| shl(x, *lhs_shift)).collect();
            let b: Vec<i64> = v(2)?.iter().map(|&x| shl(x, *rhs_shift)).collect();
            (
                None,
                zkinfer_model::eval::where_select(
                    &[v(0)?, &a, &b],
                    &[s(0)?, s(1)?, s(2)?],
                    sout,
                    0,
                )?,
            )
        }
        QuantOp::ReduceSum { axes, .. } => {
            let x = v(0)?;
            (
                None,
                reduce::reduce_groups(s(0)?, axes)
                    .iter()
                    .map(|gr| gr.iter().fold(0i64, |a, &i| a.wrapping_add(x[i])))
                    .collect(),
            )
        }
        _ => return None,
    })
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
