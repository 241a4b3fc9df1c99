//! Indexed family: Gather with computed (non-constant) indices, GatherElements, GatherND,
//! ScatterElements, ScatterND → [`FloatOp::IndexedMove`]. The quantizer accepts them when the
//! index tensor is a model input (so the verifier knows the map); a float→int `Cast` on the
//! way from the input is looked through, since the indices are required to be exact integers.
//! A two-entry constant table gathered by a boolean (a classifier's label lookup) becomes an
//! affine map of the boolean instead.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{
    Gather, GatherElements, GatherNd, ScatterElements, ScatterNd, ScatterReduction,
};
use tract_onnx::tract_core::ops::cast::Cast;
use zkinfer_model::kernels::indexed::IndexKind;
use zkinfer_model::{FloatOp, TensorId, UnaryFn};

use crate::{Ctx, LoadError};

/// Input `i` of `node`, looking through Cast nodes.
fn index_input(ctx: &mut Ctx, node: &TypedNode, i: usize) -> Result<TensorId, LoadError> {
    let mut cur = node.clone();
    let mut k = i;
    loop {
        let o = *cur.inputs.get(k).ok_or_else(|| ctx.unsupported(node))?;
        let src = ctx.model.node(o.node);
        if src.op_as::<Cast>().is_some() && ctx.konst(&cur, k).is_none() {
            cur = src.clone();
            k = 0;
        } else {
            return ctx.input(&cur, k);
        }
    }
}

/// Whether input `i` is a boolean (possibly cast to an integer type).
fn is_boolean(ctx: &Ctx, node: &TypedNode, i: usize) -> bool {
    let mut cur = node.clone();
    let mut k = i;
    loop {
        let Some(&o) = cur.inputs.get(k) else {
            return false;
        };
        if ctx
            .model
            .outlet_fact(o)
            .is_ok_and(|f| f.datum_type == DatumType::Bool)
        {
            return true;
        }
        let src = ctx.model.node(o.node);
        if src.op_as::<Cast>().is_none() {
            return false;
        }
        cur = src.clone();
        k = 0;
    }
}

/// `Gather(T, b)` with a constant two-entry table and a boolean index `b` (a classifier's
/// label lookup): `T0 + (T1 − T0)·b`, element-wise on the index tensor — no index map.
fn bool_select(
    ctx: &mut Ctx,
    node: &TypedNode,
    axis: usize,
) -> Result<Option<TensorId>, LoadError> {
    let Some(t) = ctx.konst_f32(node, 0) else {
        return Ok(None);
    };
    if axis != 0 || t.len() != 2 || ctx.in_shape(node, 0)?.len() != 1 || !is_boolean(ctx, node, 1) {
        return Ok(None);
    }
    let b = ctx.input(node, 1)?;
    let scaled = if t[1] - t[0] == 1.0 {
        b
    } else {
        ctx.emit_helper(
            node,
            "scale",
            FloatOp::Unary(UnaryFn::Scale(t[1] - t[0])),
            vec![b],
        )?
    };
    let op = if t[0] == 0.0 {
        FloatOp::Reshape
    } else {
        FloatOp::Unary(UnaryFn::Offset(t[0]))
    };
    ctx.emit(node, op, vec![scaled]).map(Some)
}

fn no_reduction(ctx: &Ctx, node: &TypedNode, r: &ScatterReduction) -> Result<(), LoadError> {
    if matches!(r, ScatterReduction::None) {
        Ok(())
    } else {
        Err(ctx.unsupported(node))
    }
}

/// Converts indexed-movement nodes.
pub fn convert(ctx: &mut Ctx, node: &TypedNode) -> Result<Option<TensorId>, LoadError> {
    let kind = if let Some(op) = node.op_as::<Gather>() {
        if ctx.konst(node, 1).is_some() {
            return Ok(None); // constant indices: a plain Move (shape family)
        }
        if let Some(t) = bool_select(ctx, node, op.axis)? {
            return Ok(Some(t));
        }
        IndexKind::Gather { axis: op.axis }
    } else if let Some(op) = node.op_as::<GatherElements>() {
        IndexKind::GatherElements { axis: op.axis }
    } else if let Some(op) = node.op_as::<GatherNd>() {
        IndexKind::GatherNd {
            batch_dims: op.batch_dims,
        }
    } else if let Some(op) = node.op_as::<ScatterElements>() {
        no_reduction(ctx, node, &op.reduction)?;
        IndexKind::ScatterElements { axis: op.axis }
    } else if let Some(op) = node.op_as::<ScatterNd>() {
        no_reduction(ctx, node, &op.reduction)?;
        IndexKind::ScatterNd
    } else {
        return Ok(None);
    };
    let data = ctx.input(node, 0)?;
    let idx = index_input(ctx, node, 1)?;
    let mut ins = vec![data, idx];
    if kind.has_updates() {
        ins.push(ctx.input(node, 2)?);
    }
    ctx.emit(node, FloatOp::IndexedMove { kind }, ins).map(Some)
}
