//! # zkinfer-onnx: ONNX → [`zkinfer_model::FloatGraph`]
//!
//! Pipeline: bytes → ONNX protobuf (size guards) → tract `InferenceModel` → input facts made
//! concrete (shapes from `input.json` when given, else the graph's, a symbolic dim = 1) →
//! `into_typed` → `into_decluttered` (tract folds constants and shape arithmetic, drops
//! Identity/Shape/ConstantOfShape chains, normalises opset variants) → zkinfer ops.
//!
//! **Choice:** we map tract's *typed, decluttered* ops, not raw ONNX protos. Tract already
//! handles opset differences, constant folding and dozens of ONNX ops that decompose into a
//! small typed vocabulary (`EinSum` for Gemm/MatMul, `Conv`, `MaxPool`/`SumPool`, `TypedBinOp`
//! and `ElementWiseOp` mini-ops, `AxisOp`, `Reduce`, `Softmax`, …), so a few small converters
//! cover most of the corpus. The converters live in [`ops`], one module per op family,
//! registered in one list ([`ops::REGISTRY`]). A typed op no converter accepts yields
//! [`LoadError::Unsupported`] naming the op, the node (and the ONNX op type it came from when
//! it can be traced) and the opset.
//!
//! Position in the workspace: a loader in front of `zkinfer-model`; nothing in the proof
//! system depends on it.

mod convert;
mod guard;
mod legacy;
pub mod ops;

use std::path::Path;

use thiserror::Error;
use zkinfer_model::{FloatGraph, InputFile};

pub use convert::Ctx;

/// Errors of the ONNX loader.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The bytes are not a valid ONNX model, or exceed the loader's caps.
    #[error("malformed ONNX model: {0}")]
    Malformed(String),
    /// tract could not analyse the graph (shapes, types, unknown ONNX op).
    #[error("tract could not load the model ({stage}): {msg}")]
    Tract {
        /// Which stage failed.
        stage: &'static str,
        /// tract's message chain.
        msg: String,
    },
    /// An op zkinfer cannot represent yet.
    #[error("unsupported op {op} in node `{node}` (opset {opset})")]
    Unsupported {
        /// Op type (tract typed op, with the ONNX op type when known).
        op: String,
        /// Node name.
        node: String,
        /// Default-domain opset of the model.
        opset: i64,
    },
    /// A shape is still symbolic after concretisation, or otherwise unusable.
    #[error("node `{node}`: {reason}")]
    Shape {
        /// Node name.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// The input file does not fit the model's inputs ([`InputFile::for_inputs`]).
    #[error("{0}")]
    Input(zkinfer_model::ModelError),
    /// The resulting float graph is inconsistent.
    #[error(transparent)]
    Model(#[from] zkinfer_model::ModelError),
}

/// Loads an ONNX file; `input_shapes` (e.g. from `input.json`) override the graph's.
pub fn load_path(
    path: &Path,
    input_shapes: Option<&[Vec<usize>]>,
) -> Result<FloatGraph, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    load_bytes(&bytes, input_shapes)
}

/// Loads an ONNX file for an input file: the file's `input_shapes` override the graph's, and
/// the file is restricted to the model's inputs by [`InputFile::for_inputs`] (the one rule
/// every reader of input files uses). Returns the graph and the file as it applies to it.
pub fn load_path_for_input(
    path: &Path,
    file: &InputFile,
) -> Result<(FloatGraph, InputFile), LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let g = load_bytes(&bytes, file.shapes.as_deref())?;
    let names: Vec<&str> = g
        .inputs
        .iter()
        .map(|i| g.tensors[i.0].name.as_str())
        .collect();
    let applied = file.for_inputs(&names).map_err(LoadError::Input)?;
    // The shapes were applied by position; reload when the selection moved them.
    let g = match &applied.shapes {
        Some(s) if file.shapes.as_ref().is_some_and(|f| !f.starts_with(s)) => {
            load_bytes(&bytes, Some(s))?
        }
        _ => g,
    };
    Ok((g, applied))
}

/// Samples of an input file: per sample, one flat list per graph input.
pub type Samples = Vec<Vec<Vec<f32>>>;

/// Loads an example folder (`network.onnx` and an EZKL `input.json`) the way `zkinfer compile`
/// reads a model with its calibration file ([`load_path_for_input`]): the float graph and the
/// file's samples, one flat list per graph input.
pub fn load_example(dir: &Path) -> Result<(FloatGraph, Samples), LoadError> {
    let file = InputFile::read(&dir.join("input.json")).map_err(LoadError::Input)?;
    let (g, applied) = load_path_for_input(&dir.join("network.onnx"), &file)?;
    let sizes: Vec<usize> = g
        .inputs
        .iter()
        .map(|i| g.tensors[i.0].shape.iter().product())
        .collect();
    let samples = applied.samples(&sizes).map_err(LoadError::Input)?;
    Ok((g, samples))
}

/// Loads an ONNX model from bytes.
pub fn load_bytes(
    bytes: &[u8],
    input_shapes: Option<&[Vec<usize>]>,
) -> Result<FloatGraph, LoadError> {
    // tract is not written for hostile inputs; a panic inside it becomes an error here.
    std::panic::catch_unwind(|| convert::load(bytes, input_shapes)).unwrap_or_else(|_| {
        Err(LoadError::Malformed(
            "the ONNX parser panicked on this input".into(),
        ))
    })
}
