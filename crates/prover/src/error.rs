//! Typed errors of compile, prove and verify. Verifier errors name the stage (node, op and
//! sub-step) that failed.

use thiserror::Error;

/// Everything that can go wrong in this crate.
#[derive(Debug, Error)]
pub enum Error {
    /// The graph uses an op or configuration without a proof protocol yet.
    #[error("node `{node}` ({op}): cannot be proven: {reason}")]
    Unsupported {
        /// Node name.
        node: String,
        /// Op name.
        op: String,
        /// Why.
        reason: String,
    },
    /// The integer run cannot be proven as it is (e.g. an activation left its range).
    #[error("node `{node}` ({op}): {reason}")]
    Witness {
        /// Node name.
        node: String,
        /// Op name.
        op: String,
        /// What is wrong with the values.
        reason: String,
    },
    /// Inputs or outputs do not match the model's shapes or ranges.
    #[error("statement: {0}")]
    Statement(String),
    /// The model, key or proof file could not be decoded.
    #[error("decode {what}: {reason}")]
    Decode {
        /// Which artifact.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The verifier rejected the proof at `stage`.
    #[error("proof rejected at {stage}: {reason}")]
    Rejected {
        /// Where (e.g. "node `fc1` (Einsum): bilinear sumcheck").
        stage: String,
        /// Underlying failure.
        reason: String,
    },
    /// Internal prover failure (a bug; reported, never panics).
    #[error("prover: {0}")]
    Prover(String),
}

impl Error {
    pub(crate) fn rejected(stage: &str, reason: impl std::fmt::Display) -> Self {
        Error::Rejected {
            stage: stage.to_string(),
            reason: reason.to_string(),
        }
    }
}
