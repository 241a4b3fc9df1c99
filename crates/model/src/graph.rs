//! The float graph: zkinfer's own op vocabulary with concrete shapes and float weights.

use serde::{Deserialize, Serialize};

use crate::error::{invalid, Result};
use crate::ops::FloatOp;

/// Index of a tensor in a graph's tensor table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TensorId(pub usize);

/// What a tensor is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FloatTensorKind {
    /// A graph input (value supplied at run time).
    Input,
    /// A constant (weights), row-major.
    Const(Vec<f32>),
    /// Produced by a node.
    Activation,
}

/// A tensor of the float graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloatTensor {
    /// Name (from the source model).
    pub name: String,
    /// Concrete shape.
    pub shape: Vec<usize>,
    /// Role and data.
    pub kind: FloatTensorKind,
}

/// One node: an op with its input tensors and its single output tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloatNode {
    /// Node name (from the source model).
    pub name: String,
    /// The op.
    pub op: FloatOp,
    /// Input tensors, in the op's order.
    pub inputs: Vec<TensorId>,
    /// Output tensor.
    pub output: TensorId,
}

/// A float graph in topological order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FloatGraph {
    /// All tensors.
    pub tensors: Vec<FloatTensor>,
    /// Nodes, topologically sorted.
    pub nodes: Vec<FloatNode>,
    /// Graph inputs.
    pub inputs: Vec<TensorId>,
    /// Graph outputs.
    pub outputs: Vec<TensorId>,
}

/// Number of elements of a shape.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl FloatGraph {
    /// Adds a tensor and returns its id.
    pub fn add_tensor(
        &mut self,
        name: impl Into<String>,
        shape: Vec<usize>,
        kind: FloatTensorKind,
    ) -> TensorId {
        self.tensors.push(FloatTensor {
            name: name.into(),
            shape,
            kind,
        });
        TensorId(self.tensors.len() - 1)
    }

    /// Adds a node producing a new activation tensor of `shape`; returns the output id.
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        op: FloatOp,
        inputs: Vec<TensorId>,
        shape: Vec<usize>,
    ) -> TensorId {
        let name = name.into();
        let output = self.add_tensor(name.clone(), shape, FloatTensorKind::Activation);
        self.nodes.push(FloatNode {
            name,
            op,
            inputs,
            output,
        });
        output
    }

    /// The tensor with id `id`.
    pub fn tensor(&self, id: TensorId) -> Result<&FloatTensor> {
        self.tensors
            .get(id.0)
            .ok_or_else(|| invalid("?", format!("tensor id {} out of range", id.0)))
    }

    /// The constant data of `id`, if it is a constant.
    pub fn const_data(&self, id: TensorId) -> Option<&[f32]> {
        match &self.tensors.get(id.0)?.kind {
            FloatTensorKind::Const(d) => Some(d),
            _ => None,
        }
    }

    /// Number of nodes consuming tensor `id` (graph outputs count as consumers).
    pub fn consumers(&self, id: TensorId) -> usize {
        self.nodes
            .iter()
            .flat_map(|n| n.inputs.iter())
            .filter(|&&t| t == id)
            .count()
            + self.outputs.iter().filter(|&&t| t == id).count()
    }

    /// Checks ids, topological order and constant lengths.
    pub fn validate(&self) -> Result<()> {
        let mut defined: Vec<bool> = self
            .tensors
            .iter()
            .map(|t| !matches!(t.kind, FloatTensorKind::Activation))
            .collect();
        for t in &self.tensors {
            if let FloatTensorKind::Const(d) = &t.kind {
                if d.len() != numel(&t.shape) {
                    return Err(invalid(&t.name, "constant length does not match its shape"));
                }
            }
        }
        for n in &self.nodes {
            for i in &n.inputs {
                if !defined.get(i.0).copied().unwrap_or(false) {
                    return Err(invalid(
                        &n.name,
                        format!("input tensor {} undefined or not yet computed", i.0),
                    ));
                }
            }
            match defined.get_mut(n.output.0) {
                Some(d) if !*d => *d = true,
                _ => return Err(invalid(&n.name, "output tensor invalid or defined twice")),
            }
        }
        for o in &self.outputs {
            if !defined.get(o.0).copied().unwrap_or(false) {
                return Err(invalid(
                    "<outputs>",
                    format!("output tensor {} never computed", o.0),
                ));
            }
        }
        Ok(())
    }

    /// Total number of constant parameters.
    pub fn num_params(&self) -> usize {
        self.tensors
            .iter()
            .map(|t| match &t.kind {
                FloatTensorKind::Const(d) => d.len(),
                _ => 0,
            })
            .sum()
    }
}
