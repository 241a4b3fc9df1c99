//! The quantized graph: integer tensors with fixed-point scales and integer op relations.

use serde::{Deserialize, Serialize};

use super::requant::Requant;
use super::table::{LookupTable, TableId};
use crate::graph::TensorId;
use crate::ops::{ConvSpec, FloatOp, WindowSpec};

/// Quantization settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantConfig {
    /// Activation bits A: activations live in `[−2^(A−1), 2^(A−1))`; lookup tables have 2^A rows.
    pub act_bits: u32,
    /// Weight bits N (per output channel, symmetric).
    pub weight_bits: u32,
    /// Spare bits above the calibrated maximum of each activation.
    pub headroom_bits: u32,
}

impl Default for QuantConfig {
    fn default() -> Self {
        QuantConfig {
            act_bits: 16,
            weight_bits: 12,
            headroom_bits: 1,
        }
    }
}

impl QuantConfig {
    /// Activation clamp range.
    pub fn act_range(&self) -> (i64, i64) {
        (
            -(1i64 << (self.act_bits - 1)),
            (1i64 << (self.act_bits - 1)) - 1,
        )
    }
}

/// Role of a quantized tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum QTensorKind {
    /// Graph input: `q = clamp(round(x · 2^frac))`.
    Input,
    /// Constant (weights, biases, quantized constants), committed by the prover.
    Const(Vec<i64>),
    /// Produced by a node.
    Activation,
}

/// A quantized tensor: real value ≈ `q · 2^−frac` (per-channel weights: see the consuming op).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QTensor {
    /// Name.
    pub name: String,
    /// Concrete shape.
    pub shape: Vec<usize>,
    /// Fixed-point fraction bits (may be negative).
    pub frac: i32,
    /// Role and data.
    pub kind: QTensorKind,
    /// The float-graph tensor it approximates, if any.
    pub float_id: Option<TensorId>,
    /// Declared signed width: every value lies in `[−2^(bits−1), 2^(bits−1))`. For constants
    /// it is computed from the data at quantization and is part of the verifying key (the
    /// field-safety analysis of `quant::bounds` uses it in place of the hidden values); inputs
    /// and activations have the activation width.
    pub bits: u32,
}

/// The smallest signed width holding every value of `data` (at least 1).
pub fn signed_bits(data: &[i64]) -> u32 {
    data.iter()
        .map(|&v| {
            // v ∈ [−2^(b−1), 2^(b−1)) ⇔ b − 1 ≥ bit length of (v < 0 ? −v − 1 : v).
            let m = if v < 0 { !v } else { v } as u64;
            65 - m.leading_zeros()
        })
        .max()
        .unwrap_or(1)
        .max(1)
}

/// Integer op relations. Inputs are listed on the node; `acc` is an exact i64 value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum QuantOp {
    /// `acc = Σ_summed a·b (+ bias)`, `y = requant(acc)`; inputs a, b, optional bias (in acc
    /// units, broadcast to the output).
    Einsum {
        /// Expression, e.g. `"mk,kn->mn"`.
        expr: String,
        /// Output requantization.
        requant: Requant,
    },
    /// `acc = conv(x, w) + bias`, `y = requant(acc)`; inputs x, w, optional bias `[O]`.
    Conv {
        /// Geometry.
        spec: ConvSpec,
        /// Output requantization (per output channel).
        requant: Requant,
    },
    /// `y = max over the window's in-bounds inputs`.
    MaxPool(WindowSpec),
    /// `acc = Σ window`, `y = requant(acc)` (the divisor lives in the multipliers).
    SumPool {
        /// Geometry.
        window: WindowSpec,
        /// Requantization (per element when divisors vary).
        requant: Requant,
    },
    /// `y = requant((a << lhs_shift) ± (b << rhs_shift))` with broadcasting.
    AddSub {
        /// Left shift of a.
        lhs_shift: u32,
        /// Left shift of b.
        rhs_shift: u32,
        /// Subtract instead of add.
        sub: bool,
        /// Output requantization.
        requant: Requant,
    },
    /// `y = requant(a · b)` with broadcasting.
    Mul {
        /// Output requantization.
        requant: Requant,
    },
    /// `y = requant(max/min(a << lhs_shift, b << rhs_shift))`.
    MaxMin {
        /// Left shift of a.
        lhs_shift: u32,
        /// Left shift of b.
        rhs_shift: u32,
        /// Max (else min).
        max: bool,
        /// Output requantization.
        requant: Requant,
    },
    /// `y = [(a << lhs_shift) cmp (b << rhs_shift)]` ∈ {0, 1}.
    Compare {
        /// Left shift of a.
        lhs_shift: u32,
        /// Left shift of b.
        rhs_shift: u32,
        /// The comparison (a comparison [`crate::ops::BinaryKind`]).
        kind: crate::ops::BinaryKind,
    },
    /// `y = requant(c ≠ 0 ? a << lhs_shift : b << rhs_shift)` (inputs c, a, b).
    Select {
        /// Left shift of a.
        lhs_shift: u32,
        /// Left shift of b.
        rhs_shift: u32,
        /// Output requantization.
        requant: Requant,
    },
    /// `(x, y) ∈ table` element-wise.
    Lookup {
        /// The table.
        table: TableId,
    },
    /// `y = requant(x)` element-wise.
    Rescale {
        /// Requantization.
        requant: Requant,
    },
    /// Pure data movement (Reshape, Transpose, Slice, Gather, Broadcast): `y[i] = x[map(i)]`.
    Move(FloatOp),
    /// Indexed data movement (inputs data, indices, updates for scatters; data and updates
    /// share the output's scale). The index tensor is a public model input with `index_frac`
    /// fraction bits; its values divided by `2^index_frac` are the indices.
    IndexedMove {
        /// Which movement.
        kind: crate::kernels::indexed::IndexKind,
        /// Fraction bits of the index tensor.
        index_frac: i32,
    },
    /// Constant padding with an integer fill value.
    Pad {
        /// Per-axis (before, after).
        pads: Vec<(usize, usize)>,
        /// Fill value.
        value: i64,
    },
    /// Concatenation of inputs sharing one scale.
    Concat {
        /// Axis.
        axis: usize,
    },
    /// `acc = Σ over axes`, `y = requant(acc)` (mean: divisor in the multiplier).
    ReduceSum {
        /// Axes (kept).
        axes: Vec<usize>,
        /// Requantization.
        requant: Requant,
    },
    /// Max (or min) over axes (kept).
    ReduceMax {
        /// Axes.
        axes: Vec<usize>,
        /// Max (else min).
        max: bool,
    },
    /// Per row along `axis`: `m = max x`, `e_i = exp_table(x_i − m)`, `S = Σ e_i`,
    /// `y_i = ⌊(e_i · 2^out_frac + ⌊S/2⌋) / S⌋`.
    Softmax {
        /// Axis.
        axis: usize,
        /// Table of `exp` on `[−(2^A − 1), 0]`.
        exp_table: TableId,
        /// Output fraction bits.
        out_frac: u32,
    },
    /// `y = max(x, 0)` element-wise, same scale (proven as a max against the constant 0, no
    /// table).
    Relu,
    /// Index of the first largest element along the last axis (that axis removed). The output
    /// holds indices (fraction 0), not activations, and must be a graph output.
    ArgMax,
}

/// A node of the quantized graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantNode {
    /// Name (float node name, suffixed for inserted helpers).
    pub name: String,
    /// Integer relation.
    pub op: QuantOp,
    /// Inputs.
    pub inputs: Vec<TensorId>,
    /// Output.
    pub output: TensorId,
}

/// The quantized graph (serializable; hashed into the model commitment later).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantizedGraph {
    /// Settings used.
    pub config: QuantConfig,
    /// Tensors (inputs, constants, activations).
    pub tensors: Vec<QTensor>,
    /// Nodes in topological order.
    pub nodes: Vec<QuantNode>,
    /// Lookup tables.
    pub tables: Vec<LookupTable>,
    /// Graph inputs.
    pub inputs: Vec<TensorId>,
    /// Graph outputs.
    pub outputs: Vec<TensorId>,
}

impl QuantOp {
    /// The output requantization of the op, if it has one.
    pub fn requant(&self) -> Option<&Requant> {
        match self {
            QuantOp::Einsum { requant, .. }
            | QuantOp::Conv { requant, .. }
            | QuantOp::SumPool { requant, .. }
            | QuantOp::AddSub { requant, .. }
            | QuantOp::Mul { requant }
            | QuantOp::Rescale { requant }
            | QuantOp::ReduceSum { requant, .. }
            | QuantOp::Select { requant, .. } => Some(requant),
            _ => None,
        }
    }

    /// The output requantization, mutably (e.g. for tools that rewrite parameters).
    pub fn requant_mut(&mut self) -> Option<&mut Requant> {
        match self {
            QuantOp::Einsum { requant, .. }
            | QuantOp::Conv { requant, .. }
            | QuantOp::SumPool { requant, .. }
            | QuantOp::AddSub { requant, .. }
            | QuantOp::Mul { requant }
            | QuantOp::Rescale { requant }
            | QuantOp::ReduceSum { requant, .. }
            | QuantOp::Select { requant, .. } => Some(requant),
            _ => None,
        }
    }

    /// Short name.
    pub fn name(&self) -> String {
        match self {
            QuantOp::Move(op) => format!("Move({})", op.name()),
            other => format!("{other:?}")
                .split([' ', '(', '{'])
                .next()
                .unwrap_or("?")
                .to_string(),
        }
    }
}

/// Width of an input used only as indices (token ids, positions): integers (`frac` 0) in
/// `[−2^31, 2^31)`, so that a vocabulary of any size is addressed exactly, whatever the
/// activation width. Such an input feeds no arithmetic: the verifier turns its public values
/// into the one-hot weighting of the indexed move.
pub const INDEX_BITS: u32 = 32;

/// Whether float-graph input `i` is used only as the index operand (input 1) of indexed moves.
pub fn index_only(g: &crate::graph::FloatGraph, i: TensorId) -> bool {
    let mut used = false;
    for n in &g.nodes {
        for (k, x) in n.inputs.iter().enumerate() {
            if *x == i {
                if k != 1 || !matches!(n.op, crate::ops::FloatOp::IndexedMove { .. }) {
                    return false;
                }
                used = true;
            }
        }
    }
    used && !g.outputs.contains(&i)
}

impl QuantizedGraph {
    /// Whether quantized input `id` is used only as the index operand of indexed moves.
    pub fn index_only(&self, id: TensorId) -> bool {
        let mut used = false;
        for n in &self.nodes {
            for (k, x) in n.inputs.iter().enumerate() {
                if *x == id {
                    if k != 1 || !matches!(n.op, QuantOp::IndexedMove { .. }) {
                        return false;
                    }
                    used = true;
                }
            }
        }
        used && !self.outputs.contains(&id)
    }

    /// The value range of input `id`: its declared width (the activation range, or
    /// [`INDEX_BITS`] for an index-only input).
    pub fn input_range(&self, id: TensorId) -> (i64, i64) {
        let bits = self
            .tensors
            .get(id.0)
            .map_or(self.config.act_bits, |t| t.bits)
            .clamp(2, 62);
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    }

    /// Quantizes a float input of tensor `id`: `clamp(round(x · 2^frac))`.
    pub fn quantize_input(&self, id: TensorId, x: &[f32]) -> Vec<i64> {
        let frac = self.tensors.get(id.0).map(|t| t.frac).unwrap_or(0);
        let (lo, hi) = self.input_range(id);
        x.iter()
            .map(|&v| {
                (f64::from(v) * super::table::pow2(frac))
                    .round()
                    .clamp(lo as f64, hi as f64) as i64
            })
            .collect()
    }

    /// Dequantizes values of tensor `id`.
    pub fn dequantize(&self, id: TensorId, q: &[i64]) -> Vec<f32> {
        let frac = self.tensors.get(id.0).map(|t| t.frac).unwrap_or(0);
        q.iter()
            .map(|&v| (v as f64 * super::table::pow2(-frac)) as f32)
            .collect()
    }

    /// Total lookup-table rows.
    pub fn table_rows(&self) -> usize {
        self.tables.iter().map(|t| t.len()).sum()
    }
}
