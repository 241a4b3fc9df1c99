//! What an LLM key carries besides the quantized graph: the architecture, the pass shape,
//! the tokenizer and the end-of-sequence ids. Stored as JSON in the verifying key's
//! application data, so the model commitment binds it: a verifier decodes text with the
//! tokenizer the prover committed to, and applies the stop rule with the committed EOS ids.

use serde::{Deserialize, Serialize};
use zkinfer_llm::Tokenizer;
use zkinfer_prover::VerifyingKey;

use crate::error::{GenError, Result};

/// Tag of the application data of an LLM key.
pub const META_KIND: &str = "zkinfer-llm-generation/1";

/// Largest application data accepted (bytes): a 262k-entry tokenizer is ~35 MB of JSON.
pub const MAX_META_BYTES: usize = 128 << 20;

/// The LLM part of a key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlmMeta {
    /// [`META_KIND`].
    pub kind: String,
    /// Architecture name (`gpt2`, `llama`, `gemma3`).
    pub arch: String,
    /// Where the checkpoint came from (file name only; informational).
    pub source: String,
    /// Positions in the proven pass (`L`).
    pub context: usize,
    /// Emitting positions (`N`): the most tokens one proof generates.
    pub new_tokens: usize,
    /// Vocabulary size (rows of the LM head).
    pub vocab: usize,
    /// End-of-sequence ids.
    pub eos: Vec<u32>,
    /// The model's parameter count.
    pub parameters: u64,
    /// `tokenizer.json`.
    pub tokenizer_json: String,
    /// BOS id prepended when the tokenizer's post-processor does not add it.
    pub add_bos: Option<u32>,
}

impl LlmMeta {
    /// Encodes as application data.
    pub fn to_app(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes a key's application data.
    pub fn from_vk(vk: &VerifyingKey) -> Result<Self> {
        if vk.app.is_empty() {
            return Err(GenError::NotLlm(
                "the key carries no LLM data (it was compiled from an ONNX model)".into(),
            ));
        }
        if vk.app.len() > MAX_META_BYTES {
            return Err(GenError::NotLlm(format!(
                "{} bytes of application data exceed the limit of {MAX_META_BYTES}",
                vk.app.len()
            )));
        }
        let m: LlmMeta =
            serde_json::from_slice(&vk.app).map_err(|e| GenError::NotLlm(e.to_string()))?;
        if m.kind != META_KIND {
            return Err(GenError::NotLlm(format!(
                "application data of kind {:?}",
                m.kind
            )));
        }
        if m.context == 0 || m.new_tokens == 0 || m.new_tokens > m.context || m.vocab == 0 {
            return Err(GenError::NotLlm(format!(
                "inconsistent pass shape: context {}, new tokens {}, vocabulary {}",
                m.context, m.new_tokens, m.vocab
            )));
        }
        let g = &vk.graph;
        let shapes: Vec<Option<&Vec<usize>>> = g
            .inputs
            .iter()
            .chain(&g.outputs)
            .map(|i| g.tensors.get(i.0).map(|t| &t.shape))
            .collect();
        let (l, n) = (m.context, m.new_tokens);
        if shapes != [Some(&vec![l]), Some(&vec![n]), Some(&vec![n])] {
            return Err(GenError::NotLlm(format!(
                "the graph's inputs/outputs {shapes:?} do not match a pass of {l} positions emitting {n}"
            )));
        }
        Ok(m)
    }

    /// The committed tokenizer.
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        Ok(Tokenizer::from_json(&self.tokenizer_json, self.add_bos)?)
    }
}
