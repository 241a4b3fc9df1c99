//! Structural family: AxisOp (Reshape/Squeeze/Unsqueeze/Flatten/Transpose), Concat, Slice,
//! Downsample (strided slice), Pad (constant; reflect and edge via
//! [`super::resample::move_by_probe`]), Gather with constant indices, MultiBroadcastTo.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{
    Gather, MultiBroadcastTo, Pad, PadMode, Slice, Tile, TypedConcat,
};
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::downsample::Downsample;
use tract_onnx::tract_hir::internal::DimLike;
use zkinfer_model::{FloatOp, TensorId};

use crate::{Ctx, LoadError};

/// Converts structural nodes.
pub fn convert(ctx: &mut Ctx, node: &TypedNode) -> Result<Option<TensorId>, LoadError> {
    if let Some(op) = node.op_as::<AxisOp>() {
        let x = ctx.input(node, 0)?;
        let f = match op {
            AxisOp::Move(from, to) => {
                let r = ctx.in_shape(node, 0)?.len();
                let mut perm: Vec<usize> = (0..r).filter(|a| a != from).collect();
                perm.insert((*to).min(perm.len()), *from);
                FloatOp::Transpose { perm }
            }
            _ => FloatOp::Reshape,
        };
        return ctx.emit(node, f, vec![x]).map(Some);
    }
    if let Some(op) = node.op_as::<TypedConcat>() {
        let ins = (0..node.inputs.len())
            .map(|i| ctx.input(node, i))
            .collect::<Result<Vec<_>, _>>()?;
        return ctx
            .emit(node, FloatOp::Concat { axis: op.axis }, ins)
            .map(Some);
    }
    if let Some(op) = node.op_as::<Slice>() {
        let start = op.start.to_usize().map_err(|_| ctx.unsupported(node))?;
        let x = ctx.input(node, 0)?;
        return ctx
            .emit(
                node,
                FloatOp::Slice {
                    axis: op.axis,
                    start,
                    step: 1,
                },
                vec![x],
            )
            .map(Some);
    }
    if let Some(op) = node.op_as::<Downsample>() {
        let step = usize::try_from(op.stride).map_err(|_| ctx.unsupported(node))?;
        let x = ctx.input(node, 0)?;
        return ctx
            .emit(
                node,
                FloatOp::Slice {
                    axis: op.axis,
                    start: op.modulo,
                    step,
                },
                vec![x],
            )
            .map(Some);
    }
    if let Some(op) = node.op_as::<Pad>() {
        let PadMode::Constant(v) = &op.mode else {
            // reflect / edge: a constant data movement
            return super::resample::move_by_probe(ctx, node).map(Some);
        };
        let value = v
            .cast_to_scalar::<f32>()
            .map_err(|_| ctx.unsupported(node))?;
        let x = ctx.input(node, 0)?;
        return ctx
            .emit(
                node,
                FloatOp::Pad {
                    pads: op.pads.clone(),
                    value,
                },
                vec![x],
            )
            .map(Some);
    }
    if let Some(op) = node.op_as::<Gather>() {
        let sx = ctx.in_shape(node, 0)?;
        let idx = ctx.konst(node, 1).ok_or_else(|| ctx.unsupported(node))?;
        let idx = idx.cast_to::<i64>().map_err(|_| ctx.unsupported(node))?;
        let dim = sx.get(op.axis).copied().unwrap_or(0) as i64;
        let indices = idx
            .to_plain_array_view::<i64>()
            .map_err(|_| ctx.unsupported(node))?
            .iter()
            .map(|&i| {
                usize::try_from(if i < 0 { i + dim } else { i })
                    .ok()
                    .filter(|&i| (i as i64) < dim)
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| LoadError::Shape {
                node: node.name.clone(),
                reason: "gather index out of range".into(),
            })?;
        let x = ctx.input(node, 0)?;
        return ctx
            .emit(
                node,
                FloatOp::Gather {
                    axis: op.axis,
                    indices,
                },
                vec![x],
            )
            .map(Some);
    }
    if node.op_as::<Tile>().is_some() {
        let x = ctx.input(node, 0)?;
        return ctx.emit(node, FloatOp::Tile, vec![x]).map(Some);
    }
    if node.op_as::<MultiBroadcastTo>().is_some() {
        let x = ctx.input(node, 0)?;
        return ctx.emit(node, FloatOp::Broadcast, vec![x]).map(Some);
    }
    Ok(None)
}
