//! Element-wise family: tract `TypedBinOp` (Add, Sub, Mul, Div, Max, Min, Pow, comparisons;
//! logic and shifts in [`super::logic`]) and `ElementWiseOp` mini-ops (activations and math
//! functions), Cast and Identity.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::identity::Identity;
use tract_onnx::tract_core::ops::logic::Iff;
use tract_onnx::tract_core::ops::math::PowConst;
use tract_onnx::tract_core::ops::nn::{GeluApproximate, LeakyRelu, RmsNorm};
use zkinfer_model::{BinaryKind, FloatOp, ReduceKind, TensorId, UnaryFn};

use crate::{Ctx, LoadError};

fn unary_by_name(name: &str) -> Option<UnaryFn> {
    use UnaryFn::*;
    Some(match name {
        "Sigmoid" => Sigmoid,
        "Tanh" => Tanh,
        "Exp" => Exp,
        "Ln" => Ln,
        "Sqrt" => Sqrt,
        "Rsqrt" => Rsqrt,
        "Recip" => Recip,
        "Erf" => Erf,
        "GeluExact" => GeluExact,
        "Silu" => Silu,
        "HardSwish" => HardSwish,
        "Abs" => Abs,
        "Neg" => Neg,
        "Sign" => Sign,
        "Square" => Square,
        "Floor" => Floor,
        "Ceil" => Ceil,
        "Round" => Round,
        "Sin" => Sin,
        "Tan" => Tan,
        "RoundHalfToEven" => RoundEven,
        "Not" => Not,
        "Cos" => Cos,
        "Acos" => Acos,
        "Asin" => Asin,
        "Atan" => Atan,
        "Sinh" => Sinh,
        "Cosh" => Cosh,
        "Asinh" => Asinh,
        "Acosh" => Acosh,
        "Atanh" => Atanh,
        _ => return None,
    })
}

/// Converts element-wise nodes.
pub fn convert(ctx: &mut Ctx, node: &TypedNode) -> Result<Option<TensorId>, LoadError> {
    if let Some(op) = node.op_as::<TypedBinOp>() {
        let (kind, swap) = match op.0.name() {
            "Add" => (BinaryKind::Add, false),
            "Sub" => (BinaryKind::Sub, false),
            "SubF" => (BinaryKind::Sub, true),
            "Mul" => (BinaryKind::Mul, false),
            "Div" => (BinaryKind::Div, false),
            "Max" => (BinaryKind::Max, false),
            "Min" => (BinaryKind::Min, false),
            "Pow" => (BinaryKind::Pow, false),
            "LT" => (BinaryKind::Less, false),
            "LTE" => (BinaryKind::LessEq, false),
            "GT" => (BinaryKind::Greater, false),
            "GTE" => (BinaryKind::GreaterEq, false),
            "Eq" => (BinaryKind::Equal, false),
            "NE" => (BinaryKind::NotEqual, false),
            _ => return super::logic::convert_bin(ctx, node, op.0.name()),
        };
        let (a, b) = (ctx.input(node, 0)?, ctx.input(node, 1)?);
        let ins = if swap { vec![b, a] } else { vec![a, b] };
        if kind == BinaryKind::Div && super::logic::is_integer(node) {
            // Integer division truncates toward zero (ONNX Div on integer tensors).
            let q = ctx.emit_helper(node, "quotient", FloatOp::Binary(kind), ins)?;
            return ctx
                .emit(node, FloatOp::Unary(UnaryFn::Trunc), vec![q])
                .map(Some);
        }
        return ctx.emit(node, FloatOp::Binary(kind), ins).map(Some);
    }
    if let Some(op) = node.op_as::<ElementWiseOp>() {
        let f = if let Some(l) = op.0.downcast_ref::<LeakyRelu>() {
            UnaryFn::LeakyRelu(l.alpha)
        } else if let Some(p) = op.0.downcast_ref::<PowConst>() {
            UnaryFn::PowConst(p.exponent)
        } else if op.0.downcast_ref::<GeluApproximate>().is_some() {
            UnaryFn::GeluTanh
        } else {
            unary_by_name(&op.0.name()).ok_or_else(|| ctx.unsupported(node))?
        };
        let x = ctx.input(node, 0)?;
        return ctx.emit(node, FloatOp::Unary(f), vec![x]).map(Some);
    }
    if let Some(c) = node.op_as::<Cast>() {
        let x = ctx.input(node, 0)?;
        // tract types ONNX int64 as TDim (a possibly symbolic integer): an integer too, so a
        // float → int64 Cast truncates (treating TDim as a float made Cast(f32→i64→f32) an
        // identity, silently).
        let integer = |dt: DatumType| dt.is_integer() || dt == DatumType::TDim;
        let from_int = ctx
            .model
            .outlet_fact(node.inputs[0])
            .map(|f| integer(f.datum_type))
            .unwrap_or(false);
        if !integer(c.to) || from_int {
            return Ok(Some(ctx.alias(node, x)));
        }
        return ctx
            .emit(node, FloatOp::Unary(UnaryFn::Trunc), vec![x])
            .map(Some);
    }
    if node.op_as::<Iff>().is_some() {
        let ins = (0..3)
            .map(|i| ctx.input(node, i))
            .collect::<Result<Vec<_>, _>>()?;
        return ctx.emit(node, FloatOp::Where, ins).map(Some);
    }
    if let Some(op) = node.op_as::<RmsNorm>() {
        // y = x · rsqrt(mean(x²) + eps), as primitive float ops.
        let eps = op
            .eps
            .cast_to_scalar::<f32>()
            .map_err(|_| ctx.unsupported(node))?;
        let x = ctx.input(node, 0)?;
        let sx = ctx.in_shape(node, 0)?;
        let rs: Vec<usize> = sx
            .iter()
            .enumerate()
            .map(|(i, &d)| if i == op.axis { 1 } else { d })
            .collect();
        let ms = ctx.g.add_node(
            format!("{}.ms", node.name),
            FloatOp::Reduce {
                axes: vec![op.axis],
                kind: ReduceKind::MeanOfSquares,
            },
            vec![x],
            rs.clone(),
        );
        let r = ctx.g.add_node(
            format!("{}.rsqrt", node.name),
            FloatOp::Unary(UnaryFn::RsqrtEps(eps)),
            vec![ms],
            rs,
        );
        return ctx
            .emit(node, FloatOp::Binary(BinaryKind::Mul), vec![x, r])
            .map(Some);
    }
    if node.op_as::<Identity>().is_some() {
        let x = ctx.input(node, 0)?;
        return Ok(Some(ctx.alias(node, x)));
    }
    Ok(None)
}
