//! Float reference evaluator of a [`FloatGraph`] (f32 storage, f64 for transcendental math).

use crate::error::{invalid, ModelError, Result};
use crate::graph::{numel, FloatGraph, FloatTensorKind, TensorId};
use crate::kernels::{self, linear, pool, reduce, shape as sk};
use crate::ops::{BinaryKind, FloatOp, ReduceKind, UnaryFn};

/// Index map of a single-input structural op (output element → input flat index), or None
/// when the op is not structural.
pub fn structural_map(op: &FloatOp, sin: &[usize], sout: &[usize]) -> Option<Vec<Option<usize>>> {
    Some(match op {
        FloatOp::Reshape => (0..numel(sout)).map(Some).collect(),
        FloatOp::Transpose { perm } => {
            let idx: Vec<usize> = (0..numel(sin)).collect();
            sk::transpose(&idx, sin, perm)?
                .into_iter()
                .map(Some)
                .collect()
        }
        FloatOp::Slice { axis, start, step } => sk::slice_map(sin, *axis, *start, *step, sout),
        FloatOp::Pad { pads, .. } => sk::pad_map(sin, pads, sout),
        FloatOp::Gather { axis, indices } => sk::gather_index_map(sin, *axis, indices, sout),
        FloatOp::Broadcast => sk::broadcast_map(sin, sout),
        FloatOp::Tile => sk::tile_map(sin, sout),
        _ => return None,
    })
}

/// Evaluates the graph on the given inputs; returns every input's and activation's value
/// (constants are empty, except graph outputs: read the rest from the graph).
pub fn eval_all(g: &FloatGraph, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
    if inputs.len() != g.inputs.len() {
        return Err(ModelError::InvalidInput(format!(
            "expected {} inputs, got {}",
            g.inputs.len(),
            inputs.len()
        )));
    }
    // Constants are read from the graph, not copied (an LLM's weights would be held twice).
    let mut vals: Vec<Vec<f32>> = vec![Vec::new(); g.tensors.len()];
    for (id, v) in g.inputs.iter().zip(inputs) {
        let t = g.tensor(*id)?;
        if v.len() != numel(&t.shape) {
            return Err(ModelError::InvalidInput(format!(
                "input `{}` has {} values, shape {:?} needs {}",
                t.name,
                v.len(),
                t.shape,
                numel(&t.shape)
            )));
        }
        vals[id.0] = v.clone();
    }
    g.validate()?;
    for node in &g.nodes {
        let shapes: Vec<&[usize]> = node
            .inputs
            .iter()
            .map(|i| g.tensors[i.0].shape.as_slice())
            .collect();
        let ins: Vec<&[f32]> = node
            .inputs
            .iter()
            .map(|i| match &g.tensors[i.0].kind {
                FloatTensorKind::Const(d) => d.as_slice(),
                _ => vals[i.0].as_slice(),
            })
            .collect();
        let sout = g.tensors[node.output.0].shape.clone();
        let out = eval_node(&node.op, &ins, &shapes, &sout)
            .ok_or_else(|| invalid(&node.name, "shape mismatch in evaluation"))?;
        if out.len() != numel(&sout) {
            return Err(invalid(
                &node.name,
                format!("produced {} values for shape {:?}", out.len(), sout),
            ));
        }
        vals[node.output.0] = out;
    }
    for o in &g.outputs {
        if let FloatTensorKind::Const(d) = &g.tensors[o.0].kind {
            vals[o.0] = d.clone();
        }
    }
    Ok(vals)
}

/// Evaluates the graph and returns its outputs.
pub fn eval(g: &FloatGraph, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
    let all = eval_all(g, inputs)?;
    Ok(g.outputs.iter().map(|o| all[o.0].clone()).collect())
}

fn arity(ins: &[&[f32]], n: usize) -> Option<()> {
    (ins.len() >= n).then_some(())
}

/// Float semantics of one op.
pub fn eval_node(
    op: &FloatOp,
    ins: &[&[f32]],
    shapes: &[&[usize]],
    sout: &[usize],
) -> Option<Vec<f32>> {
    arity(ins, 1)?;
    if let Some(map) = structural_map(op, shapes[0], sout) {
        let fill = if let FloatOp::Pad { value, .. } = op {
            *value
        } else {
            0.0
        };
        return Some(sk::gather_map(ins[0], &map, fill));
    }
    Some(match op {
        FloatOp::IndexedMove { kind } => {
            let idx = crate::kernels::indexed::float_indices(ins.get(1)?)?;
            let map = crate::kernels::indexed::indexed_map(
                *kind,
                shapes[0],
                shapes.get(1)?,
                &idx,
                shapes.get(2).copied(),
                sout,
            )
            .ok()?;
            crate::kernels::indexed::apply(&map, ins[0], ins.get(2).copied().unwrap_or(&[]))?
        }
        FloatOp::Einsum { expr } => {
            arity(ins, 2)?;
            let e = linear::EinsumExpr::parse(expr)?;
            let mut y = linear::einsum(&e, ins[0], shapes[0], ins[1], shapes[1], sout)?;
            if let Some(b) = ins.get(2) {
                y = kernels::binary(&y, sout, b, shapes[2], sout, |a, b| a + b);
            }
            y
        }
        FloatOp::Conv(spec) => {
            arity(ins, 2)?;
            linear::conv(
                spec,
                ins[0],
                shapes[0],
                ins[1],
                shapes[1],
                ins.get(2).copied(),
                sout,
            )?
        }
        FloatOp::MaxPool(w) => {
            pool::window_fold(w, ins[0], shapes[0], sout, f32::NEG_INFINITY, f32::max)?.0
        }
        FloatOp::AvgPool {
            window,
            count_include_pad,
        } => {
            let (s, c) = pool::window_fold(window, ins[0], shapes[0], sout, 0.0, |a, b| a + b)?;
            let d = pool::avg_divisors(window, &c, *count_include_pad);
            s.iter().zip(d).map(|(v, d)| v / d as f32).collect()
        }
        FloatOp::Binary(k) => {
            arity(ins, 2)?;
            let f = |a: f32, b: f32| -> f32 {
                match k {
                    BinaryKind::Add => a + b,
                    BinaryKind::Sub => a - b,
                    BinaryKind::Mul => a * b,
                    BinaryKind::Div => a / b,
                    BinaryKind::Max => a.max(b),
                    BinaryKind::Min => a.min(b),
                    BinaryKind::Pow => a.powf(b),
                    c => f32::from(u8::from(c.compare(a, b).unwrap_or(false))),
                }
            };
            kernels::binary(ins[0], shapes[0], ins[1], shapes[1], sout, f)
        }
        FloatOp::Unary(UnaryFn::Relu) => ins[0].iter().map(|v| v.max(0.0)).collect(),
        FloatOp::Unary(f) => ins[0]
            .iter()
            .map(|&v| f.eval(f64::from(v)) as f32)
            .collect(),
        FloatOp::Concat { axis } => {
            let parts: Vec<(&[f32], &[usize])> =
                ins.iter().copied().zip(shapes.iter().copied()).collect();
            sk::concat(&parts, *axis)?
        }
        FloatOp::Where => {
            arity(ins, 3)?;
            where_select(ins, shapes, sout, 0.0)?
        }
        FloatOp::Reduce { axes, kind } => reduce::reduce_groups(shapes[0], axes)
            .iter()
            .map(|g| {
                let it = g.iter().map(|&i| ins[0][i]);
                let n = g.len().max(1) as f32;
                match kind {
                    ReduceKind::Sum => it.sum(),
                    ReduceKind::Mean => it.sum::<f32>() / n,
                    ReduceKind::MeanOfSquares => it.map(|v| v * v).sum::<f32>() / n,
                    ReduceKind::Max => it.fold(f32::NEG_INFINITY, f32::max),
                    ReduceKind::Min => it.fold(f32::INFINITY, f32::min),
                }
            })
            .collect(),
        FloatOp::Softmax { axis, log } => {
            let mut y = vec![0.0; ins[0].len()];
            for g in reduce::reduce_groups(shapes[0], &[*axis]) {
                let m = g
                    .iter()
                    .map(|&i| ins[0][i])
                    .fold(f32::NEG_INFINITY, f32::max);
                let s: f32 = g.iter().map(|&i| (ins[0][i] - m).exp()).sum();
                for &i in &g {
                    y[i] = if *log {
                        ins[0][i] - m - s.ln()
                    } else {
                        (ins[0][i] - m).exp() / s
                    };
                }
            }
            y
        }
        FloatOp::ArgMax => {
            let v = *shapes[0].last()?;
            if v == 0 {
                return None;
            }
            ins[0]
                .chunks(v)
                .map(|row| crate::kernels::reduce::argmax(row) as f32)
                .collect()
        }
        _ => return None,
    })
}

/// Convenience: the tensor ids of a graph's outputs with their shapes.
pub fn output_shapes(g: &FloatGraph) -> Vec<(TensorId, Vec<usize>)> {
    g.outputs
        .iter()
        .map(|o| (*o, g.tensors[o.0].shape.clone()))
        .collect()
}

/// `cond ≠ 0 ? a : b` with broadcasting of all three inputs to `sout`.
pub fn where_select<T: Copy + PartialEq>(
    ins: &[&[T]],
    shapes: &[&[usize]],
    sout: &[usize],
    zero: T,
) -> Option<Vec<T>> {
    let maps: Vec<Vec<Option<usize>>> =
        (0..3).map(|k| sk::broadcast_map(shapes[k], sout)).collect();
    (0..numel(sout))
        .map(|i| {
            let c = *ins[0].get(maps[0].get(i).copied().flatten()?)?;
            let k = if c != zero { 1 } else { 2 };
            ins[k].get(maps[k].get(i).copied().flatten()?).copied()
        })
        .collect()
}
