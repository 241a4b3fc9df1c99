//! Exact integer inference: every tensor of the run, as i64, indexed by tensor id.

use serde::{Deserialize, Serialize};
use std::cell::Cell;

use super::graph::{QTensorKind, QuantNode, QuantOp, QuantizedGraph};
use super::packed::PackedWeights;
use crate::error::{invalid, ModelError, Result};
use crate::eval::structural_map;
use crate::graph::{numel, TensorId};
use crate::kernels::{self, linear, pool, reduce, shape as sk};

/// Every computed tensor of an integer run (inputs and activations), indexed by
/// [`TensorId`]. Constants are not copied (an LLM's weights would be held twice): their
/// entries are empty, and [`Trace::value`] reads them from the graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// `values[id]` is the row-major content of input or activation `id` (empty for a
    /// constant).
    pub values: Vec<Vec<i64>>,
}

impl Trace {
    /// Values of input or activation `id` (empty for a constant: see [`Trace::value`]).
    pub fn get(&self, id: TensorId) -> Option<&[i64]> {
        self.values.get(id.0).map(Vec::as_slice)
    }

    /// Values of any tensor `id` of `g`: constants from the graph, the rest from the run.
    pub fn value<'a>(&'a self, g: &'a QuantizedGraph, id: usize) -> &'a [i64] {
        match g.tensors.get(id).map(|t| &t.kind) {
            Some(QTensorKind::Const(d)) => d,
            _ => self.values.get(id).map_or(&[], Vec::as_slice),
        }
    }
}

/// Integer semantics of one node; None on shape inconsistencies.
pub fn eval_qnode(
    g: &QuantizedGraph,
    op: &QuantOp,
    ins: &[&[i64]],
    shapes: &[&[usize]],
    sout: &[usize],
) -> Option<Vec<i64>> {
    eval_qnode_watched(g, op, ins, shapes, sout, None)
}

/// `rq` applied to `acc`, recording in `sat` (when still empty) the first saturating element.
fn requant_watched(
    rq: &super::Requant,
    acc: &[i64],
    shape: &[usize],
    sat: Option<&Cell<Option<(usize, i128)>>>,
) -> Vec<i64> {
    if let Some(cell) = sat {
        if cell.get().is_none() {
            cell.set(rq.first_saturation(acc, shape));
        }
    }
    rq.apply_all(acc, shape)
}

/// The end of an einsum node from its product `acc`: the bias (input 2, when present) added
/// with broadcasting, then the requantization.
fn einsum_finish(
    requant: &super::Requant,
    mut acc: Vec<i64>,
    ins: &[&[i64]],
    shapes: &[&[usize]],
    sout: &[usize],
    sat: Option<&Cell<Option<(usize, i128)>>>,
) -> Vec<i64> {
    if let (Some(b), Some(sb)) = (ins.get(2), shapes.get(2)) {
        acc = kernels::binary(&acc, sout, b, sb, sout, |a: i64, b| a.wrapping_add(b));
    }
    requant_watched(requant, &acc, sout, sat)
}

/// [`eval_qnode`], recording in `sat` the first requantized element that saturates (its
/// index and exact value).
pub(super) fn eval_qnode_watched(
    g: &QuantizedGraph,
    op: &QuantOp,
    ins: &[&[i64]],
    shapes: &[&[usize]],
    sout: &[usize],
    sat: Option<&Cell<Option<(usize, i128)>>>,
) -> Option<Vec<i64>> {
    let apply =
        |rq: &super::Requant, acc: &[i64], shape: &[usize]| requant_watched(rq, acc, shape, sat);
    let x = *ins.first()?;
    let sx = *shapes.first()?;
    Some(match op {
        QuantOp::Einsum { expr, requant } => {
            let e = linear::EinsumExpr::parse(expr)?;
            let acc = linear::einsum(&e, x, sx, ins.get(1)?, shapes.get(1)?, sout)?;
            einsum_finish(requant, acc, ins, shapes, sout, sat)
        }
        QuantOp::Conv { spec, requant } => {
            let acc = linear::conv(
                spec,
                x,
                sx,
                ins.get(1)?,
                shapes.get(1)?,
                ins.get(2).copied(),
                sout,
            )?;
            apply(requant, &acc, sout)
        }
        QuantOp::MaxPool(w) => pool::window_fold(w, x, sx, sout, i64::MIN, i64::max)?.0,
        QuantOp::SumPool { window, requant } => apply(
            requant,
            &pool::window_fold(window, x, sx, sout, 0, i64::wrapping_add)?.0,
            sout,
        ),
        QuantOp::AddSub {
            lhs_shift,
            rhs_shift,
            sub,
            requant,
        } => {
            let f = |a: i64, b: i64| {
                let (a, b) = (a.wrapping_shl(*lhs_shift), b.wrapping_shl(*rhs_shift));
                if *sub {
                    a.wrapping_sub(b)
                } else {
                    a.wrapping_add(b)
                }
            };
            apply(
                requant,
                &kernels::binary(x, sx, ins.get(1)?, shapes.get(1)?, sout, f),
                sout,
            )
        }
        QuantOp::Mul { requant } => apply(
            requant,
            &kernels::binary(x, sx, ins.get(1)?, shapes.get(1)?, sout, i64::wrapping_mul),
            sout,
        ),
        QuantOp::MaxMin {
            lhs_shift,
            rhs_shift,
            max,
            requant,
        } => {
            let f = |a: i64, b: i64| {
                let (a, b) = (a.wrapping_shl(*lhs_shift), b.wrapping_shl(*rhs_shift));
                if *max {
                    a.max(b)
                } else {
                    a.min(b)
                }
            };
            apply(
                requant,
                &kernels::binary(x, sx, ins.get(1)?, shapes.get(1)?, sout, f),
                sout,
            )
        }
        QuantOp::Compare {
            lhs_shift,
            rhs_shift,
            kind,
        } => {
            let f = |a: i64, b: i64| {
                i64::from(
                    kind.compare(a.wrapping_shl(*lhs_shift), b.wrapping_shl(*rhs_shift))
                        .unwrap_or(false),
                )
            };
            kernels::binary(x, sx, ins.get(1)?, shapes.get(1)?, sout, f)
        }
        QuantOp::Select {
            lhs_shift,
            rhs_shift,
            requant,
        } => {
            let a: Vec<i64> = ins
                .get(1)?
                .iter()
                .map(|v| v.wrapping_shl(*lhs_shift))
                .collect();
            let b: Vec<i64> = ins
                .get(2)?
                .iter()
                .map(|v| v.wrapping_shl(*rhs_shift))
                .collect();
            apply(
                requant,
                &crate::eval::where_select(
                    &[x, &a, &b],
                    &[sx, shapes.get(1)?, shapes.get(2)?],
                    sout,
                    0,
                )?,
                sout,
            )
        }
        QuantOp::Lookup { table } => {
            let t = g.tables.get(table.0)?;
            x.iter().map(|&v| t.get(v)).collect::<Option<Vec<i64>>>()?
        }
        QuantOp::Rescale { requant } => apply(requant, x, sout),
        QuantOp::Relu => x.iter().map(|&v| v.max(0)).collect(),
        QuantOp::Move(fop) => sk::gather_map(x, &structural_map(fop, sx, sout)?, 0),
        QuantOp::IndexedMove { kind, index_frac } => {
            use crate::kernels::indexed;
            let idx = indexed::dequant_indices(ins.get(1)?, *index_frac).ok()?;
            let map = indexed::indexed_map(
                *kind,
                sx,
                shapes.get(1)?,
                &idx,
                shapes.get(2).copied(),
                sout,
            )
            .ok()?;
            indexed::apply(&map, x, ins.get(2).copied().unwrap_or(&[]))?
        }
        QuantOp::Pad { pads, value } => sk::gather_map(x, &sk::pad_map(sx, pads, sout), *value),
        QuantOp::Concat { axis } => {
            let parts: Vec<(&[i64], &[usize])> =
                ins.iter().copied().zip(shapes.iter().copied()).collect();
            sk::concat(&parts, *axis)?
        }
        QuantOp::ReduceSum { axes, requant } => {
            let acc: Vec<i64> = reduce::reduce_groups(sx, axes)
                .iter()
                .map(|gr| gr.iter().fold(0i64, |a, &i| a.wrapping_add(x[i])))
                .collect();
            apply(requant, &acc, sout)
        }
        QuantOp::ReduceMax { axes, max } => reduce::reduce_groups(sx, axes)
            .iter()
            .map(|gr| {
                let it = gr.iter().map(|&i| x[i]);
                if *max {
                    it.max()
                } else {
                    it.min()
                }
            })
            .collect::<Option<Vec<i64>>>()?,
        QuantOp::ArgMax => {
            let v = *sx.last()?;
            if v == 0 {
                return None;
            }
            x.chunks(v).map(|row| reduce::argmax(row) as i64).collect()
        }
        QuantOp::Softmax {
            axis,
            exp_table,
            out_frac,
        } => {
            let t = g.tables.get(exp_table.0)?;
            let mut y = vec![0; x.len()];
            for gr in reduce::reduce_groups(sx, &[*axis]) {
                let m = gr.iter().map(|&i| x[i]).max()?;
                let e: Vec<i64> = gr
                    .iter()
                    .map(|&i| t.get(x[i].wrapping_sub(m)))
                    .collect::<Option<_>>()?;
                let s = e.iter().fold(0i64, |a, &v| a.wrapping_add(v)).max(1);
                for (&i, &ei) in gr.iter().zip(&e) {
                    y[i] = ei.wrapping_shl(*out_frac).wrapping_add(s / 2).div_euclid(s);
                }
            }
            y
        }
    })
}

/// The error for node `n`'s requantized `element` whose exact result `value` saturates.
pub(super) fn saturated(n: &QuantNode, element: usize, value: i128) -> ModelError {
    let (lo, hi) = n.op.requant().map_or((0, 0), |rq| (rq.lo, rq.hi));
    ModelError::Saturated {
        node: n.name.clone(),
        op: n.op.name(),
        element,
        value,
        lo,
        hi,
    }
}

/// Runs the quantized graph on already-quantized inputs. A requantization whose exact
/// result leaves the activation range is clamped (the float-like semantics a fidelity report
/// measures); [`run_quantized_strict`] refuses it instead.
pub fn run_quantized(g: &QuantizedGraph, inputs: &[Vec<i64>]) -> Result<Trace> {
    run_inner(g, inputs, false, None)
}

/// [`run_quantized`] that refuses the first saturating requantization
/// ([`ModelError::Saturated`], naming the node): exactly the runs a proof exists for.
pub fn run_quantized_strict(g: &QuantizedGraph, inputs: &[Vec<i64>]) -> Result<Trace> {
    run_inner(g, inputs, true, None)
}

/// [`run_quantized_strict`] with `g`'s weights packed beforehand ([`PackedWeights`]): the
/// same trace, faster when several runs share the packs.
pub fn run_quantized_strict_packed(
    g: &QuantizedGraph,
    inputs: &[Vec<i64>],
    packed: &PackedWeights,
) -> Result<Trace> {
    run_inner(g, inputs, true, Some(packed))
}

/// Node `ni` (`n`) of `g` on `ins` (shapes `shapes`) giving `sout`: from a packed weight
/// where there is one that applies, else [`eval_qnode_watched`].
#[allow(clippy::too_many_arguments)]
pub(super) fn eval_node(
    g: &QuantizedGraph,
    ni: usize,
    n: &QuantNode,
    ins: &[&[i64]],
    shapes: &[&[usize]],
    sout: &[usize],
    packed: Option<&PackedWeights>,
    sat: Option<&Cell<Option<(usize, i128)>>>,
) -> Option<Vec<i64>> {
    if let (QuantOp::Einsum { requant, .. }, Some(p)) = (&n.op, packed) {
        let (a, sa) = (*ins.first()?, *shapes.first()?);
        if let Some(acc) = p.product(ni, a, sa, sout) {
            return Some(einsum_finish(requant, acc, ins, shapes, sout, sat));
        }
    }
    eval_qnode_watched(g, &n.op, ins, shapes, sout, sat)
}

fn run_inner(
    g: &QuantizedGraph,
    inputs: &[Vec<i64>],
    strict: bool,
    packed: Option<&PackedWeights>,
) -> Result<Trace> {
    if inputs.len() != g.inputs.len() {
        return Err(ModelError::InvalidInput(format!(
            "expected {} inputs, got {}",
            g.inputs.len(),
            inputs.len()
        )));
    }
    let mut values: Vec<Vec<i64>> = vec![Vec::new(); g.tensors.len()];
    for (id, v) in g.inputs.iter().zip(inputs) {
        let t = g
            .tensors
            .get(id.0)
            .ok_or_else(|| invalid("<inputs>", "bad input id"))?;
        if v.len() != numel(&t.shape) {
            return Err(ModelError::InvalidInput(format!(
                "input `{}`: {} values, expected {}",
                t.name,
                v.len(),
                numel(&t.shape)
            )));
        }
        values[id.0] = v.clone();
    }
    for (ni, n) in g.nodes.iter().enumerate() {
        let ins: Vec<&[i64]> = n
            .inputs
            .iter()
            .map(|i| match g.tensors.get(i.0).map(|t| &t.kind) {
                Some(QTensorKind::Const(d)) => d.as_slice(),
                _ => values.get(i.0).map_or(&[][..], Vec::as_slice),
            })
            .collect();
        let shapes: Vec<&[usize]> = n
            .inputs
            .iter()
            .map(|i| {
                g.tensors
                    .get(i.0)
                    .map(|t| t.shape.as_slice())
                    .unwrap_or(&[])
            })
            .collect();
        let sout = &g
            .tensors
            .get(n.output.0)
            .ok_or_else(|| invalid(&n.name, "bad output id"))?
            .shape;
        let sat = Cell::new(None);
        let out = eval_node(
            g,
            ni,
            n,
            &ins,
            &shapes,
            sout,
            packed,
            strict.then_some(&sat),
        )
        .ok_or_else(|| invalid(&n.name, "integer evaluation failed (shape or table domain)"))?;
        if let Some((element, value)) = sat.get() {
            return Err(saturated(n, element, value));
        }
        if out.len() != numel(sout) {
            return Err(invalid(
                &n.name,
                "integer evaluation produced a wrong number of values",
            ));
        }
        values[n.output.0] = out;
    }
    for o in &g.outputs {
        if let Some(QTensorKind::Const(d)) = g.tensors.get(o.0).map(|t| &t.kind) {
            values[o.0] = d.clone();
        }
    }
    Ok(Trace { values })
}

/// Quantizes float inputs and runs the graph (clamping, like [`run_quantized`]).
pub fn run(g: &QuantizedGraph, inputs: &[Vec<f32>]) -> Result<Trace> {
    run_quantized(g, &quantize_inputs(g, inputs)?)
}

/// Quantizes float inputs and runs the graph, refusing saturation like
/// [`run_quantized_strict`].
pub fn run_strict(g: &QuantizedGraph, inputs: &[Vec<f32>]) -> Result<Trace> {
    run_quantized_strict(g, &quantize_inputs(g, inputs)?)
}

fn quantize_inputs(g: &QuantizedGraph, inputs: &[Vec<f32>]) -> Result<Vec<Vec<i64>>> {
    let q: Vec<Vec<i64>> = g
        .inputs
        .iter()
        .zip(inputs)
        .map(|(id, x)| g.quantize_input(*id, x))
        .collect();
    if q.len() != inputs.len() {
        return Err(ModelError::InvalidInput(format!(
            "expected {} inputs, got {}",
            g.inputs.len(),
            inputs.len()
        )));
    }
    Ok(q)
}
