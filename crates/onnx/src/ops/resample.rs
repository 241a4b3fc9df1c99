//! Structural ops lowered onto existing zkinfer ops: Trilu (a product with a constant 0/1
//! mask over the last two axes), NearestUpsample (ONNX Resize, nearest, integer scales:
//! reshape → broadcast → reshape, pure data movement), and every other *constant data
//! movement* — Resize nearest with any scales, sizes or coordinate mode, Pad reflect/edge —
//! by [`move_by_probe`].
//!
//! **Probing.** An op that only moves data (each output element is one input element, which
//! one depending on constants alone) is evaluated by tract on a probe tensor holding each
//! element's own flat index. The result *is* the index map, with tract's semantics for every
//! coordinate mode and rounding rule, and becomes a constant Gather over the flattened input.
//! The probe's indices are f32, exact below 2^24 elements; larger inputs are refused.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::Trilu;
use tract_onnx::tract_core::ops::nn::resize::{Interpolator, Resize as CoreResize};
use tract_onnx::tract_core::ops::nn::NearestUpsample;
use tract_onnx_opl::resize::Resize;
use zkinfer_model::{BinaryKind, FloatOp, FloatTensorKind, TensorId};

use crate::{Ctx, LoadError};

/// The keep-mask of Trilu on a `rows × cols` matrix, row-major: 1 where the element is kept
/// (upper: `col ≥ row + k`; lower: `col ≤ row + k`), 0 elsewhere.
pub fn trilu_mask(rows: usize, cols: usize, k: i64, upper: bool) -> Vec<f32> {
    let mut m = Vec::with_capacity(rows * cols);
    for r in 0..rows as i64 {
        for c in 0..cols as i64 {
            let keep = if upper { c >= r + k } else { c <= r + k };
            m.push(f32::from(u8::from(keep)));
        }
    }
    m
}

/// Shapes of the nearest-upsample lowering: the input with a size-1 axis after each
/// upsampled axis, and that shape with those axes widened to the scale.
pub fn upsample_shapes(shape: &[usize], scales: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let (mut split, mut wide) = (Vec::new(), Vec::new());
    for (&d, &s) in shape.iter().zip(scales) {
        split.push(d);
        wide.push(d);
        if s > 1 {
            split.push(1);
            wide.push(s);
        }
    }
    (split, wide)
}

/// Largest input a probe can index exactly (f32 integers).
const PROBE_LIMIT: usize = 1 << 24;

/// Lowers a constant data-movement node (every input but the first constant) to
/// reshape → constant Gather → reshape, reading the index map off tract's evaluation of the
/// node on a probe tensor (see the module docs).
pub fn move_by_probe(ctx: &mut Ctx, node: &TypedNode) -> Result<TensorId, LoadError> {
    let bad = |reason: String| LoadError::Shape {
        node: node.name.clone(),
        reason,
    };
    let sx = ctx.in_shape(node, 0)?;
    let so = ctx.out_shape(node)?;
    let n: usize = sx.iter().product();
    let m: usize = so.iter().product();
    if n >= PROBE_LIMIT || m >= PROBE_LIMIT {
        return Err(bad(format!(
            "data movement over {n} → {m} elements exceeds the 2^24 supported"
        )));
    }
    let probe: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let probe = Tensor::from_shape(&sx, &probe).map_err(|e| bad(format!("{e:#}")))?;
    let mut inputs: TVec<TValue> = tvec![probe.into_tvalue()];
    for i in 1..node.inputs.len() {
        let k = ctx
            .konst(node, i)
            .ok_or_else(|| bad(format!("{} needs constant input {i}", node.op.name())))?;
        inputs.push(k.into_tvalue());
    }
    let out = node
        .op
        .eval_out_of_plan(inputs)
        .map_err(|e| bad(format!("{e:#}")))?
        .and_then(|o| o.into_iter().next())
        .ok_or_else(|| bad("the movement could not be evaluated".into()))?;
    let out = out
        .cast_to::<f32>()
        .map_err(|e| bad(format!("{e:#}")))?
        .into_owned();
    let values: Vec<f32> = out
        .to_plain_array_view::<f32>()
        .map_err(|e| bad(format!("{e:#}")))?
        .iter()
        .copied()
        .collect();
    if out.shape() != so.as_slice() {
        return Err(bad(format!(
            "probe evaluated to shape {:?}, expected {so:?}",
            out.shape()
        )));
    }
    let indices = values
        .iter()
        .map(|&v| {
            // An interpolating op would mix indices; only exact in-range integers are a move.
            (v.fract() == 0.0 && v >= 0.0 && (v as usize) < n).then_some(v as usize)
        })
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| bad("the op is not a pure data movement".into()))?;
    let x = ctx.input(node, 0)?;
    let flat = ctx.emit_step(node, "flat", FloatOp::Reshape, vec![x], vec![n]);
    let moved = ctx.emit_step(
        node,
        "moved",
        FloatOp::Gather { axis: 0, indices },
        vec![flat],
        vec![m],
    );
    ctx.emit(node, FloatOp::Reshape, vec![moved])
}

/// Converts Trilu, NearestUpsample and nearest Resize nodes.
pub fn convert(ctx: &mut Ctx, node: &TypedNode) -> Result<Option<TensorId>, LoadError> {
    if let Some(op) = node.op_as::<Trilu>() {
        let sx = ctx.in_shape(node, 0)?;
        let k = ctx
            .konst(node, 1)
            .and_then(|k| k.cast_to_scalar::<i64>().ok())
            .ok_or_else(|| LoadError::Shape {
                node: node.name.clone(),
                reason: "Trilu needs a constant scalar diagonal offset k".into(),
            })?;
        let [.., rows, cols] = sx[..] else {
            return Err(LoadError::Shape {
                node: node.name.clone(),
                reason: "Trilu needs an input of rank ≥ 2".into(),
            });
        };
        let mask = ctx.g.add_tensor(
            format!("{}.mask", node.name),
            vec![rows, cols],
            FloatTensorKind::Const(trilu_mask(rows, cols, k, op.upper)),
        );
        let x = ctx.input(node, 0)?;
        return ctx
            .emit(node, FloatOp::Binary(BinaryKind::Mul), vec![x, mask])
            .map(Some);
    }
    if let Some(op) = node.op_as::<NearestUpsample>() {
        let sx = ctx.in_shape(node, 0)?;
        if op.scales.len() != sx.len() || op.scales.contains(&0) {
            return Err(ctx.unsupported(node));
        }
        let x = ctx.input(node, 0)?;
        if op.scales.iter().all(|&s| s == 1) {
            return Ok(Some(ctx.alias(node, x)));
        }
        let (split, wide) = upsample_shapes(&sx, &op.scales);
        let x = ctx.emit_step(node, "split", FloatOp::Reshape, vec![x], split);
        let x = ctx.emit_step(node, "repeat", FloatOp::Broadcast, vec![x], wide);
        return ctx.emit(node, FloatOp::Reshape, vec![x]).map(Some);
    }
    // tract declutters the ONNX Resize into its core op when it can; both are handled.
    let interpolator = node
        .op_as::<Resize>()
        .map(|op| op.interpolator.clone())
        .or_else(|| node.op_as::<CoreResize>().map(|op| op.interpolator.clone()));
    if let Some(interpolator) = interpolator {
        if !matches!(interpolator, Interpolator::Nearest) {
            return Err(LoadError::Shape {
                node: node.name.clone(),
                reason: format!(
                    "Resize mode `{}` is not supported (only `nearest`)",
                    interpolator.as_str()
                ),
            });
        }
        return move_by_probe(ctx, node).map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trilu_masks() {
        assert_eq!(
            trilu_mask(3, 3, 0, true),
            [1., 1., 1., 0., 1., 1., 0., 0., 1.]
        );
        assert_eq!(
            trilu_mask(3, 3, 0, false),
            [1., 0., 0., 1., 1., 0., 1., 1., 1.]
        );
        assert_eq!(trilu_mask(2, 3, 1, true), [0., 1., 1., 0., 0., 1.]);
        assert_eq!(trilu_mask(2, 3, -1, false), [0., 0., 0., 1., 0., 0.]);
    }

    #[test]
    fn upsample_is_reshape_broadcast_reshape() {
        let (split, wide) = upsample_shapes(&[1, 2, 2, 3], &[1, 1, 2, 3]);
        assert_eq!(split, [1, 2, 2, 1, 3, 1]);
        assert_eq!(wide, [1, 2, 2, 2, 3, 3]);
        // The index map of the broadcast, read through the reshapes, is nearest upsampling:
        // out[c, i, j] = in[c, i / 2, j / 3].
        let map = zkinfer_model::kernels::shape::broadcast_map(&split, &wide);
        let (h, w) = (4, 9);
        for c in 0..2 {
            for i in 0..h {
                for j in 0..w {
                    let src = map[(c * h + i) * w + j];
                    assert_eq!(src, Some((c * 2 + i / 2) * 3 + j / 3), "({c},{i},{j})");
                }
            }
        }
    }
}
