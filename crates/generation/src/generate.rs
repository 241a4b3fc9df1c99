//! Greedy generation with the integer model, then the proof of its final pass.

use zkinfer_model::quant::rows::{RowPlan, RowRun};
use zkinfer_model::quant::{run_quantized_strict_packed, PackedWeights};
use zkinfer_model::Trace;
use zkinfer_prover::{ProveTimings, ProvingKey};

use crate::error::{model, proof, GenError, Result};
use crate::meta::LlmMeta;
use crate::statement::{expected_outputs, pass_layout, quantize_pass, Statement, Stop};
use crate::verify::GenerationProof;

/// How the integer passes of a generation were run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PassMode {
    /// One whole pass, then only each new position's rows per token
    /// ([`zkinfer_model::quant::rows`]), then the final pass whole.
    Incremental,
    /// One whole pass per token: the graph has an op the row plan does not cover (the reason).
    Whole(String),
}

/// A finished generation, ready to prove.
pub struct Generation {
    /// The statement (prompt, generated ids, requested count).
    pub statement: Statement,
    /// Why it stopped.
    pub stop: Stop,
    /// How the integer passes ran.
    pub mode: PassMode,
    /// The integer trace of the final pass (the one the proof covers).
    trace: Trace,
}

impl Generation {
    fn new(
        prompt: &[u32],
        generated: Vec<u32>,
        max_new_tokens: usize,
        stop: Stop,
        mode: PassMode,
        trace: Trace,
    ) -> Self {
        Generation {
            statement: Statement {
                prompt: prompt.to_vec(),
                generated,
                max_new_tokens,
            },
            stop,
            mode,
            trace,
        }
    }

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
            .field("mode", &self.mode)
            .finish()
    }
}

/// Generates greedily from `prompt` (token ids) at most `max_new_tokens` tokens, stopping at
/// an end-of-sequence id; `on_token` sees each id as it is chosen.
///
/// The first token comes from one whole integer pass; each later one recomputes only the
/// rows of the position just fed and of the slot it emits at (the KV-cache equivalent, derived
/// from the graph by [`RowPlan`]); the pass the proof covers is then run whole and must emit
/// exactly the tokens chosen (a disagreement is reported, never proven). A graph the row plan
/// does not cover runs one whole pass per token ([`PassMode::Whole`]).
pub fn generate(
    pk: &ProvingKey,
    prompt: &[u32],
    max_new_tokens: usize,
    on_token: &mut dyn FnMut(u32),
) -> Result<Generation> {
    let meta = LlmMeta::from_vk(&pk.vk)?;
    check_request(&meta, prompt, max_new_tokens)?;
    let out = *pk
        .graph
        .outputs
        .first()
        .ok_or_else(|| GenError::NotLlm("no output".into()))?;
    let plan = RowPlan::new(&pk.graph, &[0, 0]);
    if let Ok(p) = &plan {
        let emits = pk.graph.inputs.get(1).and_then(|i| p.row(*i));
        if p.row(out) != emits {
            return generate_whole(
                pk,
                &meta,
                prompt,
                max_new_tokens,
                on_token,
                "the output's rows are not the emitted slots".into(),
            );
        }
    }
    let plan = match plan {
        Ok(p) => p,
        Err(why) => return generate_whole(pk, &meta, prompt, max_new_tokens, on_token, why),
    };
    let mut generated: Vec<u32> = Vec::with_capacity(max_new_tokens);
    let mut run: Option<RowRun> = None;
    loop {
        let (ids, emit) = pass_layout(&meta, prompt, &generated)?;
        let q = quantize_pass(&pk.graph, &ids, &emit)?;
        let i = generated.len();
        // Strict: a saturating requantization has no proof; say so before generating on.
        match run.as_mut() {
            None => {
                run =
                    Some(RowRun::start(&pk.graph, plan.clone(), &q).map_err(model("integer run"))?);
            }
            Some(r) => {
                let p = prompt.len() + i - 1;
                r.step(&q, &[p..p + 1, i..i + 1])
                    .map_err(model("integer run"))?;
            }
        }
        let tok = emitted(run.as_ref().and_then(|r| r.get(out)), i)?;
        generated.push(tok);
        on_token(tok);
        if let Some(stop) = stop_reason(&meta, &generated, max_new_tokens) {
            let run = run.ok_or_else(|| GenError::NotLlm("no pass ran".into()))?;
            let trace = if generated.len() == 1 {
                // The first pass was whole: it is the final pass.
                run.into_trace()
            } else {
                final_pass(&run, &meta, prompt, &generated, out)?
            };
            return Ok(Generation::new(
                prompt,
                generated,
                max_new_tokens,
                stop,
                PassMode::Incremental,
                trace,
            ));
        }
    }
}

fn check_request(meta: &LlmMeta, prompt: &[u32], max_new_tokens: usize) -> Result<()> {
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
    Ok(())
}

/// The token a pass emits at slot `i`.
fn emitted(out: Option<&[i64]>, i: usize) -> Result<u32> {
    out.and_then(|o| o.get(i))
        .and_then(|&t| u32::try_from(t).ok())
        .ok_or_else(|| GenError::NotLlm("the pass emitted no token".into()))
}

fn stop_reason(meta: &LlmMeta, generated: &[u32], max_new_tokens: usize) -> Option<Stop> {
    if generated.last().is_some_and(|t| meta.eos.contains(t)) {
        Some(Stop::Eos)
    } else if generated.len() == max_new_tokens {
        Some(Stop::Length)
    } else {
        None
    }
}

/// The whole pass the proof covers (`prompt ‖ generated[..k−1]`), checked to emit `generated`.
fn final_pass(
    run: &RowRun,
    meta: &LlmMeta,
    prompt: &[u32],
    generated: &[u32],
    out: zkinfer_model::graph::TensorId,
) -> Result<Trace> {
    let fed = &generated[..generated.len().saturating_sub(1)];
    let (ids, emit) = pass_layout(meta, prompt, fed)?;
    let q = quantize_pass(run.graph(), &ids, &emit)?;
    let trace = run.run_whole(&q).map_err(model("integer run"))?;
    let want = expected_outputs(meta, generated);
    if trace.get(out) != Some(want.as_slice()) {
        return Err(GenError::NotLlm(format!(
            "the row-incremental integer run chose {generated:?}, the whole final pass emits \
             {:?} (a bug in zkinfer, please report it)",
            trace.get(out).unwrap_or(&[])
        )));
    }
    Ok(trace)
}

/// One whole integer pass per token (graphs the row plan does not cover).
fn generate_whole(
    pk: &ProvingKey,
    meta: &LlmMeta,
    prompt: &[u32],
    max_new_tokens: usize,
    on_token: &mut dyn FnMut(u32),
    why: String,
) -> Result<Generation> {
    let out = *pk
        .graph
        .outputs
        .first()
        .ok_or_else(|| GenError::NotLlm("no output".into()))?;
    let mut generated: Vec<u32> = Vec::with_capacity(max_new_tokens);
    let packed = PackedWeights::new(&pk.graph);
    loop {
        let (ids, emit) = pass_layout(meta, prompt, &generated)?;
        let q = quantize_pass(&pk.graph, &ids, &emit)?;
        let trace =
            run_quantized_strict_packed(&pk.graph, &q, &packed).map_err(model("integer run"))?;
        let tok = emitted(trace.get(out), generated.len())?;
        generated.push(tok);
        on_token(tok);
        if let Some(stop) = stop_reason(meta, &generated, max_new_tokens) {
            return Ok(Generation::new(
                prompt,
                generated,
                max_new_tokens,
                stop,
                PassMode::Whole(why),
                trace,
            ));
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
