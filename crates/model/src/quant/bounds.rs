//! Field-safety analysis: every relation the prover checks **in the Goldilocks field** must be an
//! **integer** identity. For a relation `L = R` with `|L| ≤ B_L` and `|R| ≤ B_R` as integers,
//! `L ≡ R (mod p)` implies `L = R` exactly when `B_L + B_R < p` (then `L − R ∈ (−p, p)` and
//! the only multiple of p there is 0). This module computes both bounds for every node from
//! the graph alone — activation range, declared constant widths ([`super::QTensor::bits`]),
//! table contents, shifts and multipliers — so prover and verifier (which holds the graph
//! without weights) run the same check.
//!
//! Per relation (`A` = activation bits, `s` = requantization shift, `K` = terms per output):
//! - requantization `M·acc + 2^(s−1) = 2^s·y + r`, `y` range-checked to A bits and `r` to
//!   `[0, 2^s)`: `|M|·B_acc + 2^(s−1) + 2^(s+A−1) + 2^s < p`. Without it a second solution
//!   `y' = ⌊(V − p)/2^s⌋` passes every range check (issue 11's forgery at `s = 50`).
//! - the accumulators: Einsum/Conv `K·B_a·B_b + B_bias`, SumPool/ReduceSum `K·B_x`,
//!   AddSub `B_a·2^ls + B_b·2^rs`, Mul `B_a·B_b`, Select `max(B_a·2^ls, B_b·2^rs)`.
//! - compare ordering: excess `e ∈ [0, 2^E)` (limbs) equals `±d − c`: `2^E + B_d + 1 < p`
//!   and `B_d < 2^(E−1)` (so the honest excess fits its limbs); equality by inverse: `B_d < p`
//!   (then `d ≡ 0 ⇔ d = 0`).
//! - softmax: the division `2^f·e + ⌊S/2⌋ = y·S + r` with `S ≤ n·B_e`: both sides below
//!   `2^(f+A) + n·B_e·2^A + 2^(A + log n)`, required `< p/4` so a wrong parity bit
//!   (`⌊S/2⌋` then `≈ p/2` in the field) cannot be absorbed either.
//! - limb recompositions stay below `2^63 < p` because every limbed width is at most 63 bits.
//!
//! The bound on each tensor: inputs and range-checked outputs `2^(A−1)`; constants
//! `2^(bits−1)`; lookups the largest |table output|; comparisons 1; maxima, ReLU and data
//! movements the largest bound among their inputs (and the pad value).

use super::graph::{QTensorKind, QuantOp, QuantizedGraph};
use crate::error::{ModelError, Result};
use crate::kernels::linear::EinsumExpr;

/// The Goldilocks modulus.
pub const P: u128 = (1u128 << 64) - (1u128 << 32) + 1;

/// Largest declared constant width (bits, signed).
pub const MAX_CONST_BITS: u32 = 62;

/// Largest left shift of an operand (AddSub, Compare, Select).
pub const MAX_OPERAND_SHIFT: u32 = 40;

/// Largest requantization shift for `act_bits`-bit activations that leaves room for the
/// accumulator side: `s + A ≤ 62`, so the right side `2^s·y + r` stays below `2^61 + 2^s`.
pub fn max_requant_shift(act_bits: u32) -> u32 {
    62u32.saturating_sub(act_bits)
}

fn pow2(e: u32) -> u128 {
    if e >= 127 {
        u128::MAX
    } else {
        1u128 << e
    }
}

/// `|v| ≤ bound` for every value of each tensor (saturating at `u128::MAX`).
pub fn tensor_bounds(g: &QuantizedGraph) -> Vec<u128> {
    let act = pow2(g.config.act_bits.saturating_sub(1));
    let mut b: Vec<u128> = g
        .tensors
        .iter()
        .map(|t| match t.kind {
            QTensorKind::Const(_) | QTensorKind::Input => pow2(t.bits.saturating_sub(1)),
            _ => act,
        })
        .collect();
    for n in &g.nodes {
        let inmax = n
            .inputs
            .iter()
            .map(|i| b.get(i.0).copied().unwrap_or(u128::MAX))
            .max()
            .unwrap_or(0);
        let v = match &n.op {
            QuantOp::Compare { .. } => 1,
            QuantOp::ArgMax => n
                .inputs
                .first()
                .and_then(|i| g.tensors.get(i.0))
                .and_then(|t| t.shape.last())
                .map_or(0, |&v| v as u128),
            QuantOp::Lookup { table } => table_max(g, table.0),
            QuantOp::MaxPool(_) | QuantOp::ReduceMax { .. } | QuantOp::Relu => inmax,
            // An indexed move's output holds data (input 0) and updates (input 2), never
            // the indices (input 1).
            QuantOp::IndexedMove { .. } => n
                .inputs
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != 1)
                .map(|(_, i)| b.get(i.0).copied().unwrap_or(u128::MAX))
                .max()
                .unwrap_or(0),
            QuantOp::Move(_) | QuantOp::Concat { .. } => inmax,
            QuantOp::Pad { value, .. } => inmax.max(u128::from(value.unsigned_abs())),
            // Requantized and softmax outputs are range-checked to the activation range.
            _ => act,
        };
        if let Some(slot) = b.get_mut(n.output.0) {
            *slot = v;
        }
    }
    b
}

/// The field-safety condition of node `ni` (see the module docs), or why it fails. Returns
/// log2 of the largest integer the node's relation involves.
pub fn node_safety(
    g: &QuantizedGraph,
    bounds: &[u128],
    ni: usize,
) -> std::result::Result<f64, String> {
    let n = &g.nodes[ni];
    let a = g.config.act_bits;
    let act = pow2(a.saturating_sub(1));
    let inb = |k: usize| {
        n.inputs
            .get(k)
            .and_then(|i| bounds.get(i.0))
            .copied()
            .unwrap_or(0)
    };
    let shape = |k: usize| {
        n.inputs
            .get(k)
            .and_then(|i| g.tensors.get(i.0))
            .map(|t| t.shape.clone())
            .unwrap_or_default()
    };
    let shl = |v: u128, s: u32| -> std::result::Result<u128, String> {
        if s > MAX_OPERAND_SHIFT {
            return Err(format!("operand shift {s} above {MAX_OPERAND_SHIFT}"));
        }
        Ok(v.saturating_mul(pow2(s)))
    };
    let prod =
        |dims: &[usize]| -> u128 { dims.iter().fold(1u128, |m, &d| m.saturating_mul(d as u128)) };
    let acc = match &n.op {
        QuantOp::Einsum { expr, .. } => {
            let e =
                EinsumExpr::parse(expr).ok_or_else(|| format!("einsum `{expr}` does not parse"))?;
            let sizes = e
                .sizes(&[&shape(0), &shape(1)])
                .ok_or_else(|| format!("einsum `{expr}`: operand shapes do not match"))?;
            let k = e
                .summed()
                .iter()
                .map(|c| sizes.iter().find(|s| s.0 == *c).map_or(1, |s| s.1))
                .fold(1u128, |m, d| m.saturating_mul(d as u128));
            Some(
                k.saturating_mul(inb(0))
                    .saturating_mul(inb(1))
                    .saturating_add(inb(2)),
            )
        }
        QuantOp::Conv { .. } => {
            let k = prod(shape(1).get(1..).unwrap_or(&[]));
            Some(
                k.saturating_mul(inb(0))
                    .saturating_mul(inb(1))
                    .saturating_add(inb(2)),
            )
        }
        QuantOp::SumPool { window, .. } => Some(prod(&window.kernel).saturating_mul(inb(0))),
        QuantOp::AddSub {
            lhs_shift,
            rhs_shift,
            ..
        } => Some(shl(inb(0), *lhs_shift)?.saturating_add(shl(inb(1), *rhs_shift)?)),
        QuantOp::Select {
            lhs_shift,
            rhs_shift,
            ..
        } => Some(shl(inb(1), *lhs_shift)?.max(shl(inb(2), *rhs_shift)?)),
        QuantOp::Mul { .. } => Some(inb(0).saturating_mul(inb(1))),
        QuantOp::Rescale { .. } => Some(inb(0)),
        QuantOp::ReduceSum { axes, .. } => {
            let s = shape(0);
            let dims: Vec<usize> = axes.iter().filter_map(|&x| s.get(x).copied()).collect();
            Some(prod(&dims).saturating_mul(inb(0)))
        }
        QuantOp::MaxMin { .. } => return Err("MaxMin has no proof protocol".into()),
        _ => None,
    };
    let worst = match (&n.op, acc) {
        (op, Some(acc)) => {
            let rq = op.requant().ok_or("no requantization")?;
            let s = rq.shift;
            if s > max_requant_shift(a) {
                return Err(format!(
                    "requantization shift {s} with {a}-bit activations (s + A must be ≤ 62: \
                     at larger shifts a second, wrapped-around output passes the range checks)"
                ));
            }
            let m = u128::from(rq.max_multiplier().unsigned_abs());
            let lhs = m.saturating_mul(acc).saturating_add(pow2(s) / 2);
            let rhs = pow2(s + a - 1).saturating_add(pow2(s));
            if lhs.saturating_add(rhs) >= P {
                return Err(format!(
                    "requantization M·acc + 2^(s−1) may reach 2^{:.1} (|M| ≤ {m}, |acc| ≤ 2^{:.1}, s = {s}): \
                     with 2^s·y + r it must stay below p",
                    log2(lhs),
                    log2(acc)
                ));
            }
            lhs.max(rhs)
        }
        (
            QuantOp::Compare {
                lhs_shift,
                rhs_shift,
                kind,
            },
            None,
        ) => {
            let d = shl(inb(0), *lhs_shift)?.saturating_add(shl(inb(1), *rhs_shift)?);
            if matches!(
                kind,
                crate::ops::BinaryKind::Equal | crate::ops::BinaryKind::NotEqual
            ) {
                // `y = 1 − d·z`, `y·d = 0` decide `d ≡ 0 (mod p)`: that is `d = 0` iff |d| < p.
                if d >= P {
                    return Err("equality difference may be a multiple of p".into());
                }
                return Ok(log2(d));
            }
            // The ordering excess has E = A + max shift + 1 bits (the prover's limbs); the
            // honest excess is at most |d| + 1.
            let e_bits = a + (*lhs_shift).max(*rhs_shift) + 1;
            if e_bits > 63 || d.saturating_add(1) >= pow2(e_bits) {
                return Err(format!(
                    "comparison difference up to 2^{:.1} does not fit its {e_bits}-bit excess",
                    log2(d)
                ));
            }
            if pow2(e_bits).saturating_add(d).saturating_add(1) >= P {
                return Err("comparison excess may wrap around p".into());
            }
            pow2(e_bits)
        }
        (
            QuantOp::Softmax {
                axis,
                out_frac,
                exp_table,
            },
            None,
        ) => {
            let len = shape(0).get(*axis).copied().unwrap_or(1) as u128;
            let e_max = table_max(g, exp_table.0);
            let sum = len.saturating_mul(e_max);
            let side = pow2(*out_frac)
                .saturating_mul(e_max)
                .saturating_add(sum)
                .saturating_add(act.saturating_mul(sum))
                .saturating_add(sum.saturating_mul(2));
            if side >= P / 4 {
                return Err(format!(
                    "softmax division terms up to 2^{:.1} (out_frac {out_frac}, row {len}): must stay below p/4",
                    log2(side)
                ));
            }
            side
        }
        // `x_t − x_k − [k < t]` is range-checked into `[0, 2^A)`: the integer difference and
        // the table side must not meet modulo p.
        (QuantOp::ArgMax, None) => {
            let d = inb(0).saturating_mul(2).saturating_add(1);
            if d.saturating_add(pow2(a)) >= P {
                return Err("argmax differences may wrap around p".into());
            }
            d.max(pow2(a))
        }
        _ => inb(0).max(act),
    };
    Ok(log2(worst))
}

/// The largest |output| of table `t` (unbounded for a missing table).
fn table_max(g: &QuantizedGraph, t: usize) -> u128 {
    g.tables.get(t).map_or(u128::MAX, |t| {
        t.outputs
            .iter()
            .map(|v| u128::from(v.unsigned_abs()))
            .max()
            .unwrap_or(0)
    })
}

fn log2(v: u128) -> f64 {
    (v.max(1) as f64).log2()
}

/// Checks every node's relation is an integer identity (module docs); returns the largest
/// log2 bound seen. Errors name the node.
pub fn check_bounds(g: &QuantizedGraph) -> Result<f64> {
    let bounds = tensor_bounds(g);
    let mut worst = 0.0f64;
    for (ni, n) in g.nodes.iter().enumerate() {
        match node_safety(g, &bounds, ni) {
            Ok(b) => worst = worst.max(b),
            Err(reason) => {
                return Err(ModelError::FieldUnsafe {
                    node: n.name.clone(),
                    op: n.op.name(),
                    reason,
                })
            }
        }
    }
    Ok(worst)
}
