//! Reductions and softmax: tract `Reduce` (Sum, Max, Min, MeanOfSquares) and `Softmax`.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer, Softmax, SoftmaxKind};
use zkinfer_model::{FloatOp, ReduceKind, TensorId};

use crate::{Ctx, LoadError};

/// Converts reduction nodes.
pub fn convert(ctx: &mut Ctx, node: &TypedNode) -> Result<Option<TensorId>, LoadError> {
    if let Some(op) = node.op_as::<Reduce>() {
        let kind = match op.reducer {
            Reducer::Sum => ReduceKind::Sum,
            Reducer::Max => ReduceKind::Max,
            Reducer::Min => ReduceKind::Min,
            Reducer::MeanOfSquares => ReduceKind::MeanOfSquares,
            _ => return Err(ctx.unsupported(node)),
        };
        let x = ctx.input(node, 0)?;
        return ctx
            .emit(
                node,
                FloatOp::Reduce {
                    axes: op.axes.to_vec(),
                    kind,
                },
                vec![x],
            )
            .map(Some);
    }
    if let Some(op) = node.op_as::<Softmax>() {
        let [axis] = op.axes.as_slice() else {
            return Err(ctx.unsupported(node));
        };
        let log = matches!(op.kind, SoftmaxKind::LogSoftmax);
        let x = ctx.input(node, 0)?;
        return ctx
            .emit(node, FloatOp::Softmax { axis: *axis, log }, vec![x])
            .map(Some);
    }
    Ok(None)
}
