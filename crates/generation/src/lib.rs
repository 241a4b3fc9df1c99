//! # zkinfer-generation: proven greedy generation of an LLM
//!
//! Stages: [`compile`] a checkpoint ([`zkinfer_llm::Checkpoint`]) for a pass of `L`
//! positions emitting at most `N` tokens → a proving key whose verifying key binds the
//! quantized graph, the weight commitment, the tokenizer and the end-of-sequence ids;
//! [`generate`] greedily with the integer model (the same arithmetic the proof checks);
//! [`prove`] the final pass; [`verify`] a [`GenerationProof`] against the verifying key.
//!
//! What is proven (see [`statement`]): one causal pass over `prompt ‖ generated[..k−1]`
//! (filled to `L` positions) whose argmax at position `P − 1 + i` is `generated[i]`, over the
//! whole vocabulary, ties to the lowest id. Since position `P − 1 + i` sees only the tokens
//! before it, this is exactly greedy decoding, token by token, from the committed model.
//!
//! Soundness: that of the model proof ([`zkinfer_prover::verify`]); the statement checks
//! here are exact comparisons.

mod compile;
mod error;
mod generate;
pub mod meta;
pub mod statement;
mod verify;

pub use compile::{compile, CompileOptions, CompileReport, Stage, DEFAULT_CALIBRATION};
pub use error::{GenError, Result};
pub use generate::{generate, prove, prove_with, Generation, PassMode};
pub use meta::LlmMeta;
pub use statement::{Statement, Stop};
pub use verify::{verify, GenerationProof, Verified, GEN_FORMAT_VERSION, GEN_KIND};
