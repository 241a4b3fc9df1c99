//! Row-incremental integer runs: after a full run, re-evaluate only the rows that changed.
//!
//! A causal language model's pass over `L` positions computes, in every activation, one *row*
//! per position, and row `r` depends only on rows `≤ r` of its inputs. Greedy generation
//! appends one token per step, so a step needs only the new position's row of each activation
//! (and the one new emitted slot): the rows before it are those of the previous step. This is
//! what a KV cache does by hand; here it is derived from the graph.
//!
//! [`RowPlan::new`] gives every tensor a *row axis* in a *space* (a graph input: its rows are
//! that input's rows), propagated from the inputs through the ops: element-wise ops and
//! requantizations keep it (broadcast operands aligned from the right, sliced along it when
//! they have its full size — the causal mask, rotary tables); an einsum's output carries the
//! first operand's row label (`QKᵀ`: the query's; the key, whose row label is another, is read
//! whole); reshapes, transposes and slices move it; softmax, reductions and argmax keep it when
//! they do not run along it; a gather with a row-carrying index takes the index's space (the
//! emitted slots of an LLM pass). Nodes with no row-carrying input are *static* (computed once).
//! An op outside these rules makes the plan fail with the node named: such graphs are run whole.
//!
//! Reading a row-carrying operand whole (the keys and values of attention) is exact only if the
//! rows after the current one cannot reach the rows computed, as under a causal mask; the plan
//! cannot see masks, so callers check the result against a full run (LLM generation re-runs the
//! final pass whole, and the proof covers that run, never the incremental one).

use std::cell::Cell;
use std::ops::Range;

use super::graph::{QTensorKind, QuantOp, QuantizedGraph};
use super::packed::PackedWeights;
use super::requant::RequantIndex;
use super::run::{eval_node, run_quantized_strict_packed, saturated, Trace};
use crate::error::{invalid, ModelError, Result};
use crate::graph::{numel, TensorId};
use crate::kernels::indexed::IndexKind;
use crate::kernels::linear::EinsumExpr;
use crate::ops::FloatOp;

/// Where a tensor's rows lie: along `axis`, indexed like the rows of graph input `space`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// Index of the graph input (in [`QuantizedGraph::inputs`]) whose rows these are.
    pub space: usize,
    /// Axis of the tensor.
    pub axis: usize,
}

/// How a node reads one input when evaluating a range of its output rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Feed {
    /// The whole tensor.
    Whole,
    /// The output's row range, along this axis of the input.
    Slice(usize),
}

#[derive(Clone, Debug)]
enum NodePlan {
    Static,
    Rows { out: Row, feeds: Vec<Feed> },
}

/// The row axis of every tensor and how each node reads its inputs row by row.
#[derive(Clone, Debug)]
pub struct RowPlan {
    rows: Vec<Option<Row>>,
    nodes: Vec<NodePlan>,
}

type Plan<T> = std::result::Result<T, String>;

impl RowPlan {
    /// Plans row-wise evaluation of `g` given each graph input's row axis. Errors with the
    /// first node (by name) whose op the rules above do not cover.
    pub fn new(g: &QuantizedGraph, input_axes: &[usize]) -> Plan<Self> {
        if input_axes.len() != g.inputs.len() {
            return Err(format!(
                "{} input row axes for {} graph inputs",
                input_axes.len(),
                g.inputs.len()
            ));
        }
        let mut rows: Vec<Option<Row>> = vec![None; g.tensors.len()];
        for (space, (id, &axis)) in g.inputs.iter().zip(input_axes).enumerate() {
            let rank = g.tensors.get(id.0).map_or(0, |t| t.shape.len());
            if axis >= rank {
                return Err(format!("input {space} has no axis {axis}"));
            }
            rows[id.0] = Some(Row { space, axis });
        }
        let mut nodes = Vec::with_capacity(g.nodes.len());
        for n in &g.nodes {
            let p = node_plan(g, &n.op, &n.inputs, n.output, &rows)
                .map_err(|why| format!("node `{}` ({}): {why}", n.name, n.op.name()))?;
            if let NodePlan::Rows { out, .. } = &p {
                if let Some(slot) = rows.get_mut(n.output.0) {
                    *slot = Some(*out);
                }
            }
            nodes.push(p);
        }
        Ok(RowPlan { rows, nodes })
    }

    /// The row axis of tensor `id` (None: constant or static).
    pub fn row(&self, id: TensorId) -> Option<Row> {
        self.rows.get(id.0).copied().flatten()
    }
}

fn shape(g: &QuantizedGraph, id: TensorId) -> Plan<&[usize]> {
    g.tensors
        .get(id.0)
        .map(|t| t.shape.as_slice())
        .ok_or_else(|| "bad tensor id".to_string())
}

fn node_plan(
    g: &QuantizedGraph,
    op: &QuantOp,
    ins: &[TensorId],
    output: TensorId,
    rows: &[Option<Row>],
) -> Plan<NodePlan> {
    let row_of = |id: &TensorId| rows.get(id.0).copied().flatten();
    let carrying: Vec<(usize, Row)> = ins
        .iter()
        .enumerate()
        .filter_map(|(j, id)| row_of(id).map(|r| (j, r)))
        .collect();
    let Some(&(_, first)) = carrying.first() else {
        return Ok(NodePlan::Static);
    };
    let sout = shape(g, output)?;
    let sx = shape(g, ins[0])?;
    // Single-input ops that keep the row axis where it is (when they do not run along it).
    let keep = |along: &[usize]| -> Plan<(Row, Vec<Feed>)> {
        if along.contains(&first.axis) {
            return Err("runs along the row axis".into());
        }
        if ins.len() != 1 {
            return Err("expected one input".into());
        }
        Ok((first, vec![Feed::Slice(first.axis)]))
    };
    let (out, feeds) = match op {
        QuantOp::Einsum { expr, .. } => einsum_plan(g, expr, ins, sout, rows)?,
        QuantOp::AddSub { .. }
        | QuantOp::Mul { .. }
        | QuantOp::MaxMin { .. }
        | QuantOp::Compare { .. }
        | QuantOp::Select { .. }
        | QuantOp::Lookup { .. }
        | QuantOp::Rescale { .. }
        | QuantOp::Relu
        | QuantOp::Move(FloatOp::Broadcast) => aligned(g, ins, sout, &carrying, None)?,
        QuantOp::Concat { axis } => aligned(g, ins, sout, &carrying, Some(*axis))?,
        QuantOp::Softmax { axis, .. } => keep(&[*axis])?,
        QuantOp::ReduceSum { axes, .. } | QuantOp::ReduceMax { axes, .. } => {
            let (r, f) = keep(axes)?;
            let axis = if sout.len() == sx.len() {
                r.axis
            } else {
                r.axis - axes.iter().filter(|&&a| a < r.axis).count()
            };
            (Row { axis, ..r }, f)
        }
        QuantOp::ArgMax => {
            let (r, f) = keep(&[sx.len().saturating_sub(1)])?;
            (r, f)
        }
        QuantOp::Move(FloatOp::Reshape) => {
            let before: usize = sx[..first.axis].iter().product();
            let axis = (0..sout.len())
                .find(|&b| {
                    sout[..b].iter().product::<usize>() == before && sout[b] == sx[first.axis]
                })
                .ok_or("the reshape splits or merges the row axis")?;
            (Row { axis, ..first }, vec![Feed::Slice(first.axis)])
        }
        QuantOp::Move(FloatOp::Transpose { perm }) => {
            let axis = perm
                .iter()
                .position(|&p| p == first.axis)
                .ok_or("bad permutation")?;
            (Row { axis, ..first }, vec![Feed::Slice(first.axis)])
        }
        QuantOp::Move(FloatOp::Slice { axis, .. }) => keep(&[*axis])?,
        QuantOp::IndexedMove {
            kind: IndexKind::Gather { axis },
            ..
        } => gather_plan(g, *axis, ins, rows)?,
        _ => return Err("no row rule for this op".into()),
    };
    if out.axis >= sout.len() {
        return Err("row axis out of range".into());
    }
    if let Some(rq) = op.requant() {
        match rq.index {
            RequantIndex::Element => return Err("per-element requantization".into()),
            RequantIndex::Axis(a) if a == out.axis => {
                return Err("requantization varies along the row axis".into())
            }
            _ => {}
        }
    }
    Ok(NodePlan::Rows { out, feeds })
}

/// Element-wise rule: operands broadcast to the output, aligned from the right.
fn aligned(
    g: &QuantizedGraph,
    ins: &[TensorId],
    sout: &[usize],
    carrying: &[(usize, Row)],
    concat_axis: Option<usize>,
) -> Plan<(Row, Vec<Feed>)> {
    let r = sout.len();
    let mut out: Option<Row> = None;
    for &(j, row) in carrying {
        let rank = shape(g, ins[j])?.len();
        if rank > r {
            return Err("operand of higher rank than the output".into());
        }
        let o = Row {
            axis: row.axis + r - rank,
            ..row
        };
        if out.is_some_and(|p| p != o) {
            return Err("operands carry rows on different axes or spaces".into());
        }
        out = Some(o);
    }
    let out = out.ok_or("no row-carrying operand")?;
    if concat_axis == Some(out.axis) {
        return Err("concatenates along the row axis".into());
    }
    let feeds = ins
        .iter()
        .map(|id| broadcast_feed(shape(g, *id)?, sout, out.axis))
        .collect::<Plan<Vec<Feed>>>()?;
    Ok((out, feeds))
}

/// How an operand broadcast to `sout` (aligned from the right) is read for output rows along
/// `axis`: whole where it has no such axis or extent 1, else sliced.
fn broadcast_feed(s: &[usize], sout: &[usize], axis: usize) -> Plan<Feed> {
    let lead = sout
        .len()
        .checked_sub(s.len())
        .ok_or("operand of higher rank than the output")?;
    if axis < lead || s[axis - lead] == 1 {
        Ok(Feed::Whole)
    } else if s[axis - lead] == sout[axis] {
        Ok(Feed::Slice(axis - lead))
    } else {
        Err("operand's row extent differs from the output's".to_string())
    }
}

fn einsum_plan(
    g: &QuantizedGraph,
    expr: &str,
    ins: &[TensorId],
    sout: &[usize],
    rows: &[Option<Row>],
) -> Plan<(Row, Vec<Feed>)> {
    let e = EinsumExpr::parse(expr).ok_or("bad einsum")?;
    let row_of = |id: &TensorId| rows.get(id.0).copied().flatten();
    let (j, drv) = ins
        .iter()
        .take(2)
        .enumerate()
        .find_map(|(j, id)| row_of(id).map(|r| (j, r)))
        .ok_or("only the bias carries rows")?;
    let label = *e
        .inputs
        .get(j)
        .and_then(|l| l.get(drv.axis))
        .ok_or("bad einsum labels")?;
    let axis = e
        .output
        .iter()
        .position(|&c| c == label)
        .ok_or("contracts its row axis")?;
    let out = Row { axis, ..drv };
    let mut feeds = Vec::with_capacity(ins.len());
    for (k, id) in ins.iter().take(2).enumerate() {
        let at = e
            .inputs
            .get(k)
            .and_then(|l| l.iter().position(|&c| c == label));
        feeds.push(match (at, row_of(id)) {
            (Some(a), Some(r)) if r != Row { axis: a, ..out } => {
                return Err("operand carries rows on another axis".into())
            }
            (Some(a), _) => Feed::Slice(a),
            // Read whole: the key/value operand of attention (see the module docs).
            (None, _) => Feed::Whole,
        });
    }
    if let Some(bias) = ins.get(2) {
        let f = broadcast_feed(shape(g, *bias)?, sout, axis)?;
        if let Some(r) = row_of(bias) {
            if f != Feed::Slice(r.axis) || r.space != out.space {
                return Err("the bias carries rows on another axis".into());
            }
        }
        feeds.push(f);
    }
    Ok((out, feeds))
}

fn gather_plan(
    g: &QuantizedGraph,
    axis: usize,
    ins: &[TensorId],
    rows: &[Option<Row>],
) -> Plan<(Row, Vec<Feed>)> {
    let row_of = |id: Option<&TensorId>| id.and_then(|i| rows.get(i.0).copied().flatten());
    if ins.len() != 2 {
        return Err("gather with updates".into());
    }
    match (row_of(ins.first()), row_of(ins.get(1))) {
        // Rows come from the index (token ids, emitted slots); the data is read whole: its
        // rows, if any, are all computed before (causality).
        (d, Some(ri)) if d.is_none_or(|d| d.axis == axis) => Ok((
            Row {
                axis: axis + ri.axis,
                ..ri
            },
            vec![Feed::Whole, Feed::Slice(ri.axis)],
        )),
        (Some(d), None) if d.axis != axis => {
            let irank = shape(g, ins[1])?.len();
            let a = if d.axis < axis {
                d.axis
            } else {
                d.axis + irank - 1
            };
            Ok((Row { axis: a, ..d }, vec![Feed::Slice(d.axis), Feed::Whole]))
        }
        _ => Err("gathers along the data's row axis with a static index".into()),
    }
}

/// `(outer, extent, inner)` of `axis` in a row-major `shape`.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

/// Rows `r` along `axis` of a row-major tensor.
fn take_rows(x: &[i64], shape: &[usize], axis: usize, r: &Range<usize>) -> Vec<i64> {
    let (outer, ext, inner) = split(shape, axis);
    let mut v = Vec::with_capacity(outer * r.len() * inner);
    for o in 0..outer {
        v.extend_from_slice(&x[(o * ext + r.start) * inner..(o * ext + r.end) * inner]);
    }
    v
}

/// Writes `part` (rows `r` along `axis`) into the full tensor `x`.
fn put_rows(x: &mut [i64], shape: &[usize], axis: usize, r: &Range<usize>, part: &[i64]) {
    let (outer, ext, inner) = split(shape, axis);
    let w = r.len() * inner;
    for o in 0..outer {
        x[(o * ext + r.start) * inner..(o * ext + r.end) * inner]
            .copy_from_slice(&part[o * w..(o + 1) * w]);
    }
}

/// An integer run kept up to date row by row (see the module docs).
pub struct RowRun<'g> {
    g: &'g QuantizedGraph,
    plan: RowPlan,
    values: Vec<Vec<i64>>,
    /// The weights packed once for every pass and step ([`PackedWeights`]).
    packed: PackedWeights,
}

impl<'g> RowRun<'g> {
    /// Packs `g`'s weights ([`PackedWeights`]) and runs `g` whole on `inputs` (strict, like
    /// [`super::run_quantized_strict`]).
    pub fn start(g: &'g QuantizedGraph, plan: RowPlan, inputs: &[Vec<i64>]) -> Result<Self> {
        let packed = PackedWeights::new(g);
        let values = run_quantized_strict_packed(g, inputs, &packed)?.values;
        Ok(RowRun {
            g,
            plan,
            values,
            packed,
        })
    }

    /// The graph.
    pub fn graph(&self) -> &'g QuantizedGraph {
        self.g
    }

    /// The plan.
    pub fn plan(&self) -> &RowPlan {
        &self.plan
    }

    /// Current values of input or activation `id` (empty for a constant).
    pub fn get(&self, id: TensorId) -> Option<&[i64]> {
        self.values.get(id.0).map(Vec::as_slice)
    }

    /// A fresh whole strict run of the graph on `inputs`, with the packed weights.
    pub fn run_whole(&self, inputs: &[Vec<i64>]) -> Result<Trace> {
        run_quantized_strict_packed(self.g, inputs, &self.packed)
    }

    /// The run so far as a trace (rows outside the ranges stepped are stale).
    pub fn into_trace(self) -> Trace {
        Trace {
            values: self.values,
        }
    }

    /// Replaces the inputs and recomputes, in every row-carrying tensor of space `s`, the rows
    /// `ranges[s]` (strict: a saturating requantization in them is an error). Rows outside the
    /// ranges keep their values: the caller guarantees they did not change.
    pub fn step(&mut self, inputs: &[Vec<i64>], ranges: &[Range<usize>]) -> Result<()> {
        let g = self.g;
        if inputs.len() != g.inputs.len() || ranges.len() != g.inputs.len() {
            return Err(ModelError::InvalidInput(format!(
                "expected {} inputs and row ranges",
                g.inputs.len()
            )));
        }
        for (id, v) in g.inputs.iter().zip(inputs) {
            let slot = self
                .values
                .get_mut(id.0)
                .ok_or_else(|| invalid("<inputs>", "bad input id"))?;
            if v.len() != slot.len() {
                return Err(ModelError::InvalidInput(format!(
                    "input {}: {} values, expected {}",
                    id.0,
                    v.len(),
                    slot.len()
                )));
            }
            slot.copy_from_slice(v);
        }
        for (ni, (n, p)) in g.nodes.iter().zip(&self.plan.nodes).enumerate() {
            let NodePlan::Rows { out, feeds } = p else {
                continue;
            };
            let r = ranges.get(out.space).cloned().unwrap_or(0..0);
            if r.is_empty() {
                continue;
            }
            let bad = |why: &str| invalid(&n.name, why);
            let sout = &g
                .tensors
                .get(n.output.0)
                .ok_or_else(|| bad("bad id"))?
                .shape;
            if r.end > sout[out.axis] {
                return Err(bad("row range past the tensor"));
            }
            let mut owned: Vec<Option<(Vec<i64>, Vec<usize>)>> = Vec::with_capacity(feeds.len());
            for (id, f) in n.inputs.iter().zip(feeds) {
                owned.push(match f {
                    Feed::Whole => None,
                    Feed::Slice(a) => {
                        let t = g.tensors.get(id.0).ok_or_else(|| bad("bad id"))?;
                        let full = match &t.kind {
                            QTensorKind::Const(d) => d.as_slice(),
                            _ => self.values.get(id.0).map_or(&[][..], Vec::as_slice),
                        };
                        let mut s = t.shape.clone();
                        if full.len() != numel(&s) || r.end > s[*a] {
                            return Err(bad("input rows missing"));
                        }
                        s[*a] = r.len();
                        Some((take_rows(full, &t.shape, *a, &r), s))
                    }
                });
            }
            let mut ins: Vec<&[i64]> = Vec::with_capacity(feeds.len());
            let mut shapes: Vec<&[usize]> = Vec::with_capacity(feeds.len());
            for (id, o) in n.inputs.iter().zip(&owned) {
                let t = g.tensors.get(id.0).ok_or_else(|| bad("bad id"))?;
                match o {
                    Some((v, s)) => {
                        ins.push(v);
                        shapes.push(s);
                    }
                    None => {
                        ins.push(match &t.kind {
                            QTensorKind::Const(d) => d,
                            _ => self.values.get(id.0).map_or(&[], Vec::as_slice),
                        });
                        shapes.push(&t.shape);
                    }
                }
            }
            let mut s_part = sout.clone();
            s_part[out.axis] = r.len();
            let sat = Cell::new(None);
            let part = eval_node(
                g,
                ni,
                n,
                &ins,
                &shapes,
                &s_part,
                Some(&self.packed),
                Some(&sat),
            )
            .ok_or_else(|| bad("integer evaluation failed (shape or table domain)"))?;
            if let Some((element, value)) = sat.get() {
                // The index in the whole tensor, not in the rows computed.
                let (_, ext, inner) = split(&s_part, out.axis);
                let (o, rest) = (element / (ext * inner), element % (ext * inner));
                let element = (o * sout[out.axis] + r.start) * inner + rest;
                return Err(saturated(n, element, value));
            }
            if part.len() != numel(&s_part) {
                return Err(bad("integer evaluation produced a wrong number of values"));
            }
            let full = self
                .values
                .get_mut(n.output.0)
                .ok_or_else(|| bad("bad id"))?;
            if full.len() != numel(sout) {
                return Err(bad("output not computed"));
            }
            put_rows(full, sout, out.axis, &r, &part);
        }
        Ok(())
    }
}
