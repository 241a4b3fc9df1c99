//! # zkinfer-conformance: one harness for the peer corpus
//!
//! [`run_model`] takes a model directory in the peer-corpus layout (`network.onnx`,
//! `input.json`, optional `float_output.json`), quantizes it calibrated on its own input,
//! compiles, proves, verifies, and compares the **proven** output (dequantized) with the float
//! reference (`float_output.json` from onnxruntime, else zkinfer's own float run of the
//! graph). The example `conformance` writes docs/CONFORMANCE.md; the crate's test runs a fast
//! subset in CI.

use std::path::Path;
use std::time::Instant;

use zkinfer_model::{quant, InputFile, QuantConfig};

/// Relative tolerance `|proven − ref| / (1 + |ref|)` for "honest fidelity".
pub const TOLERANCE: f64 = 2e-2;

/// What happened to one model.
#[derive(Clone, Debug)]
pub enum Status {
    /// Proven and verified, output within [`TOLERANCE`] of the reference (and argmax agrees).
    Verified,
    /// Proven and verified, but the quantized output is further from the float reference.
    Fidelity,
    /// A stage failed; the message says which and why.
    Failed {
        /// `load`, `input`, `quantize`, `compile`, `prove`, `verify`.
        stage: &'static str,
        /// The error.
        message: String,
    },
}

/// Per-model result.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Model name (directory name).
    pub name: String,
    /// Result.
    pub status: Status,
    /// Max |proven − ref|.
    pub max_abs: f64,
    /// Max |proven − ref| / (1 + |ref|).
    pub max_rel: f64,
    /// Argmax of the (first) output agrees with the reference (None for outputs of length 1).
    pub argmax: Option<bool>,
    /// Where the reference came from.
    pub reference: &'static str,
    /// Proof file bytes.
    pub proof_bytes: usize,
    /// Compile (commit weights) time, ms.
    pub compile_ms: f64,
    /// Prove time (integer run + proof), ms.
    pub prove_ms: f64,
    /// Verifying-key check (parameters, weight-range proof; once per key), ms.
    pub key_ms: f64,
    /// Verify time (the key already checked), ms.
    pub verify_ms: f64,
}

fn reference(dir: &Path) -> Option<Vec<Vec<f64>>> {
    let text = std::fs::read_to_string(dir.join("float_output.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("output_data")?
        .as_array()?
        .iter()
        .map(|o| {
            o.as_array()
                .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        })
        .collect()
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Loads a corpus model and its calibration samples as the harness does (the stage that
/// failed and why on error).
#[allow(clippy::type_complexity)]
pub fn load_model(
    dir: &Path,
) -> Result<(zkinfer_model::graph::FloatGraph, Vec<Vec<Vec<f32>>>), (&'static str, String)> {
    let file = InputFile::read(&dir.join("input.json")).map_err(|e| ("input", e.to_string()))?;
    // The CLI's reader: same selection of arrays and shapes, same errors.
    let (g, inp) = zkinfer_onnx::load_path_for_input(&dir.join("network.onnx"), &file).map_err(
        |e| match e {
            zkinfer_onnx::LoadError::Input(e) => ("input", e.to_string()),
            e => ("load", e.to_string()),
        },
    )?;
    let sizes: Vec<usize> = g
        .inputs
        .iter()
        .map(|i| g.tensors[i.0].shape.iter().product())
        .collect();
    let samples = inp.samples(&sizes).map_err(|e| ("input", e.to_string()))?;
    Ok((g, samples))
}

/// Runs compile → prove → verify on one model directory.
pub fn run_model(dir: &Path) -> Outcome {
    let name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Outcome {
        name,
        status: Status::Verified,
        max_abs: f64::NAN,
        max_rel: f64::NAN,
        argmax: None,
        reference: "none",
        proof_bytes: 0,
        compile_ms: 0.0,
        prove_ms: 0.0,
        key_ms: 0.0,
        verify_ms: 0.0,
    };
    let fail = |mut out: Outcome, stage: &'static str, e: String| {
        out.status = Status::Failed { stage, message: e };
        out
    };
    let (g, samples) = match load_model(dir) {
        Ok(v) => v,
        Err((stage, e)) => return fail(out, stage, e),
    };
    let q = match quant::quantize(&g, &samples, &QuantConfig::default()) {
        Ok(q) => q,
        Err(e) => return fail(out, "quantize", e.to_string()),
    };
    let t = Instant::now();
    let pk = match zkinfer_prover::compile(q) {
        Ok(pk) => pk,
        Err(e) => return fail(out, "compile", e.to_string()),
    };
    out.compile_ms = ms(t);
    let t = Instant::now();
    let inputs: Vec<Vec<i64>> = pk
        .graph
        .inputs
        .iter()
        .zip(&samples[0])
        .map(|(id, x)| pk.graph.quantize_input(*id, x))
        .collect();
    let proof = match zkinfer_prover::prove(&pk, &inputs) {
        Ok(p) => p,
        Err(e) => return fail(out, "prove", e.to_string()),
    };
    out.prove_ms = ms(t);
    let bytes = proof.to_bytes();
    out.proof_bytes = bytes.len();
    let t = Instant::now();
    if let Err(e) = zkinfer_prover::check_key(&pk.vk) {
        return fail(out, "verify", format!("verifying key: {e}"));
    }
    out.key_ms = ms(t);
    let t = Instant::now();
    let checked = zkinfer_prover::ModelProof::from_bytes(&bytes)
        .and_then(|p| zkinfer_prover::verify(&pk.vk, &p).map(|()| p));
    out.verify_ms = ms(t);
    let proof = match checked {
        Ok(p) => p,
        Err(e) => return fail(out, "verify", e.to_string()),
    };
    let proven: Vec<Vec<f64>> = pk
        .vk
        .graph
        .outputs
        .iter()
        .zip(&proof.outputs)
        .map(|(id, q)| {
            pk.vk
                .graph
                .dequantize(*id, q)
                .into_iter()
                .map(f64::from)
                .collect()
        })
        .collect();
    let refs = match reference(dir) {
        Some(r) => {
            out.reference = "onnxruntime";
            r
        }
        None => match zkinfer_model::eval(&g, &samples[0]) {
            Ok(r) => {
                out.reference = "tract-float";
                r.into_iter()
                    .map(|v| v.into_iter().map(f64::from).collect())
                    .collect()
            }
            Err(e) => return fail(out, "reference", e.to_string()),
        },
    };
    if refs.len() != proven.len() || refs.iter().zip(&proven).any(|(a, b)| a.len() != b.len()) {
        return fail(
            out,
            "reference",
            "output shapes differ from the reference".into(),
        );
    }
    let (mut abs, mut rel) = (0f64, 0f64);
    for (p, r) in proven.iter().zip(&refs) {
        for (&a, &b) in p.iter().zip(r) {
            abs = abs.max((a - b).abs());
            rel = rel.max((a - b).abs() / (1.0 + b.abs()));
        }
    }
    out.max_abs = abs;
    out.max_rel = rel;
    if refs[0].len() > 1 {
        out.argmax = Some(argmax(&proven[0]) == argmax(&refs[0]));
    }
    if rel.is_nan() || rel > TOLERANCE || out.argmax == Some(false) {
        out.status = Status::Fidelity;
    }
    out
}

/// The markdown table of a run.
pub fn markdown(outcomes: &[Outcome]) -> String {
    let mut s = String::from(
        "| model | result | max abs err | max rel err | argmax | reference | proof bytes | compile ms | prove ms | key check ms | verify ms |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        let (res, detail) = match &o.status {
            Status::Verified => ("verified".to_string(), true),
            Status::Fidelity => ("verified, fidelity problem".to_string(), true),
            Status::Failed { stage, message } => (
                format!(
                    "{stage}: {}",
                    message.replace('|', "\\|").replace('\n', " ")
                ),
                false,
            ),
        };
        if detail {
            s += &format!(
                "| {} | {} | {:.2e} | {:.2e} | {} | {} | {} | {:.0} | {:.0} | {:.1} | {:.1} |\n",
                o.name,
                res,
                o.max_abs,
                o.max_rel,
                o.argmax.map_or("-", |a| if a { "yes" } else { "NO" }),
                o.reference,
                o.proof_bytes,
                o.compile_ms,
                o.prove_ms,
                o.key_ms,
                o.verify_ms
            );
        } else {
            s += &format!("| {} | {} | | | | | | | | | |\n", o.name, res);
        }
    }
    s
}
