//! Witness checker ("mock prover"): re-evaluates every layer relation on a [`Trace`] and names
//! the first failing node, op and output index. Lookups are checked by table membership,
//! every activation by a range check, everything else by recomputing the relation from the
//! node's inputs as recorded in the trace.

use super::graph::{QTensorKind, QuantOp, QuantizedGraph};
use super::run::{eval_qnode, Trace};
use crate::error::{ModelError, Result};
use crate::graph::numel;

fn bad(name: &str, reason: impl Into<String>) -> ModelError {
    ModelError::BadTrace {
        tensor: name.to_string(),
        reason: reason.into(),
    }
}

/// Checks every relation of `g` on `trace`.
pub fn check(g: &QuantizedGraph, trace: &Trace) -> Result<()> {
    if trace.values.len() != g.tensors.len() {
        return Err(bad(
            "<trace>",
            format!(
                "{} tensors, graph has {}",
                trace.values.len(),
                g.tensors.len()
            ),
        ));
    }
    let (lo, hi) = g.config.act_range();
    for (id, t) in g.tensors.iter().enumerate() {
        let v = trace.value(g, id);
        if v.len() != numel(&t.shape) {
            return Err(bad(
                &t.name,
                format!("{} values, shape {:?}", v.len(), t.shape),
            ));
        }
        match &t.kind {
            QTensorKind::Const(_) => {}
            _ => {
                if let Some(i) = v.iter().position(|&x| x < lo || x > hi) {
                    return Err(bad(
                        &t.name,
                        format!("range check: element {i} = {} outside [{lo}, {hi}]", v[i]),
                    ));
                }
            }
        }
    }
    for (ni, n) in g.nodes.iter().enumerate() {
        let ins: Vec<&[i64]> = n.inputs.iter().map(|i| trace.value(g, i.0)).collect();
        let got = trace
            .values
            .get(n.output.0)
            .ok_or_else(|| bad(&n.name, "missing output"))?;
        let fail = |index: usize, expected: i64, got: i64| ModelError::CheckFailed {
            node_index: ni,
            node: n.name.clone(),
            op: n.op.name(),
            index,
            expected,
            got,
        };
        if let QuantOp::Lookup { table } = &n.op {
            let t = g
                .tables
                .get(table.0)
                .ok_or_else(|| bad(&n.name, "unknown table"))?;
            let x = ins
                .first()
                .ok_or_else(|| bad(&n.name, "lookup without input"))?;
            for (i, (&xi, &yi)) in x.iter().zip(got).enumerate() {
                match t.get(xi) {
                    Some(y) if y == yi => {}
                    Some(y) => return Err(fail(i, y, yi)),
                    None => {
                        return Err(bad(
                            &n.name,
                            format!("lookup input {xi} at {i} outside the table domain"),
                        ))
                    }
                }
            }
            continue;
        }
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
            .ok_or_else(|| bad(&n.name, "bad output id"))?
            .shape;
        let want = eval_qnode(g, &n.op, &ins, &shapes, sout)
            .ok_or_else(|| bad(&n.name, "relation cannot be evaluated"))?;
        if let Some(i) = want.iter().zip(got).position(|(a, b)| a != b) {
            return Err(fail(i, want[i], got[i]));
        }
    }
    Ok(())
}
