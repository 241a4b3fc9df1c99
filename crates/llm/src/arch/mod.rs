//! Float graphs of one causal forward pass, one module per architecture, on shared blocks.
//!
//! The pass covers `len` positions (the prompt, the generated tokens but the last, and — when
//! the sequence is shorter than the compiled context — filler tokens after them, which causal
//! attention keeps from influencing earlier positions). Graph inputs: the token ids `[len]`
//! and the emitting positions `[emit]` (both public); the last hidden state is gathered at the
//! emitting positions only, so the LM head and the vocabulary-wide argmax run on `emit`
//! rows, not on every position. Output: the argmax token at each emitting position.
//!
//! Position-dependent constants (RoPE tables, causal and sliding-window masks) are built for
//! `len` positions from the configuration alone.

mod blocks;
mod gemma3;
mod gpt2;
mod llama;

use zkinfer_model::graph::{FloatGraph, TensorId};

pub(crate) use blocks::Builder;

use crate::config::{Arch, LlmConfig};
use crate::error::{LlmError, Result};
use crate::formats::WeightSource;

/// The forward-pass graph and its interface.
#[derive(Clone, Debug)]
pub struct LlmGraph {
    /// The float graph: inputs `[ids, emit_positions]`, output `[tokens]`.
    pub graph: FloatGraph,
    /// Positions in the pass.
    pub len: usize,
    /// Emitting positions (rows of the LM head).
    pub emit: usize,
    /// The logits tensor `[emit, vocab]` (for fidelity reports).
    pub logits: TensorId,
}

/// Builds the forward pass of `len` positions emitting at `emit` of them.
pub fn build(cfg: &LlmConfig, w: &dyn WeightSource, len: usize, emit: usize) -> Result<LlmGraph> {
    if len == 0 || emit == 0 || emit > len {
        return Err(LlmError::Invalid(format!(
            "a pass of {len} positions cannot emit at {emit} of them"
        )));
    }
    if len > cfg.max_positions {
        return Err(LlmError::Invalid(format!(
            "{len} positions exceed the model's context of {}",
            cfg.max_positions
        )));
    }
    let mut b = Builder::new(cfg, w, len);
    let ids = b.input("ids", vec![len]);
    let emit_pos = b.input("emit_positions", vec![emit]);
    let h = match cfg.arch {
        Arch::Gpt2 => gpt2::body(&mut b, ids)?,
        Arch::Llama => llama::body(&mut b, ids)?,
        Arch::Gemma3 => gemma3::body(&mut b, ids)?,
    };
    let d = cfg.hidden;
    let last = b.gather_rows(h, emit_pos, emit, d);
    let last = match cfg.arch {
        Arch::Gpt2 => b.layer_norm(last, emit, "transformer.ln_f")?,
        Arch::Llama => b.rms_norm(last, vec![emit, d], "model.norm.weight", false)?,
        Arch::Gemma3 => b.rms_norm(last, vec![emit, d], "model.norm.weight", true)?,
    };
    let embed = match cfg.arch {
        Arch::Gpt2 => "transformer.wte.weight",
        _ => "model.embed_tokens.weight",
    };
    let head = if cfg.tied { embed } else { "lm_head.weight" };
    let mut logits = b.linear(last, emit, head, d, cfg.vocab, None)?;
    if let Some(c) = cfg.final_softcap {
        logits = b.softcap(logits, vec![emit, cfg.vocab], c);
    }
    let tokens = b.node(
        "argmax",
        zkinfer_model::ops::FloatOp::ArgMax,
        vec![logits],
        vec![emit],
    );
    let mut graph = b.finish();
    graph.inputs = vec![ids, emit_pos];
    graph.outputs = vec![tokens];
    graph.validate()?;
    Ok(LlmGraph {
        graph,
        len,
        emit,
        logits,
    })
}
