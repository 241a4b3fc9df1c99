//! Selection family: ArgMax / ArgMin (tract `Reduce<ArgMax|ArgMin>`) and TopK (tract
//! `Topk`), lowered onto ops that are already proven, so no new protocol is needed.
//!
//! **ArgMax along axis `a` of length `n`** (first occurrence):
//! `m = max_a x`, `e = [x = m]` (0/1), `index = n − max_a(e · (n − k))` where `k` is the
//! position along `a`. Every `e_k · (n − k)` is `n − k` at a maximum and 0 elsewhere, so the
//! outer max is `n − k*` for the first maximising `k*`. With `select_last_index` it is
//! `max_a(e · k)`. ArgMin uses `min` for `m`. Each step is an existing relation (the max
//! protocol, a comparison, a product with a constant), so the index is proven exactly: no
//! rounding is involved as long as the index tensor's fixed-point scale keeps integers, which
//! the quantizer's calibrated scale for a range `[0, n]` does.
//!
//! **TopK** (constant `k`, sorted output, ties to the lower index as ONNX specifies) is `k`
//! rounds of the ArgMax above over the elements not yet taken. A `free` mask (1 = not taken)
//! replaces taken elements by the row's opposite extreme (`min` when selecting the largest)
//! before the round's max, and multiplies the equality indicator, so a taken element can
//! never be chosen again even when it ties with that extreme; the replacement keeps the
//! values' range, hence their scale. Round `j` yields value `m_j` and index `i_j`; the
//! outputs are their concatenations along the axis. Cost: about ten element-wise relations
//! per round, so TopK is meant for small `k`. The max protocol bounds a reduced row to 64
//! elements today, so both are refused (at quantization, naming the node) over longer axes.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::Topk;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};
use zkinfer_model::{BinaryKind, FloatOp, ReduceKind, TensorId};

use crate::{Ctx, LoadError};

/// Which extreme a selection looks for.
#[derive(Clone, Copy)]
struct Extreme {
    /// The reduction finding the extreme value.
    kind: ReduceKind,
    /// Among equal extremes, pick the last one instead of the first.
    take_last: bool,
}

/// Shapes and constants of one selection along `axis`.
struct Along {
    axis: usize,
    n: usize,
    shape: Vec<usize>,
    kept: Vec<usize>,
}

impl Along {
    fn new(ctx: &Ctx, node: &TypedNode, axis: usize) -> Result<Self, LoadError> {
        let shape = ctx.in_shape(node, 0)?;
        let n = *shape.get(axis).ok_or_else(|| LoadError::Shape {
            node: node.name.clone(),
            reason: format!("selection axis {axis} out of range for shape {shape:?}"),
        })?;
        if n == 0 || n >= 1 << 24 {
            return Err(LoadError::Shape {
                node: node.name.clone(),
                reason: format!("selection over an axis of length {n} (need 1 ..= 2^24)"),
            });
        }
        let mut kept = shape.clone();
        kept[axis] = 1;
        Ok(Self {
            axis,
            n,
            shape,
            kept,
        })
    }

    /// A constant `{node}.{suffix}` laid out along the axis (size 1 elsewhere).
    fn ramp(
        &self,
        ctx: &mut Ctx,
        node: &TypedNode,
        suffix: &str,
        f: impl Fn(usize) -> f32,
    ) -> TensorId {
        let mut shape = vec![1; self.shape.len()];
        shape[self.axis] = self.n;
        ctx.constant(node, suffix, shape, (0..self.n).map(f).collect())
    }

    fn reduce(&self, kind: ReduceKind) -> FloatOp {
        FloatOp::Reduce {
            axes: vec![self.axis],
            kind,
        }
    }

    /// Emits the index of the extreme of `x` (restricted to `free` positions when given),
    /// given that extreme `m`; returns the index tensor (shape `kept`).
    fn index_of(
        &self,
        ctx: &mut Ctx,
        node: &TypedNode,
        tag: &str,
        x: TensorId,
        m: TensorId,
        free: Option<TensorId>,
        ext: Extreme,
    ) -> TensorId {
        let bin = |k| FloatOp::Binary(k);
        let shape = self.shape.clone();
        let mut e = ctx.emit_step(
            node,
            &format!("{tag}.is_extreme"),
            bin(BinaryKind::Equal),
            vec![x, m],
            shape.clone(),
        );
        if let Some(free) = free {
            e = ctx.emit_step(
                node,
                &format!("{tag}.is_free_extreme"),
                bin(BinaryKind::Mul),
                vec![e, free],
                shape.clone(),
            );
        }
        let n = self.n;
        let weight = if ext.take_last {
            self.ramp(ctx, node, &format!("{tag}.position"), |k| k as f32)
        } else {
            self.ramp(ctx, node, &format!("{tag}.rank"), move |k| (n - k) as f32)
        };
        let w = ctx.emit_step(
            node,
            &format!("{tag}.weighted"),
            bin(BinaryKind::Mul),
            vec![e, weight],
            shape,
        );
        let r = ctx.emit_step(
            node,
            &format!("{tag}.best"),
            self.reduce(ReduceKind::Max),
            vec![w],
            self.kept.clone(),
        );
        if ext.take_last {
            return r;
        }
        let nn = ctx.constant(node, &format!("{tag}.n"), vec![1], vec![n as f32]);
        ctx.emit_step(
            node,
            &format!("{tag}.index"),
            bin(BinaryKind::Sub),
            vec![nn, r],
            self.kept.clone(),
        )
    }
}

/// ArgMax / ArgMin.
fn arg_extreme(
    ctx: &mut Ctx,
    node: &TypedNode,
    axis: usize,
    ext: Extreme,
) -> Result<TensorId, LoadError> {
    let along = Along::new(ctx, node, axis)?;
    let x = ctx.input(node, 0)?;
    let m = ctx.emit_step(
        node,
        "extreme",
        along.reduce(ext.kind),
        vec![x],
        along.kept.clone(),
    );
    let idx = along.index_of(ctx, node, "arg", x, m, None, ext);
    ctx.emit(node, FloatOp::Reshape, vec![idx])
}

/// TopK: `k` rounds of ArgMax over the untaken elements; binds both outputs.
fn top_k(ctx: &mut Ctx, node: &TypedNode, op: &Topk) -> Result<TensorId, LoadError> {
    let bad = |reason: String| LoadError::Shape {
        node: node.name.clone(),
        reason,
    };
    let k = ctx
        .konst(node, 1)
        .and_then(|t| {
            let t = t.cast_to::<i64>().ok()?;
            let v = t.to_plain_array_view::<i64>().ok()?.iter().next().copied();
            v
        })
        .ok_or_else(|| bad("TopK needs a constant k".into()))?;
    let along = Along::new(ctx, node, op.axis)?;
    let k = usize::try_from(k)
        .ok()
        .filter(|&k| (1..=along.n).contains(&k))
        .ok_or_else(|| bad(format!("TopK k = {k} outside 1..={}", along.n)))?;
    let ext = Extreme {
        kind: if op.largest {
            ReduceKind::Max
        } else {
            ReduceKind::Min
        },
        take_last: false,
    };
    let opposite = if op.largest {
        ReduceKind::Min
    } else {
        ReduceKind::Max
    };
    let x = ctx.input(node, 0)?;
    let shape = along.shape.clone();
    let kept = along.kept.clone();
    let (mut values, mut indices) = (Vec::with_capacity(k), Vec::with_capacity(k));
    let fill = if k > 1 {
        Some(ctx.emit_step(node, "fill", along.reduce(opposite), vec![x], kept.clone()))
    } else {
        None
    };
    let position = along.ramp(ctx, node, "position", |i| i as f32);
    let mut free: Option<TensorId> = None;
    for j in 0..k {
        let tag = format!("round{j}");
        let xj = match (free, fill) {
            (Some(free), Some(fill)) => ctx.emit_step(
                node,
                &format!("{tag}.candidates"),
                FloatOp::Where,
                vec![free, x, fill],
                shape.clone(),
            ),
            _ => x,
        };
        let m = ctx.emit_step(
            node,
            &format!("{tag}.value"),
            along.reduce(ext.kind),
            vec![xj],
            kept.clone(),
        );
        let idx = along.index_of(ctx, node, &tag, xj, m, free, ext);
        values.push(m);
        indices.push(idx);
        if j + 1 < k {
            // free ← free · [position ≠ index]
            let other = ctx.emit_step(
                node,
                &format!("{tag}.not_taken"),
                FloatOp::Binary(BinaryKind::NotEqual),
                vec![position, idx],
                shape.clone(),
            );
            free = Some(match free {
                None => other,
                Some(f) => ctx.emit_step(
                    node,
                    &format!("{tag}.free"),
                    FloatOp::Binary(BinaryKind::Mul),
                    vec![f, other],
                    shape.clone(),
                ),
            });
        }
    }
    let mut out_shape = kept;
    out_shape[op.axis] = k;
    let mut first = None;
    for (slot, parts) in [values, indices].into_iter().enumerate() {
        let t = if parts.len() == 1 {
            parts[0]
        } else {
            ctx.emit_step(
                node,
                &format!("output{slot}"),
                FloatOp::Concat { axis: op.axis },
                parts,
                out_shape.clone(),
            )
        };
        ctx.bind(node, slot, t);
        first.get_or_insert(t);
    }
    first.ok_or_else(|| ctx.unsupported(node))
}

/// Converts selection nodes.
pub fn convert(ctx: &mut Ctx, node: &TypedNode) -> Result<Option<TensorId>, LoadError> {
    if let Some(op) = node.op_as::<Reduce>() {
        let ext = match op.reducer {
            Reducer::ArgMax(last) => Extreme {
                kind: ReduceKind::Max,
                take_last: last,
            },
            Reducer::ArgMin(last) => Extreme {
                kind: ReduceKind::Min,
                take_last: last,
            },
            _ => return Ok(None),
        };
        let [axis] = op.axes.as_slice() else {
            return Err(ctx.unsupported(node));
        };
        return arg_extreme(ctx, node, *axis, ext).map(Some);
    }
    if let Some(op) = node.op_as::<Topk>() {
        return top_k(ctx, node, op).map(Some);
    }
    Ok(None)
}
