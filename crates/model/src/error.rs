//! Typed errors of the model stages.

use thiserror::Error;

/// Errors raised while building, evaluating, quantizing or checking a model.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A graph is inconsistent (bad tensor id, shape mismatch between an op and its tensors).
    #[error("invalid graph at node `{node}`: {reason}")]
    InvalidGraph {
        /// Node name.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// An input file (input.json, calibration file) is malformed.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The float graph uses an op the quantizer cannot lower yet.
    #[error("cannot quantize node `{node}` ({op}): {reason}")]
    Unquantizable {
        /// Node name.
        node: String,
        /// Op description.
        op: String,
        /// Why.
        reason: String,
    },
    /// The bounds analysis could not prove a tensor stays in the signed 63-bit range.
    #[error("tensor `{tensor}` (node `{node}`) may overflow: |value| ≤ 2^{bits:.1} exceeds 2^62")]
    Overflow {
        /// Tensor name.
        tensor: String,
        /// Node producing it.
        node: String,
        /// log2 of the proven bound.
        bits: f64,
    },
    /// A relation of the node would be checked in the field with possible wrap-around (its
    /// integer sides are not bounded below p).
    #[error("node `{node}` ({op}): not field-safe: {reason}")]
    FieldUnsafe {
        /// Node name.
        node: String,
        /// Op name.
        op: String,
        /// Which bound fails.
        reason: String,
    },
    /// A requantization's exact result lies outside the activation range: the integer run
    /// would clamp it, and no proof of a clamped value exists.
    #[error("node `{node}` ({op}) saturates: output element {element} needs {value}, the activation range is [{lo}, {hi}]")]
    Saturated {
        /// Node name.
        node: String,
        /// Op name.
        op: String,
        /// Flat index of the first saturated output element.
        element: usize,
        /// Its exact (unclamped) requantized value.
        value: i128,
        /// Activation range.
        lo: i64,
        /// Activation range.
        hi: i64,
    },
    /// A trace violates a layer relation.
    #[error("trace check failed at node #{node_index} `{node}` ({op}), output index {index}: expected {expected}, got {got}")]
    CheckFailed {
        /// Index of the node in the quantized graph.
        node_index: usize,
        /// Node name.
        node: String,
        /// Op kind.
        op: String,
        /// Flat (row-major) index into the output tensor.
        index: usize,
        /// Value implied by the relation.
        expected: i64,
        /// Value found in the trace.
        got: i64,
    },
    /// A trace is structurally wrong (missing tensor, wrong length, lookup miss).
    #[error("malformed trace at tensor `{tensor}`: {reason}")]
    BadTrace {
        /// Tensor name.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
}

/// Shorthand result type.
pub type Result<T> = std::result::Result<T, ModelError>;

pub(crate) fn invalid(node: &str, reason: impl Into<String>) -> ModelError {
    ModelError::InvalidGraph {
        node: node.to_string(),
        reason: reason.into(),
    }
}
