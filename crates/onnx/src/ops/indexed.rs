//! Indexed family: Gather with computed (non-constant) indices, GatherElements, GatherND,
//! ScatterElements, ScatterND → [`FloatOp::IndexedMove`]. The quantizer accepts them when the
//! index tensor is a model input (so the verifier knows the map); a float→int `Cast` on the
//! way from the input is looked through, since the indices are required to be exact integers.
//! A two-entry constant table gathered by a boolean (a classifier's label lookup) becomes an
//! affine map of the boolean instead.
//!
//! **Gather with indices computed inside the model** (a tree ensemble's node walk, a label
//! lookup by ArgMax) cannot use an index map the verifier knows. It is lowered to a one-hot
//! selection instead: `h[j, k] = [idx_j = k] + [idx_j = k − n]` (one comparison each, the
//! second one for ONNX's negative indices), `out[p, j, q] = Σ_k h[j, k] · data[p, k, q]` as a
//! broadcast product and a sum over `k`. Every step is a proven relation; the sum has one
//! non-zero term, so a constant table's values come out at the product's fixed-point scale
//! (integers exactly). An index outside `[−n, n)` selects nothing and yields 0 (ONNX leaves
//! it undefined). Cost: `|idx| · n` products, so it is meant for small tables. GatherElements
//! and GatherND (`batch_dims = 0`, index tuples linearised first) with computed indices and
//! ONNX OneHot use the same one-hot.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{
    Gather, GatherElements, GatherNd, OneHot, ScatterElements, ScatterNd, ScatterReduction,
};
use tract_onnx::tract_core::ops::cast::Cast;
use zkinfer_model::kernels::indexed::IndexKind;
use zkinfer_model::{BinaryKind, FloatOp, ReduceKind, TensorId, UnaryFn};

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

/// Whether the node's indices (input 1) are a model input, so the verifier knows the map
/// and an `IndexedMove` applies; otherwise a one-hot selection is needed.
fn indices_from_input(ctx: &mut Ctx, node: &TypedNode) -> bool {
    index_input(ctx, node, 1).is_ok_and(|t| ctx.g.inputs.contains(&t))
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

/// `h = [idx = k] + [idx = k − n]` for `k < n`, shape `idx_shape + [n]` (0/1 for indices in
/// `[−n, n)`); `idx` is reshaped to `idx_shape + [1]` first.
fn one_hot(ctx: &mut Ctx, node: &TypedNode, idx: TensorId, si: &[usize], n: usize) -> TensorId {
    let with_n = [si, &[n]].concat();
    let idx = ctx.emit_step(
        node,
        "index",
        FloatOp::Reshape,
        vec![idx],
        [si, &[1]].concat(),
    );
    let pos = ctx.constant(
        node,
        "position",
        vec![n],
        (0..n).map(|k| k as f32).collect(),
    );
    let neg = ctx.constant(
        node,
        "position_from_end",
        vec![n],
        (0..n).map(|k| k as f32 - n as f32).collect(),
    );
    let eq = FloatOp::Binary(BinaryKind::Equal);
    let hit = ctx.emit_step(node, "hit", eq.clone(), vec![idx, pos], with_n.clone());
    let hit_neg = ctx.emit_step(node, "hit_neg", eq, vec![idx, neg], with_n.clone());
    ctx.emit_step(
        node,
        "one_hot",
        FloatOp::Binary(BinaryKind::Add),
        vec![hit, hit_neg],
        with_n,
    )
}

/// `Σ_k a·b` over axis `k_axis` of the broadcast product of `a` and `b` (shape `full`),
/// reshaped to the node's output.
fn select_sum(
    ctx: &mut Ctx,
    node: &TypedNode,
    a: TensorId,
    b: TensorId,
    full: Vec<usize>,
    k_axis: usize,
) -> Result<TensorId, LoadError> {
    let mut summed = full.clone();
    summed[k_axis] = 1;
    let picked = ctx.emit_step(
        node,
        "picked",
        FloatOp::Binary(BinaryKind::Mul),
        vec![a, b],
        full,
    );
    let sum = ctx.emit_step(
        node,
        "selected",
        FloatOp::Reduce {
            axes: vec![k_axis],
            kind: ReduceKind::Sum,
        },
        vec![picked],
        summed,
    );
    ctx.emit(node, FloatOp::Reshape, vec![sum])
}

/// Gather along `axis` with computed indices, as a one-hot selection (module docs).
fn gather_one_hot(ctx: &mut Ctx, node: &TypedNode, axis: usize) -> Result<TensorId, LoadError> {
    let sd = ctx.in_shape(node, 0)?;
    let si = ctx.in_shape(node, 1)?;
    let data = ctx.input(node, 0)?;
    let idx = ctx.input(node, 1)?;
    select_along(ctx, node, (data, &sd), (idx, &si), axis)
}

/// `out[pre, j, post] = Σ_k h[j, k] · data[pre, k, post]` with `h` the one-hot of `idx`.
fn select_along(
    ctx: &mut Ctx,
    node: &TypedNode,
    (data, sd): (TensorId, &[usize]),
    (idx, si): (TensorId, &[usize]),
    axis: usize,
) -> Result<TensorId, LoadError> {
    let n = *sd.get(axis).ok_or_else(|| ctx.unsupported(node))?;
    let (pre, post) = (&sd[..axis], &sd[axis + 1..]);
    let h = one_hot(ctx, node, idx, si, n);
    // Broadcast layout [pre, si, n, post] for both operands.
    let ones = |k: usize| vec![1usize; k];
    let h_shape = [ones(pre.len()), si.to_vec(), vec![n], ones(post.len())].concat();
    let d_shape = [pre.to_vec(), ones(si.len()), vec![n], post.to_vec()].concat();
    let full = [pre.to_vec(), si.to_vec(), vec![n], post.to_vec()].concat();
    let h = ctx.emit_step(node, "one_hot_b", FloatOp::Reshape, vec![h], h_shape);
    let d = ctx.emit_step(node, "data_b", FloatOp::Reshape, vec![data], d_shape);
    select_sum(ctx, node, h, d, full, pre.len() + si.len())
}

/// GatherND (`batch_dims = 0`) with computed indices: each index tuple (negative components
/// wrapped: `i + d·[i < 0]`) becomes one linear index `Σ_j i_j · stride_j` over the first `m`
/// data axes, and the data, with those axes flattened, is selected along axis 0.
fn gather_nd_one_hot(ctx: &mut Ctx, node: &TypedNode) -> Result<TensorId, LoadError> {
    let sd = ctx.in_shape(node, 0)?;
    let si = ctx.in_shape(node, 1)?;
    let m = si.last().copied().unwrap_or(0);
    if m == 0 || m > sd.len() {
        return Err(LoadError::Shape {
            node: node.name.clone(),
            reason: format!("GatherND indices {si:?} do not fit data {sd:?}"),
        });
    }
    let dims: Vec<f32> = sd[..m].iter().map(|&d| d as f32).collect();
    let mut strides = vec![1f32; m];
    for j in (0..m - 1).rev() {
        strides[j] = strides[j + 1] * sd[j + 1] as f32;
    }
    let dims = ctx.constant(node, "dims", vec![m], dims);
    let strides = ctx.constant(node, "strides", vec![m], strides);
    let zero = ctx.constant(node, "zero", vec![1], vec![0.0]);
    let idx = ctx.input(node, 1)?;
    let bin = FloatOp::Binary;
    let neg = ctx.emit_step(
        node,
        "negative",
        bin(BinaryKind::Less),
        vec![idx, zero],
        si.clone(),
    );
    let wrap = ctx.emit_step(
        node,
        "wrap",
        bin(BinaryKind::Mul),
        vec![neg, dims],
        si.clone(),
    );
    let idx = ctx.emit_step(
        node,
        "wrapped",
        bin(BinaryKind::Add),
        vec![idx, wrap],
        si.clone(),
    );
    let terms = ctx.emit_step(
        node,
        "terms",
        bin(BinaryKind::Mul),
        vec![idx, strides],
        si.clone(),
    );
    let mut lin_shape = si.clone();
    *lin_shape.last_mut().unwrap_or(&mut 0) = 1;
    let lin = ctx.emit_step(
        node,
        "linear",
        FloatOp::Reduce {
            axes: vec![si.len() - 1],
            kind: ReduceKind::Sum,
        },
        vec![terms],
        lin_shape,
    );
    let lead = &si[..si.len() - 1];
    let lin = ctx.emit_step(node, "linear_b", FloatOp::Reshape, vec![lin], lead.to_vec());
    let flat: Vec<usize> = [&[sd[..m].iter().product::<usize>()], &sd[m..]].concat();
    let data = ctx.input(node, 0)?;
    let data = ctx.emit_step(node, "flat", FloatOp::Reshape, vec![data], flat.clone());
    select_along(ctx, node, (data, &flat), (lin, lead), 0)
}

/// GatherElements along `axis` with computed indices: `out[i] = Σ_k [idx_i = k] ·
/// data[i with axis := k]`, the data first cut to the index shape off the axis, then its
/// axis moved last to meet the one-hot's.
fn gather_elements_one_hot(
    ctx: &mut Ctx,
    node: &TypedNode,
    axis: usize,
) -> Result<TensorId, LoadError> {
    let sd = ctx.in_shape(node, 0)?;
    let si = ctx.in_shape(node, 1)?;
    let r = sd.len();
    if si.len() != r || axis >= r || (0..r).any(|j| j != axis && si[j] > sd[j]) {
        return Err(LoadError::Shape {
            node: node.name.clone(),
            reason: format!("GatherElements indices {si:?} do not fit data {sd:?}"),
        });
    }
    let n = sd[axis];
    let mut d = ctx.input(node, 0)?;
    let mut cur = sd.clone();
    for j in (0..r).filter(|&j| j != axis && si[j] < sd[j]) {
        cur[j] = si[j];
        d = ctx.emit_step(
            node,
            &format!("cut{j}"),
            FloatOp::Slice {
                axis: j,
                start: 0,
                step: 1,
            },
            vec![d],
            cur.clone(),
        );
    }
    let perm: Vec<usize> = (0..r).filter(|&j| j != axis).chain([axis]).collect();
    let moved: Vec<usize> = perm.iter().map(|&j| cur[j]).collect();
    let d = ctx.emit_step(
        node,
        "axis_last",
        FloatOp::Transpose { perm },
        vec![d],
        moved,
    );
    let mut q = si.clone();
    q[axis] = 1;
    q.push(n);
    let d = ctx.emit_step(node, "data_b", FloatOp::Reshape, vec![d], q);
    let idx = ctx.input(node, 1)?;
    let h = one_hot(ctx, node, idx, &si, n);
    select_sum(ctx, node, h, d, [si.as_slice(), &[n]].concat(), r)
}

/// ONNX OneHot: `off + (on − off) · h` with `h` the 0/1 one-hot of the indices, its class
/// axis moved to `axis`.
fn one_hot_op(ctx: &mut Ctx, node: &TypedNode, op: &OneHot) -> Result<TensorId, LoadError> {
    let si = ctx.in_shape(node, 0)?;
    let scalar = |t: &Tensor| t.cast_to_scalar::<f32>().ok();
    let (Some(on), Some(off)) = (scalar(&op.on), scalar(&op.off)) else {
        return Err(ctx.unsupported(node));
    };
    let idx = ctx.input(node, 0)?;
    let n = op.dim;
    let mut h = one_hot(ctx, node, idx, &si, n);
    let r = si.len() + 1;
    if op.axis != si.len() {
        let perm: Vec<usize> = (0..r)
            .map(|i| match i.cmp(&op.axis) {
                std::cmp::Ordering::Less => i,
                std::cmp::Ordering::Equal => r - 1,
                std::cmp::Ordering::Greater => i - 1,
            })
            .collect();
        let out = ctx.out_shape(node)?;
        h = ctx.emit_step(
            node,
            "class_axis",
            FloatOp::Transpose { perm },
            vec![h],
            out,
        );
    }
    if on == 1.0 && off == 0.0 {
        return ctx.emit(node, FloatOp::Reshape, vec![h]);
    }
    let scaled = ctx.emit_helper(
        node,
        "scaled",
        FloatOp::Unary(UnaryFn::Scale(on - off)),
        vec![h],
    )?;
    ctx.emit(node, FloatOp::Unary(UnaryFn::Offset(off)), vec![scaled])
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
    if let Some(op) = node.op_as::<OneHot>() {
        return one_hot_op(ctx, node, op).map(Some);
    }
    let kind = if let Some(op) = node.op_as::<Gather>() {
        if ctx.konst(node, 1).is_some() {
            return Ok(None); // constant indices: a plain Move (shape family)
        }
        if let Some(t) = bool_select(ctx, node, op.axis)? {
            return Ok(Some(t));
        }
        let from_input = indices_from_input(ctx, node);
        if !from_input {
            return gather_one_hot(ctx, node, op.axis).map(Some);
        }
        IndexKind::Gather { axis: op.axis }
    } else if let Some(op) = node.op_as::<GatherElements>() {
        let from_input = indices_from_input(ctx, node);
        if !from_input {
            return gather_elements_one_hot(ctx, node, op.axis).map(Some);
        }
        IndexKind::GatherElements { axis: op.axis }
    } else if let Some(op) = node.op_as::<GatherNd>() {
        let from_input = indices_from_input(ctx, node);
        if !from_input && op.batch_dims == 0 {
            return gather_nd_one_hot(ctx, node).map(Some);
        }
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
