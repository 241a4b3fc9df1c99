//! Lowering of element-wise, structural, reduction and softmax ops.

use super::graph::{QTensorKind, QuantOp};
use super::lower::Lowering;
use super::requant::Requant;
use super::table::pow2;
use crate::error::Result;
use crate::graph::{FloatNode, TensorId};
use crate::ops::{BinaryKind, FloatOp, ReduceKind, UnaryFn};

pub(crate) fn lower(l: &mut Lowering, node: &FloatNode) -> Result<TensorId> {
    let (lo, hi) = l.cfg.act_range();
    let ab = l.cfg.act_bits;
    let out_shape = l.fg.tensor(node.output)?.shape.clone();
    let fy = l.act_frac(node.output);
    let fid = Some(node.output);
    let name = node.name.as_str();
    let scalar_const = |l: &Lowering, i: usize| -> Option<f32> {
        l.fg.const_data(*node.inputs.get(i)?)
            .filter(|d| !d.is_empty() && d.iter().all(|v| *v == d[0]))
            .map(|d| d[0])
    };
    match &node.op {
        FloatOp::Unary(f) => {
            let (qx, fx) = l.operand(node.inputs[0], ab, None)?;
            let fo = if f.keeps_scale() { fx } else { fy };
            Ok(l.unary(name, *f, qx, fx, fo, fid))
        }
        FloatOp::Binary(k) => {
            let (a, b) = (node.inputs[0], node.inputs[1]);
            let (ca, cb) = (l.fg.const_data(a).is_some(), l.fg.const_data(b).is_some());
            // Activation op scalar-constant → one lookup table.
            let unary = match (k, scalar_const(l, 0), scalar_const(l, 1)) {
                (BinaryKind::Max, _, Some(0.0)) | (BinaryKind::Max, Some(0.0), _) => {
                    Some(UnaryFn::Relu)
                }
                (BinaryKind::Max, _, Some(c)) | (BinaryKind::Max, Some(c), _) => {
                    Some(UnaryFn::Clip(c, f32::INFINITY))
                }
                (BinaryKind::Min, _, Some(c)) | (BinaryKind::Min, Some(c), _) => {
                    Some(UnaryFn::Clip(f32::NEG_INFINITY, c))
                }
                (BinaryKind::Pow, _, Some(c)) if !ca => Some(UnaryFn::PowConst(c)),
                // c^x = e^(x·ln c): one table when the base is a positive scalar constant.
                (BinaryKind::Pow, Some(c), _)
                    if !cb && c > 0.0 && l.fg.const_data(a).map_or(0, |d| d.len()) == 1 =>
                {
                    Some(UnaryFn::PowBase(c))
                }
                (BinaryKind::Div, Some(c), _) if !cb && c == 1.0 => Some(UnaryFn::Recip),
                (BinaryKind::Div, _, Some(c)) if !ca && c != 0.0 => Some(UnaryFn::Scale(1.0 / c)),
                (BinaryKind::Mul, _, Some(c)) | (BinaryKind::Mul, Some(c), _)
                    if l.fg.const_data(a).map_or(1, |d| d.len()) == 1
                        || l.fg.const_data(b).map_or(1, |d| d.len()) == 1 =>
                {
                    Some(UnaryFn::Scale(c))
                }
                _ => None,
            };
            if let Some(f) = unary {
                let x = if ca { b } else { a };
                let (qx, fx) = l.operand(x, ab, None)?;
                let fo = if f.keeps_scale() { fx } else { fy };
                return Ok(l.unary(name, f, qx, fx, fo, fid));
            }
            if ca && cb {
                return Err(Lowering::unquantizable(
                    node,
                    "both operands constant (not folded)",
                ));
            }
            match k {
                BinaryKind::Max | BinaryKind::Min => max_min(l, name, a, b, *k, out_shape, fy, fid),
                BinaryKind::Add | BinaryKind::Sub => {
                    let other_frac = |l: &mut Lowering, t: TensorId| -> Result<Option<i32>> {
                        Ok(if l.fg.const_data(t).is_some() {
                            None
                        } else {
                            Some(l.operand(t, ab, None)?.1)
                        })
                    };
                    let (oa, ob) = (other_frac(l, b)?, other_frac(l, a)?);
                    let (qa, fa) = l.operand(a, ab, oa)?;
                    let (qb, fb) = l.operand(b, ab, ob)?;
                    let ((qa, fa), (qb, fb)) = limit_gap(l, name, (qa, fa), (qb, fb));
                    let f = fa.max(fb);
                    let (ls, rs) = ((f - fa) as u32, (f - fb) as u32);
                    let op = QuantOp::AddSub {
                        lhs_shift: ls,
                        rhs_shift: rs,
                        sub: *k == BinaryKind::Sub,
                        requant: Requant::from_ratio(pow2(fy - f), lo, hi),
                    };
                    Ok(l.push(name, op, vec![qa, qb], out_shape, fy, fid))
                }
                BinaryKind::Mul => {
                    let wb = l.cfg.weight_bits;
                    let (qa, fa) = l.operand(a, if ca { wb } else { ab }, None)?;
                    let (qb, fb) = l.operand(b, if cb { wb } else { ab }, None)?;
                    let requant = Requant::from_ratio(pow2(fy - fa - fb), lo, hi);
                    Ok(l.push(
                        name,
                        QuantOp::Mul { requant },
                        vec![qa, qb],
                        out_shape,
                        fy,
                        fid,
                    ))
                }
                BinaryKind::Div => {
                    let (qa, fa) = l.operand(a, ab, None)?;
                    let (qb, fb) = l.operand(b, ab, None)?;
                    // 1/b by lookup, then a product.
                    let inv_max = 1.0
                        / l.cal
                            .min_abs
                            .get(b.0)
                            .copied()
                            .unwrap_or(1.0)
                            .max(pow2(-fb));
                    let fr = l.frac_for(inv_max, ab, l.cfg.headroom_bits);
                    let r = l.unary(&format!("{name}.recip"), UnaryFn::Recip, qb, fb, fr, None);
                    let requant = Requant::from_ratio(pow2(fy - fa - fr), lo, hi);
                    Ok(l.push(
                        name,
                        QuantOp::Mul { requant },
                        vec![qa, r],
                        out_shape,
                        fy,
                        fid,
                    ))
                }
                BinaryKind::Pow => Err(Lowering::unquantizable(
                    node,
                    if ca {
                        "Pow with a constant base needs a positive scalar base"
                    } else {
                        "Pow with a non-constant base and a non-constant exponent"
                    },
                )),
                cmp => {
                    let (oa, ob) = (const_frac_hint(l, b)?, const_frac_hint(l, a)?);
                    let (qa, fa) = l.operand(a, ab, oa)?;
                    let (qb, fb) = l.operand(b, ab, ob)?;
                    let ((qa, fa), (qb, fb)) = limit_gap(l, name, (qa, fa), (qb, fb));
                    let f = fa.max(fb);
                    let op = QuantOp::Compare {
                        lhs_shift: (f - fa) as u32,
                        rhs_shift: (f - fb) as u32,
                        kind: *cmp,
                    };
                    Ok(l.push(name, op, vec![qa, qb], out_shape, 0, fid))
                }
            }
        }
        FloatOp::Where => {
            let (qc, _) = l.operand(node.inputs[0], ab, None)?;
            // The relation needs a 0/1 condition: make `c ≠ 0` explicit unless `c` already is a
            // comparison's output.
            let is_bool =
                l.q.nodes
                    .iter()
                    .any(|n| n.output == qc && matches!(n.op, QuantOp::Compare { .. }));
            let qc = if is_bool {
                qc
            } else {
                let cshape = l.q.tensors[qc.0].shape.clone();
                let zero = l.add_const(&format!("{name}.zero"), vec![1], vec![0], 0, None);
                let op = QuantOp::Compare {
                    lhs_shift: 0,
                    rhs_shift: 0,
                    kind: BinaryKind::NotEqual,
                };
                l.push(&format!("{name}.cond"), op, vec![qc, zero], cshape, 0, None)
            };
            let (a, b) = (node.inputs[1], node.inputs[2]);
            let fy = mask_frac(l, a, b, fy);
            let (oa, ob) = (const_frac_hint(l, b)?, const_frac_hint(l, a)?);
            let (qa, fa) = l.operand(a, ab, oa.or(Some(fy)))?;
            let (qb, fb) = l.operand(b, ab, ob.or(Some(fy)))?;
            let ((qa, fa), (qb, fb)) = limit_gap(l, name, (qa, fa), (qb, fb));
            let f = fa.max(fb);
            let requant = Requant::from_ratio(pow2(fy - f), lo, hi);
            let (sa, sb) = ((f - fa) as u32, (f - fb) as u32);
            // A constant branch (a mask's −∞ fill) is clamped where the select's own
            // requantization maps it into the activation range: clamped at its own scale and
            // rescaled to a finer output it would saturate, and no proof exists for that.
            let qa = fit_select_const(l, name, qa, sa, &requant);
            let qb = fit_select_const(l, name, qb, sb, &requant);
            let op = QuantOp::Select {
                lhs_shift: sa,
                rhs_shift: sb,
                requant,
            };
            Ok(l.push(name, op, vec![qc, qa, qb], out_shape, fy, fid))
        }
        FloatOp::Reshape
        | FloatOp::Transpose { .. }
        | FloatOp::Slice { .. }
        | FloatOp::Gather { .. }
        | FloatOp::Broadcast
        | FloatOp::Tile => {
            let (qx, fx) = l.operand(node.inputs[0], ab, None)?;
            Ok(l.push(
                name,
                QuantOp::Move(node.op.clone()),
                vec![qx],
                out_shape,
                fx,
                fid,
            ))
        }
        FloatOp::Pad { pads, value } => {
            let (qx, fx) = l.operand(node.inputs[0], ab, None)?;
            let v = (f64::from(*value) * pow2(fx))
                .round()
                .clamp(lo as f64, hi as f64) as i64;
            Ok(l.push(
                name,
                QuantOp::Pad {
                    pads: pads.clone(),
                    value: v,
                },
                vec![qx],
                out_shape,
                fx,
                fid,
            ))
        }
        FloatOp::Concat { axis } => {
            let (ins, f) = align_shared(l, &node.inputs, fy, name)?;
            Ok(l.push(
                name,
                QuantOp::Concat { axis: *axis },
                ins,
                out_shape,
                f,
                fid,
            ))
        }
        FloatOp::IndexedMove { kind } => {
            let idx = node.inputs[1];
            if !l.fg.inputs.contains(&idx) {
                return Err(Lowering::unquantizable(
                    node,
                    "indices must be a model input (public); indices computed inside the model \
                     need a lookup argument, which is not supported yet",
                ));
            }
            let (qi, fi) = l.operand(idx, ab, None)?;
            let mut moved = vec![node.inputs[0]];
            moved.extend(node.inputs.get(2).copied());
            let (parts, f) = if l.tied_table(node.inputs[0]) && moved.len() == 1 {
                // A table that is also an einsum's weight (a tied embedding and LM head) is
                // quantized once, at weight precision, so one constant is committed for both.
                let (q, f) = l.operand(node.inputs[0], l.cfg.weight_bits, None)?;
                (vec![q], f)
            } else {
                align_shared(l, &moved, fy, name)?
            };
            let mut ins = vec![parts[0], qi];
            ins.extend(parts.get(1).copied());
            Ok(l.push(
                name,
                QuantOp::IndexedMove {
                    kind: *kind,
                    index_frac: fi,
                },
                ins,
                out_shape,
                f,
                fid,
            ))
        }
        FloatOp::Reduce { axes, kind } => {
            let (qx, fx) = l.operand(node.inputs[0], ab, None)?;
            let sx = l.q.tensors[qx.0].shape.clone();
            let n: usize = axes.iter().filter_map(|&a| sx.get(a)).product();
            match kind {
                ReduceKind::Max | ReduceKind::Min => Ok(l.push(
                    name,
                    QuantOp::ReduceMax {
                        axes: axes.clone(),
                        max: *kind == ReduceKind::Max,
                    },
                    vec![qx],
                    out_shape,
                    fx,
                    fid,
                )),
                ReduceKind::Sum | ReduceKind::Mean => {
                    let div = if *kind == ReduceKind::Mean {
                        n.max(1) as f64
                    } else {
                        1.0
                    };
                    let requant = Requant::from_ratio(pow2(fy - fx) / div, lo, hi);
                    Ok(l.push(
                        name,
                        QuantOp::ReduceSum {
                            axes: axes.clone(),
                            requant,
                        },
                        vec![qx],
                        out_shape,
                        fy,
                        fid,
                    ))
                }
                ReduceKind::MeanOfSquares => {
                    let m = l.cal.max_abs.get(node.inputs[0].0).copied().unwrap_or(1.0);
                    let fs = l.frac_for(m * m, ab, l.cfg.headroom_bits);
                    let sq = l.unary(&format!("{name}.square"), UnaryFn::Square, qx, fx, fs, None);
                    let requant = Requant::from_ratio(pow2(fy - fs) / n.max(1) as f64, lo, hi);
                    Ok(l.push(
                        name,
                        QuantOp::ReduceSum {
                            axes: axes.clone(),
                            requant,
                        },
                        vec![sq],
                        out_shape,
                        fy,
                        fid,
                    ))
                }
            }
        }
        FloatOp::ArgMax => {
            let (qx, _) = l.operand(node.inputs[0], ab, None)?;
            // The output holds indices; its bound comes from the row length
            // (`bounds::tensor_bounds`), not from the declared activation width.
            Ok(l.push(name, QuantOp::ArgMax, vec![qx], out_shape, 0, fid))
        }
        FloatOp::Softmax { axis, log: false } => {
            let (qx, fx) = l.operand(node.inputs[0], ab, None)?;
            let out_frac = ab - 2;
            let len = 1usize << ab;
            let exp_table = l.table(UnaryFn::Exp, fx, out_frac as i32, 1 - len as i64, len);
            Ok(l.push(
                name,
                QuantOp::Softmax {
                    axis: *axis,
                    exp_table,
                    out_frac,
                },
                vec![qx],
                out_shape,
                out_frac as i32,
                fid,
            ))
        }
        _ => Err(Lowering::unquantizable(
            node,
            "no integer lowering for this op yet",
        )),
    }
}

/// Fraction of the activation `t` (None when `t` is a constant): used to quantize the other,
/// constant operand at the same scale.
/// Largest fraction gap between two operands aligned by a left shift (AddSub, Compare,
/// Select): the coarser operand is shifted up by the gap, and the relations' integers must stay
/// far below p (`quant::bounds`; the comparison excess has `A + gap + 1` bits). Beyond it the
/// finer operand is first rescaled down to `coarser + MAX_ALIGN_GAP` — it keeps 8 bits below
/// the coarser operand's unit at 16-bit activations, more than the result can show.
pub const MAX_ALIGN_GAP: i32 = 24;

fn limit_gap(
    l: &mut Lowering,
    name: &str,
    a: (TensorId, i32),
    b: (TensorId, i32),
) -> ((TensorId, i32), (TensorId, i32)) {
    let (lo, hi) = l.cfg.act_range();
    let target = a.1.min(b.1) + MAX_ALIGN_GAP;
    let mut down = |(q, f): (TensorId, i32), k: usize| {
        if f <= target {
            return (q, f);
        }
        let shape = l.q.tensors[q.0].shape.clone();
        let requant = Requant::from_ratio(pow2(target - f), lo, hi);
        let r = l.push(
            &format!("{name}.gap{k}"),
            QuantOp::Rescale { requant },
            vec![q],
            shape,
            target,
            None,
        );
        (r, target)
    };
    (down(a, 0), down(b, 1))
}

/// The output fraction of `where(c, a, b)` when one branch is a constant holding −∞ (an
/// attention mask's fill): coarse enough that the activation minimum lies `M = A·ln 2 + 1`
/// below every value of the other branch, so `exp(fill − row max) < 2^−A` rounds to exactly 0
/// in any exp table and a masked key gets no attention. (At the other branch's own scale the
/// minimum can sit a few units below the row maximum: GPT-2 124M put half of a row's mass on
/// masked keys.) Costs `log2((R + M)/R)` bits of the other branch's resolution.
fn mask_frac(l: &Lowering, a: TensorId, b: TensorId, fy: i32) -> i32 {
    let neg_inf = |t: TensorId| {
        l.fg.const_data(t)
            .is_some_and(|d| d.iter().any(|v| v.is_infinite() && *v < 0.0))
    };
    let other = match (neg_inf(a), neg_inf(b)) {
        (false, true) => a,
        (true, false) => b,
        _ => return fy,
    };
    let r = l.cal.max_abs.get(other.0).copied().unwrap_or(0.0);
    let margin = f64::from(l.cfg.act_bits) * std::f64::consts::LN_2 + 1.0;
    fy.min(l.frac_for(r + margin, l.cfg.act_bits, l.cfg.headroom_bits))
}

/// A constant select branch `q` (shifted left by `shift` before `requant`) with every value
/// clamped to those `requant` keeps inside the activation range (a new constant when any
/// value changes; activations are returned as they are).
fn fit_select_const(
    l: &mut Lowering,
    name: &str,
    q: TensorId,
    shift: u32,
    requant: &Requant,
) -> TensorId {
    let t = &l.q.tensors[q.0];
    let QTensorKind::Const(data) = &t.kind else {
        return q;
    };
    let m = requant.multipliers.first().copied().unwrap_or(0);
    let out = |x: i64| -> i128 {
        let half = if requant.shift > 0 {
            1i128 << (requant.shift - 1)
        } else {
            0
        };
        (i128::from(m) * (i128::from(x) << shift) + half) >> requant.shift.min(126)
    };
    let (lo, hi) = (i128::from(requant.lo), i128::from(requant.hi));
    // The output is monotone in x (m ≥ 0 for a ratio): bisect the extreme inputs that stay
    // in range.
    let lowest = |from: i64| {
        let (mut a, mut b) = (from, 0i64);
        while a < b {
            let mid = a + (b - a) / 2;
            if out(mid) >= lo {
                b = mid;
            } else {
                a = mid + 1;
            }
        }
        a
    };
    let x_lo = lowest(requant.lo);
    // −∞ entries (a mask's fill) become the value that lands on the activation minimum at
    // the output's scale, even below the branch's own range (a wider constant).
    let x_ninf = lowest(-(1i64 << 40));
    let ninf: Vec<bool> = match t.float_id.and_then(|f| l.fg.const_data(f)) {
        Some(fd) if fd.len() == data.len() => {
            fd.iter().map(|v| v.is_infinite() && *v < 0.0).collect()
        }
        _ => vec![false; data.len()],
    };
    let (mut a, mut b) = (0i64, requant.hi);
    while a < b {
        let mid = a + (b - a + 1) / 2;
        if out(mid) <= hi {
            a = mid;
        } else {
            b = mid - 1;
        }
    }
    let x_hi = a;
    let fitted: Vec<i64> = data
        .iter()
        .zip(&ninf)
        .map(|(&v, &n)| if n { x_ninf } else { v.clamp(x_lo, x_hi) })
        .collect();
    if &fitted == data {
        return q;
    }
    let (shape, frac, fid) = (t.shape.clone(), t.frac, t.float_id);
    l.add_const(&format!("{name}.fitted"), shape, fitted, frac, fid)
}

fn const_frac_hint(l: &mut Lowering, t: TensorId) -> Result<Option<i32>> {
    Ok(if l.fg.const_data(t).is_some() {
        None
    } else {
        Some(l.operand(t, l.cfg.act_bits, None)?.1)
    })
}

/// Brings `inputs` to one shared fraction (the smallest that holds every part: activations at
/// their own fraction and constants at theirs, since a constant aligned upwards would
/// saturate), rescaling the parts that differ; `fy` when every input is an activation with no
/// own fraction.
fn align_shared(
    l: &mut Lowering,
    inputs: &[TensorId],
    fy: i32,
    name: &str,
) -> Result<(Vec<TensorId>, i32)> {
    let (lo, hi) = l.cfg.act_range();
    let ab = l.cfg.act_bits;
    let mut f = i32::MAX;
    for &i in inputs {
        let fi = match l.fg.const_data(i) {
            None => l.operand(i, ab, None)?.1,
            Some(d) => {
                let max = d.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs()));
                l.frac_for(max, ab, 0)
            }
        };
        f = f.min(fi);
    }
    let f = if f == i32::MAX { fy } else { f };
    let mut ins = Vec::new();
    for (k, &i) in inputs.iter().enumerate() {
        let (q, fi) = l.operand(i, ab, Some(f))?;
        let q = if fi == f {
            q
        } else {
            let shape = l.q.tensors[q.0].shape.clone();
            let requant = Requant::from_ratio(pow2(f - fi), lo, hi);
            l.push(
                &format!("{name}.align{k}"),
                QuantOp::Rescale { requant },
                vec![q],
                shape,
                f,
                None,
            )
        };
        ins.push(q);
    }
    Ok((ins, f))
}

/// Element-wise `max(a, b)` / `min(a, b)` of two tensors (at least one an activation), built
/// from ops that are proven: each operand rescaled to the coarser of the two scales (a right
/// shift, so it cannot leave the activation range), broadcast to the output shape, the two
/// stacked on a new leading axis, a max/min over that axis (the max protocol, groups of two),
/// and a rescale to the output scale. Exact up to the rounding of the finer operand.
#[allow(clippy::too_many_arguments)]
fn max_min(
    l: &mut Lowering,
    name: &str,
    a: TensorId,
    b: TensorId,
    k: BinaryKind,
    out_shape: Vec<usize>,
    fy: i32,
    fid: Option<TensorId>,
) -> Result<TensorId> {
    let ab = l.cfg.act_bits;
    let (lo, hi) = l.cfg.act_range();
    let (qa, fa) = l.operand(a, ab, None)?;
    let (qb, fb) = l.operand(b, ab, None)?;
    let f = fa.min(fb);
    let mut stacked_shape = vec![1];
    stacked_shape.extend_from_slice(&out_shape);
    let mut parts = Vec::with_capacity(2);
    for (q, fq, tag) in [(qa, fa, "lhs"), (qb, fb, "rhs")] {
        let shape = l.q.tensors[q.0].shape.clone();
        let mut t = q;
        if fq != f {
            let requant = Requant::from_ratio(pow2(f - fq), lo, hi);
            t = l.push(
                &format!("{name}.{tag}.rescale"),
                QuantOp::Rescale { requant },
                vec![t],
                shape.clone(),
                f,
                None,
            );
        }
        if shape != out_shape {
            t = l.push(
                &format!("{name}.{tag}.broadcast"),
                QuantOp::Move(FloatOp::Broadcast),
                vec![t],
                out_shape.clone(),
                f,
                None,
            );
        }
        t = l.push(
            &format!("{name}.{tag}.stack"),
            QuantOp::Move(FloatOp::Reshape),
            vec![t],
            stacked_shape.clone(),
            f,
            None,
        );
        parts.push(t);
    }
    let mut both = vec![2];
    both.extend_from_slice(&out_shape);
    let cat = l.push(
        &format!("{name}.stack"),
        QuantOp::Concat { axis: 0 },
        parts,
        both,
        f,
        None,
    );
    let op = QuantOp::ReduceMax {
        axes: vec![0],
        max: k == BinaryKind::Max,
    };
    if f == fy {
        return Ok(l.push(name, op, vec![cat], out_shape, fy, fid));
    }
    let m = l.push(
        &format!("{name}.max"),
        op,
        vec![cat],
        out_shape.clone(),
        f,
        None,
    );
    let requant = Requant::from_ratio(pow2(fy - f), lo, hi);
    Ok(l.push(
        name,
        QuantOp::Rescale { requant },
        vec![m],
        out_shape,
        fy,
        fid,
    ))
}
