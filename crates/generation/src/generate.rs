//! Greedy generation with the integer model, then the proof of its final pass.

use zkinfer_model::quant::run_quantized_strict;
use zkinfer_model::Trace;
use zkinfer_prover::{ProveTimings, ProvingKey};

use crate::error::{model, proof, GenError, Result};
use crate::meta::LlmMeta;
use crate::statement::{expected_outputs, pass_layout, quantize_pass, Statement, Stop};
use crate::verify::GenerationProof;

/// A finished generation, ready to prove.
pub struct Generation {
    /// The statement (prompt, generated ids, requested count).
    pub statement: Statement,
    /// Why it stopped.
    pub stop: Stop,
    /// The integer trace of the final pass (the one the proof covers).
    trace: Trace,
}

impl Generation {
    /// The integer trace of the final pass.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation")
            .field("statement", &self.statement)
            .field("stop", &self.stop)
            .finish()
    }
}

/// Generates greedily from `prompt` (token ids) at most `max_new_tokens` tokens, stopping at
/// an end-of-sequence id; `on_token` sees each id as it is chosen. Each step is one integer
/// run of the compiled pass (no KV cache yet: `k` runs of `L` positions for `k` tokens).
pub fn generate(
    pk: &ProvingKey,
    prompt: &[u32],
    max_new_tokens: usize,
    on_token: &mut dyn FnMut(u32),
) -> Result<Generation> {
    let meta = LlmMeta::from_vk(&pk.vk)?;
    let (l, n) = (meta.context, meta.new_tokens);
    if prompt.is_empty() {
        return Err(GenError::Request("the prompt is empty".into()));
    }
    if max_new_tokens == 0 || max_new_tokens > n {
        return Err(GenError::Request(format!(
            "--max-new-tokens {max_new_tokens}: this key proves 1 to {n} new tokens (recompile with \
             --new-tokens to change it)"
        )));
    }
    if prompt.len() + max_new_tokens - 1 > l {
        return Err(GenError::Request(format!(
            "the prompt has {} tokens; with {max_new_tokens} new tokens that exceeds the compiled \
             context of {l} positions (at most {} prompt tokens; recompile with a larger --context)",
            prompt.len(),
            l + 1 - max_new_tokens
        )));
    }
    if let Some(&t) = prompt.iter().find(|&&t| t as usize >= meta.vocab) {
        return Err(GenError::Request(format!(
            "prompt token {t} is outside the vocabulary of {}",
            meta.vocab
        )));
    }
    let out = *pk
        .graph
        .outputs
        .first()
        .ok_or_else(|| GenError::NotLlm("no output".into()))?;
    let mut generated: Vec<u32> = Vec::with_capacity(max_new_tokens);
    loop {
        let (ids, emit) = pass_layout(&meta, prompt, &generated)?;
        let q = quantize_pass(&pk.graph, &ids, &emit)?;
        // Strict: a saturating requantization has no proof; say so before generating on.
        let trace = run_quantized_strict(&pk.graph, &q).map_err(model("integer run"))?;
        let i = generated.len();
        let tok = trace
            .get(out)
            .and_then(|o| o.get(i))
            .and_then(|&t| u32::try_from(t).ok())
            .ok_or_else(|| GenError::NotLlm("the pass emitted no token".into()))?;
        generated.push(tok);
        on_token(tok);
        let stop = if meta.eos.contains(&tok) {
            Some(Stop::Eos)
        } else if generated.len() == max_new_tokens {
            Some(Stop::Length)
        } else {
            None
        };
        if let Some(stop) = stop {
            return Ok(Generation {
                statement: Statement {
                    prompt: prompt.to_vec(),
                    generated,
                    max_new_tokens,
                },
                stop,
                trace,
            });
        }
    }
}

/// Proves the final pass of `g`.
pub fn prove(pk: &ProvingKey, g: &Generation) -> Result<(GenerationProof, ProveTimings)> {
    prove_with(pk, g, zkinfer_prover::ProveOptions::default())
}

/// [`prove`] with options (e.g. the experimental masked walk; `verify` accepts both kinds).
pub fn prove_with(
    pk: &ProvingKey,
    g: &Generation,
    opts: zkinfer_prover::ProveOptions,
) -> Result<(GenerationProof, ProveTimings)> {
    let meta = LlmMeta::from_vk(&pk.vk)?;
    let out = pk.graph.outputs.first().and_then(|o| g.trace.get(*o));
    if out != Some(expected_outputs(&meta, &g.statement.generated).as_slice()) {
        return Err(GenError::Request(
            "the trace does not emit the generated tokens".into(),
        ));
    }
    let (mp, t) = zkinfer_prover::prove_trace_with(pk, &g.trace, opts).map_err(proof("prove"))?;
    Ok((
        GenerationProof {
            statement: g.statement.clone(),
            transcript: mp.transcript,
        },
        t,
    ))
}
