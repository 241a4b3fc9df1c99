//! Structural ops lowered onto existing zkinfer ops: Trilu (a product with a constant 0/1
//! mask over the last two axes) and NearestUpsample (ONNX Resize, nearest, integer scales:
//! reshape → broadcast → reshape, pure data movement).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::Trilu;
use tract_onnx::tract_core::ops::nn::NearestUpsample;
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

/// Converts Trilu and NearestUpsample nodes.
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
