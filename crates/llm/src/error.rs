//! Errors of the LLM loaders.

use thiserror::Error;

/// Errors of loading an LLM checkpoint, its tokenizer, or building its graph.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LlmError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A file is malformed (truncated, bad magic, bad header, inconsistent sizes).
    #[error("{file}: {reason}")]
    Format {
        /// Which file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A size read from an untrusted header exceeds a cap.
    #[error("{file}: {what} = {value} exceeds the limit {limit}")]
    TooLarge {
        /// Which file.
        file: String,
        /// Which quantity.
        what: String,
        /// The value read.
        value: u64,
        /// The cap.
        limit: u64,
    },
    /// A tensor the architecture needs is missing.
    #[error("tensor `{name}` is missing")]
    MissingTensor {
        /// Tensor name.
        name: String,
    },
    /// A tensor has the wrong shape.
    #[error("tensor `{name}` has shape {got:?}, expected {expected:?}")]
    BadShape {
        /// Tensor name.
        name: String,
        /// Shape found.
        got: Vec<usize>,
        /// Shape expected.
        expected: Vec<usize>,
    },
    /// A tensor's data type is not supported.
    #[error("tensor `{name}` has data type {dtype}, which is not supported ({supported})")]
    BadDtype {
        /// Tensor name.
        name: String,
        /// The dtype found.
        dtype: String,
        /// What is supported.
        supported: &'static str,
    },
    /// The configuration is missing a field or has a bad value.
    #[error("config: {0}")]
    Config(String),
    /// An architecture or architectural switch that zkinfer does not support, by name.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The tokenizer could not be loaded or used.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A bad request (prompt too long, zero new tokens, ...).
    #[error("{0}")]
    Invalid(String),
    /// An error of the model crate (graph validation, quantization).
    #[error(transparent)]
    Model(#[from] zkinfer_model::ModelError),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, LlmError>;
