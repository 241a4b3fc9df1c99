//! # zkinfer-llm: LLM checkpoints → [`zkinfer_model::FloatGraph`]
//!
//! Loads a Hugging Face model directory (`config.json`, safetensors, `tokenizer.json`) or a
//! GGUF file of the supported architectures (GPT-2, Llama, Gemma 3 text), and builds the
//! float graph of one causal forward pass whose outputs are the greedy tokens at the positions
//! that emit them.
//!
//! Position in the workspace: a loader in front of `zkinfer-model`, beside `zkinfer-onnx`;
//! nothing in the proof system depends on it.

pub mod error;
pub mod formats;

pub use error::{LlmError, Result};
pub mod arch;
pub mod config;

pub use arch::{build, LlmGraph};
pub use config::{Arch, LlmConfig};
pub mod checkpoint;
pub mod tokenizer;

pub use checkpoint::{pass_inputs, Checkpoint};
pub use tokenizer::Tokenizer;
