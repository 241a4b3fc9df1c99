//! Errors of compiling, generating, proving and verifying a generation.

use thiserror::Error;

/// What went wrong, naming the stage.
#[derive(Debug, Error)]
pub enum GenError {
    /// The checkpoint could not be read or built into a graph.
    #[error(transparent)]
    Llm(#[from] zkinfer_llm::LlmError),
    /// Quantization or the integer run failed.
    #[error("{stage}: {source}")]
    Model {
        /// Which stage.
        stage: &'static str,
        /// Cause.
        #[source]
        source: zkinfer_model::ModelError,
    },
    /// The proof system refused (compile or prove) or rejected (verify).
    #[error("{stage}: {source}")]
    Proof {
        /// Which stage.
        stage: &'static str,
        /// Cause.
        #[source]
        source: zkinfer_prover::Error,
    },
    /// The request does not fit the compiled model (prompt too long, too many tokens, ...).
    #[error("{0}")]
    Request(String),
    /// The key is not an LLM key, or its application data is malformed.
    #[error("not an LLM key: {0}")]
    NotLlm(String),
    /// A proof file could not be decoded.
    #[error("malformed generation proof: {0}")]
    Decode(String),
    /// The generation statement is inconsistent with the proof or the key.
    #[error("rejected: {0}")]
    Rejected(String),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, GenError>;

pub(crate) fn model(stage: &'static str) -> impl FnOnce(zkinfer_model::ModelError) -> GenError {
    move |source| GenError::Model { stage, source }
}

pub(crate) fn proof(stage: &'static str) -> impl FnOnce(zkinfer_prover::Error) -> GenError {
    move |source| GenError::Proof { stage, source }
}
