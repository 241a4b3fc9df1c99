//! Bounds analysis: proves every intermediate of the integer run fits in a signed 63-bit
//! range (|v| < 2^62), so no wrap-around happens modulo the Goldilocks prime p ≈ 2^64.
//!
//! Activations are clamped to `[−2^(A−1), 2^(A−1))` by construction (requant / lookup
//! outputs), constants have known maxima, so each relation's pre-clamp intermediate has an
//! a-priori bound: a linear op's accumulator is ≤ K·max|x|·max|w| + max|b| (K = terms per
//! output), the requant product ≤ |acc|·max|M| + 2^(s−1), etc.

use super::graph::{QTensorKind, QuantOp, QuantizedGraph};
use crate::error::{ModelError, Result};
use crate::kernels::linear::EinsumExpr;

/// Largest allowed |intermediate| (exclusive): 2^62.
pub const LIMIT_BITS: f64 = 62.0;

/// Checks every node; returns the largest log2 bound seen.
pub fn check_bounds(g: &QuantizedGraph) -> Result<f64> {
    let act = 2f64.powi(g.config.act_bits as i32 - 1);
    let maxabs = |id: usize| -> f64 {
        match g.tensors.get(id).map(|t| &t.kind) {
            Some(QTensorKind::Const(d)) => d
                .iter()
                .map(|v| v.unsigned_abs() as f64)
                .fold(0.0, f64::max),
            _ => act,
        }
    };
    let mut worst = 0.0f64;
    for n in &g.nodes {
        let inb = |k: usize| n.inputs.get(k).map_or(0.0, |i| maxabs(i.0));
        let shape = |k: usize| {
            n.inputs
                .get(k)
                .and_then(|i| g.tensors.get(i.0))
                .map(|t| t.shape.clone())
                .unwrap_or_default()
        };
        let (acc, rq) = match &n.op {
            QuantOp::Einsum { expr, requant } => {
                let e = EinsumExpr::parse(expr).unwrap_or(EinsumExpr {
                    inputs: vec![],
                    output: vec![],
                });
                let sizes = e.sizes(&[&shape(0), &shape(1)]).unwrap_or_default();
                let k: f64 = e
                    .summed()
                    .iter()
                    .map(|c| sizes.iter().find(|s| s.0 == *c).map_or(1.0, |s| s.1 as f64))
                    .product();
                (k * inb(0) * inb(1) + inb(2), Some(requant))
            }
            QuantOp::Conv { spec, requant } => {
                let w = shape(1);
                let k: f64 = w.iter().skip(1).map(|&d| d as f64).product();
                let _ = spec;
                (k * inb(0) * inb(1) + inb(2), Some(requant))
            }
            QuantOp::SumPool { window, requant } => (
                window.kernel.iter().product::<usize>() as f64 * inb(0),
                Some(requant),
            ),
            QuantOp::AddSub {
                lhs_shift,
                rhs_shift,
                requant,
                ..
            } => (
                inb(0) * 2f64.powi(*lhs_shift as i32) + inb(1) * 2f64.powi(*rhs_shift as i32),
                Some(requant),
            ),
            QuantOp::MaxMin {
                lhs_shift,
                rhs_shift,
                requant,
                ..
            } => (
                inb(0).max(inb(1)) * 2f64.powi((*lhs_shift).max(*rhs_shift) as i32),
                Some(requant),
            ),
            QuantOp::Compare {
                lhs_shift,
                rhs_shift,
                ..
            } => (
                inb(0).max(inb(1)) * 2f64.powi((*lhs_shift).max(*rhs_shift) as i32),
                None,
            ),
            QuantOp::Select {
                lhs_shift,
                rhs_shift,
                requant,
            } => (
                inb(1).max(inb(2)) * 2f64.powi((*lhs_shift).max(*rhs_shift) as i32),
                Some(requant),
            ),
            QuantOp::Mul { requant } => (inb(0) * inb(1), Some(requant)),
            QuantOp::Rescale { requant } => (inb(0), Some(requant)),
            QuantOp::ReduceSum { axes, requant } => {
                let s = shape(0);
                (
                    axes.iter().filter_map(|&a| s.get(a)).product::<usize>() as f64 * inb(0),
                    Some(requant),
                )
            }
            QuantOp::Softmax { axis, out_frac, .. } => {
                let len = shape(0).get(*axis).copied().unwrap_or(1) as f64;
                (len * act + act * 2f64.powi(*out_frac as i32), None)
            }
            QuantOp::MaxPool(_)
            | QuantOp::Relu
            | QuantOp::Lookup { .. }
            | QuantOp::Move(_)
            | QuantOp::IndexedMove { .. }
            | QuantOp::Pad { .. }
            | QuantOp::Concat { .. }
            | QuantOp::ReduceMax { .. } => (act, None),
        };
        let total = match rq {
            Some(r) => acc * r.max_multiplier() as f64 + 2f64.powi(r.shift as i32),
            None => acc,
        };
        let bits = total.max(1.0).log2();
        worst = worst.max(bits);
        if bits >= LIMIT_BITS {
            let tensor = g
                .tensors
                .get(n.output.0)
                .map_or_else(|| "?".into(), |t| t.name.clone());
            return Err(ModelError::Overflow {
                tensor,
                node: n.name.clone(),
                bits,
            });
        }
    }
    Ok(worst)
}
