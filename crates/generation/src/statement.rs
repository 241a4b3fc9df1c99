//! The generation statement and the layout of the proven pass — the verifier's spec.
//!
//! A key compiled for context `L` and capacity `N` proves one causal pass over `L` positions
//! with `N` emitting positions. For a prompt `p` (`P ≥ 1` ids) and a generation `g` (`k`
//! ids, `1 ≤ k ≤ N`, `P + k − 1 ≤ L`), the pass is fed `s = p ‖ g[..k−1]` and:
//!
//! * `ids[j] = s[j mod |s|]` for `j < L` (positions past `s` repeat it: causal attention keeps
//!   them from influencing the positions that emit, and real text keeps their activations in
//!   the calibrated range);
//! * `emit[i] = P − 1 + min(i, k − 1)` for `i < N`;
//! * the proven outputs must be `out[i] = g[min(i, k − 1)]`.
//!
//! The token at `emit[i]` is the argmax of the logits at that position (ties to the lowest
//! id), which the model computed from `s[..=emit[i]] = p ‖ g[..i]` only: so `g` is exactly the
//! greedy continuation of `p`. The stop rule: `k = n` (the requested count), or `k < n` and
//! `g[k−1]` is an end-of-sequence id; no earlier token is one.

use serde::{Deserialize, Serialize};

use crate::error::{GenError, Result};
use zkinfer_model::QuantizedGraph;

use crate::meta::LlmMeta;

/// What a generation proof claims (all public).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Prompt token ids (after the tokenizer, BOS included where the model adds one).
    pub prompt: Vec<u32>,
    /// Generated token ids, in order.
    pub generated: Vec<u32>,
    /// Requested number of new tokens `n` (generation stops at `n` or at end-of-sequence).
    pub max_new_tokens: usize,
}

/// Why generation stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stop {
    /// `max_new_tokens` were generated.
    Length,
    /// The last token is an end-of-sequence id.
    Eos,
}

impl Statement {
    /// Checks the statement against the key's limits and the stop rule; returns why it
    /// stopped.
    pub fn check(&self, meta: &LlmMeta) -> Result<Stop> {
        let (p, k, n) = (self.prompt.len(), self.generated.len(), self.max_new_tokens);
        let bad = |m: String| Err(GenError::Rejected(m));
        if p == 0 {
            return bad("the prompt is empty".into());
        }
        if n == 0 || n > meta.new_tokens {
            return bad(format!(
                "{n} new tokens requested; the key proves 1 to {}",
                meta.new_tokens
            ));
        }
        if k == 0 || k > n {
            return bad(format!("{k} tokens generated for a request of {n}"));
        }
        if p + k - 1 > meta.context {
            return bad(format!(
                "prompt ({p}) + generated ({k}) − 1 tokens exceed the context of {}",
                meta.context
            ));
        }
        if let Some(&t) = self
            .prompt
            .iter()
            .chain(&self.generated)
            .find(|&&t| t as usize >= meta.vocab)
        {
            return bad(format!(
                "token id {t} is outside the vocabulary of {}",
                meta.vocab
            ));
        }
        if let Some(i) = self.generated[..k - 1]
            .iter()
            .position(|t| meta.eos.contains(t))
        {
            return bad(format!(
                "generation continues after the end-of-sequence token at {i}"
            ));
        }
        if meta.eos.contains(&self.generated[k - 1]) {
            Ok(Stop::Eos)
        } else if k == n {
            Ok(Stop::Length)
        } else {
            bad(format!(
                "generation stopped after {k} of {n} tokens without an end-of-sequence token"
            ))
        }
    }
}

/// The pass inputs (token ids and emitting positions, as integers) for prompt `p` fed with
/// `fed = g[..k−1]`: `k = fed.len() + 1` tokens emitted.
pub fn pass_layout(meta: &LlmMeta, prompt: &[u32], fed: &[u32]) -> Result<(Vec<u64>, Vec<u64>)> {
    let (l, n) = (meta.context, meta.new_tokens);
    let s: Vec<u32> = prompt.iter().chain(fed).copied().collect();
    if prompt.is_empty() || s.len() > l || fed.len() >= n {
        return Err(GenError::Request(format!(
            "a prompt of {} tokens with {} generated does not fit the key (context {l}, {n} new tokens)",
            prompt.len(),
            fed.len() + 1
        )));
    }
    let ids = (0..l).map(|j| u64::from(s[j % s.len()])).collect();
    let last = fed.len();
    let emit = (0..n)
        .map(|i| (prompt.len() - 1 + i.min(last)) as u64)
        .collect();
    Ok((ids, emit))
}

/// The outputs a valid proof of `generated` carries: `out[i] = g[min(i, k − 1)]`.
pub fn expected_outputs(meta: &LlmMeta, generated: &[u32]) -> Vec<i64> {
    let k = generated.len();
    (0..meta.new_tokens)
        .map(|i| {
            generated
                .get(i.min(k.saturating_sub(1)))
                .map_or(-1, |&t| i64::from(t))
        })
        .collect()
}

/// The quantized graph inputs of a pass: token ids and positions are index-only inputs,
/// exact integers (scale 2^0) that must lie inside their declared width — never clamped.
pub fn quantize_pass(g: &QuantizedGraph, ids: &[u64], emit: &[u64]) -> Result<Vec<Vec<i64>>> {
    if g.inputs.len() != 2 {
        return Err(GenError::NotLlm(format!(
            "the graph has {} inputs, an LLM pass has 2 (ids, emitting positions)",
            g.inputs.len()
        )));
    }
    [ids, emit]
        .iter()
        .zip(&g.inputs)
        .map(|(vals, id)| {
            let (_, hi) = g.input_range(*id);
            let t = g
                .tensors
                .get(id.0)
                .ok_or_else(|| GenError::NotLlm("input tensor missing".into()))?;
            if t.frac != 0 || !g.index_only(*id) {
                return Err(GenError::NotLlm(format!(
                    "input {} is not an integer index input (scale 2^{})",
                    t.name, t.frac
                )));
            }
            if t.shape.iter().product::<usize>() != vals.len() {
                return Err(GenError::NotLlm(format!(
                    "input {} has shape {:?}, the layout gives {} values",
                    t.name,
                    t.shape,
                    vals.len()
                )));
            }
            vals.iter()
                .map(|&v| match i64::try_from(v) {
                    Ok(q) if q <= hi => Ok(q),
                    _ => Err(GenError::Request(format!(
                        "value {v} of input {} exceeds its range (at most {hi})",
                        t.name
                    ))),
                })
                .collect()
        })
        .collect()
}
