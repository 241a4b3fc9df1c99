//! Compiling a checkpoint: build the pass graph for a fixed context `L` and capacity `N`,
//! calibrate on text, quantize, measure fidelity against the float model, commit.

use serde::{Deserialize, Serialize};
use zkinfer_llm::{build, Checkpoint, LlmGraph};
use zkinfer_model::{eval_all, quant, QuantConfig, QuantizedGraph, TensorId};
use zkinfer_prover::ProvingKey;

use crate::error::{model, proof, GenError, Result};
use crate::meta::{LlmMeta, META_KIND};

/// The bundled calibration text (English prose not seen in the fixtures' training corpus).
pub const DEFAULT_CALIBRATION: &str = include_str!("../../../examples/llm/calibration.txt");

/// How to compile.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Positions of the proven pass (`L`): prompt + generated − 1 must fit.
    pub context: usize,
    /// Tokens one proof generates at most (`N`).
    pub new_tokens: usize,
    /// Activation and weight bit widths.
    pub quant: QuantConfig,
    /// Calibration text.
    pub calibration_text: String,
    /// Most calibration windows of `L` tokens.
    pub max_windows: usize,
}

impl CompileOptions {
    /// Defaults for an architecture: context 64, 8 new tokens, 16-bit activations and
    /// 12-bit weights (measured on the bundled checkpoints, see docs/LLM.md).
    pub fn new(context: usize, new_tokens: usize) -> Self {
        CompileOptions {
            context,
            new_tokens,
            quant: QuantConfig::default(),
            calibration_text: DEFAULT_CALIBRATION.to_string(),
            max_windows: 8,
        }
    }
}

/// The compile report: teacher-forced agreement of the quantized model with the float one
/// on the calibration text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CompileReport {
    /// Calibration windows of `L` tokens.
    pub windows: usize,
    /// Positions compared (every position of every window).
    pub positions: usize,
    /// Positions where the quantized argmax equals the float argmax.
    pub agree: usize,
    /// Positions whose float top-1 margin exceeds the largest logit error seen.
    pub clear: usize,
    /// Of those, positions where the argmaxes agree.
    pub clear_agree: usize,
    /// Largest |quantized − float| logit.
    pub max_logit_err: f64,
    /// Largest |float logit|.
    pub max_logit: f64,
}

impl std::fmt::Display for CompileReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "teacher-forced next-token agreement with the float model {}/{} ({:.1}%), {}/{} where \
             the float top-1 margin exceeds the logit error; max logit error {:.4} (logits up to {:.2}), \
             over {} calibration window(s)",
            self.agree,
            self.positions,
            100.0 * self.agree as f64 / self.positions.max(1) as f64,
            self.clear_agree,
            self.clear,
            self.max_logit_err,
            self.max_logit,
            self.windows
        )
    }
}

/// Windows of `l` tokens of the calibration text, each starting with the tokenizer's prefix
/// (BOS where the model adds one). (Token ids and positions need no calibration: they are
/// exact integers of the index width.)
fn windows(ck: &Checkpoint, text: &str, l: usize, max: usize) -> Result<Vec<Vec<u32>>> {
    let prefix = ck.tokenizer.encode("")?;
    let all = ck.tokenizer.encode(text)?;
    let body = all.strip_prefix(prefix.as_slice()).unwrap_or(&all);
    let step = l.saturating_sub(prefix.len());
    if step == 0 || body.len() < step {
        return Err(GenError::Request(format!(
            "the calibration text has {} tokens; at least {step} are needed for a context of {l}",
            body.len()
        )));
    }
    Ok(body
        .chunks_exact(step)
        .take(max.max(1))
        .map(|c| prefix.iter().chain(c).copied().collect())
        .collect())
}

/// Float pass inputs of a window emitting at `first..first + n` (clamped to the window).
fn window_inputs(w: &[u32], first: usize, n: usize) -> Vec<Vec<f32>> {
    let ids = w.iter().map(|&t| t as f32).collect();
    let pos = (0..n)
        .map(|i| (first + i).min(w.len() - 1) as f32)
        .collect();
    vec![ids, pos]
}

fn argmax_margin(row: &[f32]) -> (usize, f64) {
    let mut best = (0usize, f32::NEG_INFINITY);
    let mut second = f32::NEG_INFINITY;
    for (i, &x) in row.iter().enumerate() {
        if x > best.1 {
            second = best.1;
            best = (i, x);
        } else if x > second {
            second = x;
        }
    }
    (best.0, f64::from(best.1 - second))
}

fn qtensor_of(qg: &QuantizedGraph, f: TensorId) -> Option<TensorId> {
    qg.tensors
        .iter()
        .rposition(|t| t.float_id == Some(f))
        .map(TensorId)
}

/// Teacher-forced fidelity of `qg` against the float graph on `wins`: every position of every
/// window is an emitting position of some pass.
fn report(
    lg: &LlmGraph,
    qg: &QuantizedGraph,
    wins: &[Vec<u32>],
    vocab: usize,
) -> Result<CompileReport> {
    let ql = qtensor_of(qg, lg.logits)
        .ok_or_else(|| GenError::Request("the quantized graph lost the logits tensor".into()))?;
    let mut r = CompileReport {
        windows: wins.len(),
        ..Default::default()
    };
    let mut rows: Vec<(f64, bool)> = Vec::new();
    for w in wins {
        let mut first = 0;
        while first < w.len() {
            let inputs = window_inputs(w, first, lg.emit);
            let fl = eval_all(&lg.graph, &inputs).map_err(model("float reference"))?;
            // Strict: a calibration window that saturates a requantization could not be
            // proven, so compile refuses it rather than report a clamped fidelity.
            let tr = quant::run_strict(qg, &inputs).map_err(|e| {
                GenError::Request(format!(
                    "the calibration text cannot be proven at these bit widths (window of {} tokens, positions {first}..): {e}",
                    w.len()
                ))
            })?;
            let flog = &fl[lg.logits.0];
            let qlog = qg.dequantize(ql, tr.get(ql).unwrap_or(&[]));
            let count = lg.emit.min(w.len() - first);
            for i in 0..count {
                let (f, q) = (
                    &flog[i * vocab..(i + 1) * vocab],
                    &qlog[i * vocab..(i + 1) * vocab],
                );
                let (fa, margin) = argmax_margin(f);
                let (qa, _) = argmax_margin(q);
                for (a, b) in f.iter().zip(q) {
                    r.max_logit_err = r.max_logit_err.max(f64::from((a - b).abs()));
                    r.max_logit = r.max_logit.max(f64::from(a.abs()));
                }
                rows.push((margin, fa == qa));
            }
            first += count;
        }
    }
    r.positions = rows.len();
    r.agree = rows.iter().filter(|x| x.1).count();
    let clear: Vec<_> = rows.iter().filter(|x| x.0 > r.max_logit_err).collect();
    r.clear = clear.len();
    r.clear_agree = clear.iter().filter(|x| x.1).count();
    Ok(r)
}

/// Stages reported to the caller's progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Building the float graph (reads every weight).
    Load,
    /// Calibrating and quantizing.
    Quantize,
    /// Measuring teacher-forced fidelity.
    Fidelity,
    /// Committing the weights.
    Commit,
}

/// Compiles `ck` for passes of `opts.context` positions emitting `opts.new_tokens`.
pub fn compile(
    ck: &Checkpoint,
    opts: &CompileOptions,
    on_stage: &mut dyn FnMut(Stage),
) -> Result<(ProvingKey, CompileReport)> {
    let (l, n) = (opts.context, opts.new_tokens);
    if n == 0 || n > l {
        return Err(GenError::Request(format!(
            "cannot emit {n} tokens from a context of {l}"
        )));
    }
    on_stage(Stage::Load);
    let lg = build(&ck.config, ck.weights.as_ref(), l, n)?;
    on_stage(Stage::Quantize);
    let wins = windows(ck, &opts.calibration_text, l, opts.max_windows)?;
    // Every position of every window is an emitting position of some calibration pass (the
    // final norm and the head run at emitting positions only): a prompt of any length then
    // emits where the scales were calibrated, and the fidelity passes below are these.
    let samples: Vec<Vec<Vec<f32>>> = wins
        .iter()
        .flat_map(|w| {
            (0..w.len())
                .step_by(n)
                .map(move |first| window_inputs(w, first, n))
        })
        .collect();
    let qg = quant::quantize(&lg.graph, &samples, &opts.quant).map_err(model("quantize"))?;
    // Refuse what cannot be proven before the fidelity runs and the weight commitment.
    zkinfer_prover::Plan::new(&qg).map_err(proof("compile"))?;
    on_stage(Stage::Fidelity);
    let rep = report(&lg, &qg, &wins, ck.config.vocab)?;
    let (json, add_bos) = ck.tokenizer.parts();
    let meta = LlmMeta {
        kind: META_KIND.into(),
        arch: format!("{:?}", ck.config.arch).to_lowercase(),
        source: std::path::Path::new(&ck.source)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        context: l,
        new_tokens: n,
        vocab: ck.config.vocab,
        eos: ck.eos_ids(),
        parameters: ck.config.parameters(),
        tokenizer_json: json.to_string(),
        add_bos,
    };
    on_stage(Stage::Commit);
    let pk = zkinfer_prover::compile_with(qg, meta.to_app()).map_err(proof("compile"))?;
    Ok((pk, rep))
}
