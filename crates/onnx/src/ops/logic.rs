//! Logic and shift family (tract `TypedBinOp`s the element-wise converter hands over):
//! And / Or / Xor on booleans, which the float graph holds as 0/1, become `a·b`,
//! `[a + b > 0]` and `[a ≠ b]` (exact at any scale, and each a proven relation); ShiftLeft / ShiftRight by a constant amount `k` become `x·2^k` and
//! `⌊x·2^−k⌋` (tract emits them for integer Mul and unsigned Div by powers of two).

use tract_onnx::prelude::*;
use zkinfer_model::{BinaryKind, FloatOp, FloatTensorKind, TensorId, UnaryFn};

use crate::{Ctx, LoadError};

/// True when the node's output is an integer tensor (booleans excluded).
pub fn is_integer(node: &TypedNode) -> bool {
    node.outputs
        .first()
        .is_some_and(|o| o.fact.datum_type.is_integer())
}

/// The constant shift amount of input 1: one value in `0..=62`, broadcast over input 0.
fn shift_amount(ctx: &Ctx, node: &TypedNode) -> Result<u32, LoadError> {
    let bad = |reason: &str| LoadError::Shape {
        node: node.name.clone(),
        reason: reason.into(),
    };
    let k = ctx
        .konst(node, 1)
        .ok_or_else(|| bad("a shift by a non-constant amount is not supported"))?;
    let k = k
        .cast_to::<i64>()
        .map_err(|_| bad("shift amount is not an integer"))?;
    let k: Vec<i64> = k
        .to_plain_array_view::<i64>()
        .map_err(|_| bad("shift amount is not an integer"))?
        .iter()
        .copied()
        .collect();
    let first = *k.first().ok_or_else(|| bad("empty shift amount"))?;
    if k.iter().any(|&v| v != first) {
        return Err(bad("shift amounts differ between elements"));
    }
    if ctx.in_shape(node, 0)? != ctx.out_shape(node)? {
        return Err(bad("the shift amount broadcasts the shifted tensor"));
    }
    u32::try_from(first)
        .ok()
        .filter(|&k| k <= 62)
        .ok_or_else(|| bad("shift amount outside 0..=62"))
}

/// Converts the logic and shift binary ops named `name`; other names are unsupported.
pub fn convert_bin(
    ctx: &mut Ctx,
    node: &TypedNode,
    name: &str,
) -> Result<Option<TensorId>, LoadError> {
    match name {
        "And" | "Or" | "Xor" => {
            if (0..2).any(|i| ctx.in_type(node, i) != Some(DatumType::Bool)) {
                return Err(ctx.unsupported(node));
            }
            let (a, b) = (ctx.input(node, 0)?, ctx.input(node, 1)?);
            let (op, ins) = match name {
                "And" => (BinaryKind::Mul, vec![a, b]),
                "Xor" => (BinaryKind::NotEqual, vec![a, b]),
                _ => {
                    let sum =
                        ctx.emit_helper(node, "sum", FloatOp::Binary(BinaryKind::Add), vec![a, b])?;
                    let zero = ctx.g.add_tensor(
                        format!("{}.zero", node.name),
                        vec![1],
                        FloatTensorKind::Const(vec![0.0]),
                    );
                    (BinaryKind::Greater, vec![sum, zero])
                }
            };
            ctx.emit(node, FloatOp::Binary(op), ins).map(Some)
        }
        "ShiftLeft" | "ShiftRight" => {
            let k = shift_amount(ctx, node)?;
            let x = ctx.input(node, 0)?;
            let scale = 2f32.powi(k as i32);
            if name == "ShiftLeft" {
                return ctx
                    .emit(node, FloatOp::Unary(UnaryFn::Scale(scale)), vec![x])
                    .map(Some);
            }
            let q = ctx.emit_helper(
                node,
                "scaled",
                FloatOp::Unary(UnaryFn::Scale(1.0 / scale)),
                vec![x],
            )?;
            ctx.emit(node, FloatOp::Unary(UnaryFn::Floor), vec![q])
                .map(Some)
        }
        _ => Err(ctx.unsupported(node)),
    }
}
