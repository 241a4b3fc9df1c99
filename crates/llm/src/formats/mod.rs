//! Checkpoint file formats: Hugging Face safetensors (single or sharded) and GGUF.
//!
//! Both present their tensors under **Hugging Face names and conventions** (e.g.
//! `model.layers.0.self_attn.q_proj.weight`, linear weights `[out, in]` but GPT-2's Conv1D
//! weights `[in, out]`, Gemma norm weights stored as `w` in the `(1 + w)` form), so the
//! architecture modules read one convention. The GGUF reader undoes llama.cpp's renaming and
//! its layout changes (see [`gguf`]).

pub mod gguf;
pub mod safetensors;

mod bytes;
#[cfg(test)]
mod tests;

pub(crate) use bytes::FileBytes;

use crate::error::Result;

/// A tensor converted to f32, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Shape (Hugging Face order: a linear weight is `[out, in]`).
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f32>,
}

/// Where an architecture module reads its weights from (Hugging Face names).
pub trait WeightSource {
    /// Every tensor name, sorted.
    fn names(&self) -> Vec<String>;
    /// The shape of `name`, if present.
    fn shape(&self, name: &str) -> Option<Vec<usize>>;
    /// Reads `name` as f32 (dequantizing F16, BF16, Q8_0, ...). `LlmError::MissingTensor`
    /// when absent.
    fn tensor(&self, name: &str) -> Result<Tensor>;
}
