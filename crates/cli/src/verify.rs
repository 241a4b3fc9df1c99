//! `zkinfer verify`: checks a proof against a verifying key; exit status 0 iff valid.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use zkinfer_prover::{ModelProof, VerifyingKey};

use crate::common::{self, hex, ms_since};

/// Options of `zkinfer verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The proof file.
    proof: PathBuf,
    /// The verifying key (model.vk).
    #[arg(long, value_name = "model.vk")]
    vk: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

struct Verified {
    vk: VerifyingKey,
    proof: ModelProof,
    load_ms: f64,
    key_ms: f64,
    verify_ms: f64,
}

fn check(args: &VerifyArgs) -> Result<Verified> {
    let t = Instant::now();
    let vk_bytes = common::read_file(&args.vk, "verifying key")?;
    let vk = VerifyingKey::from_bytes(&vk_bytes)
        .with_context(|| format!("cannot load verifying key {}", args.vk.display()))?;
    if vk.to_bytes() != vk_bytes {
        bail!(
            "cannot load verifying key {}: not canonically encoded (trailing or altered bytes)",
            args.vk.display()
        );
    }
    let proof_bytes = common::read_file(&args.proof, "proof")?;
    let proof = ModelProof::from_bytes(&proof_bytes)
        .with_context(|| format!("invalid proof file {}", args.proof.display()))?;
    // The decoder ignores trailing bytes; accept exactly one encoding of each proof.
    if proof.to_bytes() != proof_bytes {
        bail!(
            "invalid proof file {}: not canonically encoded (trailing or altered bytes)",
            args.proof.display()
        );
    }
    let load_ms = ms_since(t);
    // The key on its own first (parameters, field safety, the weight-range proof): a bad key
    // is reported as such, and its one-time cost is timed apart from the proof's.
    let t = Instant::now();
    zkinfer_prover::check_key(&vk)
        .with_context(|| format!("invalid verifying key {}", args.vk.display()))?;
    let key_ms = ms_since(t);
    let t = Instant::now();
    zkinfer_prover::verify(&vk, &proof).context("invalid proof")?;
    let verify_ms = ms_since(t);
    Ok(Verified {
        vk,
        proof,
        load_ms,
        key_ms,
        verify_ms,
    })
}

/// A verified LLM generation.
struct VerifiedGen {
    v: zkinfer_generation::Verified,
    load_ms: f64,
    key_ms: f64,
    verify_ms: f64,
}

fn check_generation(args: &VerifyArgs, proof_bytes: &[u8]) -> Result<VerifiedGen> {
    let t = Instant::now();
    let vk_bytes = common::read_file(&args.vk, "verifying key")?;
    let vk = VerifyingKey::from_bytes(&vk_bytes)
        .with_context(|| format!("cannot load verifying key {}", args.vk.display()))?;
    if vk.to_bytes() != vk_bytes {
        bail!(
            "cannot load verifying key {}: not canonically encoded (trailing or altered bytes)",
            args.vk.display()
        );
    }
    let proof = zkinfer_generation::GenerationProof::from_bytes(proof_bytes)
        .with_context(|| format!("invalid proof file {}", args.proof.display()))?;
    let load_ms = ms_since(t);
    let t = Instant::now();
    zkinfer_prover::check_key(&vk)
        .with_context(|| format!("invalid verifying key {}", args.vk.display()))?;
    let key_ms = ms_since(t);
    let t = Instant::now();
    let v = zkinfer_generation::verify(&vk, &proof).context("invalid proof")?;
    Ok(VerifiedGen {
        v,
        load_ms,
        key_ms,
        verify_ms: ms_since(t),
    })
}

fn run_generation(args: &VerifyArgs, proof_bytes: &[u8]) -> ExitCode {
    match check_generation(args, proof_bytes) {
        Ok(r) => {
            let s = &r.v.statement;
            let stop = match r.v.stop {
                zkinfer_generation::Stop::Length => "length",
                zkinfer_generation::Stop::Eos => "eos",
            };
            let commitment = hex(&r.v.commitment);
            let masked = zkinfer_prover::transcript_is_masked(&proof_transcript(proof_bytes));
            if args.json {
                let o = json!({
                    "valid": true,
                    "commitment": commitment,
                    "prompt": r.v.prompt_text,
                    "prompt_tokens": s.prompt,
                    "generated_tokens": s.generated,
                    "text": r.v.text,
                    "max_new_tokens": s.max_new_tokens,
                    "stop": stop,
                    "masked_sumchecks": masked,
                    "timings_ms": { "load": r.load_ms, "key_check": r.key_ms, "verify": r.verify_ms },
                    "peak_rss_bytes": common::peak_rss_bytes(),
                });
                println!("{o}");
            } else {
                println!("valid proof of greedy generation by model {commitment}");
                println!("prompt ({} tokens): {:?}", s.prompt.len(), r.v.prompt_text);
                println!(
                    "generated ({} of at most {} tokens, stopped at {stop}): {:?}",
                    s.generated.len(),
                    s.max_new_tokens,
                    r.v.text
                );
                print_mode(masked);
                println!(
                    "  load {:.1} ms, key check (weight ranges, once per key) {:.1} ms, verify {:.1} ms",
                    r.load_ms, r.key_ms, r.verify_ms
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(args, e),
    }
}

/// The transcript of a generation proof file that verified (empty if it does not decode).
fn proof_transcript(bytes: &[u8]) -> Vec<u8> {
    zkinfer_generation::GenerationProof::from_bytes(bytes)
        .map(|p| p.transcript)
        .unwrap_or_default()
}

fn print_mode(masked: bool) {
    if masked {
        println!(
            "proof kind: masked sumchecks (experimental; NOT zero-knowledge yet: the verified \
             values above are public, and the proof still reveals information about the \
             weights and intermediate values, docs/ZK.md)"
        );
    } else {
        println!("proof kind: plain (not zero-knowledge: reveals information about the weights and intermediate values)");
    }
}

fn fail(args: &VerifyArgs, e: anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    if args.json {
        let o = json!({
            "valid": false,
            "error": format!("{e:#}"),
            "peak_rss_bytes": common::peak_rss_bytes(),
        });
        println!("{o}");
    }
    ExitCode::FAILURE
}

pub fn run(args: &VerifyArgs) -> ExitCode {
    if let Ok(bytes) = std::fs::read(&args.proof) {
        if bytes.len() >= 8 && bytes[4..8] == zkinfer_generation::GEN_KIND {
            return run_generation(args, &bytes);
        }
    }
    match check(args) {
        Ok(v) => {
            let g = &v.vk.graph;
            let outs = common::dequantize_outputs(g, &v.proof.outputs);
            let shapes = common::output_shapes(g);
            let commitment =
                v.vk.commitment()
                    .map(|c| hex(&c))
                    .unwrap_or_else(|e| format!("<{e}>"));
            let masked = zkinfer_prover::transcript_is_masked(&v.proof.transcript);
            if args.json {
                let o = json!({
                    "valid": true,
                    "commitment": commitment,
                    "output": common::outputs_json(&outs),
                    "output_shapes": shapes,
                    "masked_sumchecks": masked,
                    "timings_ms": { "load": v.load_ms, "key_check": v.key_ms, "verify": v.verify_ms },
                    "peak_rss_bytes": common::peak_rss_bytes(),
                });
                println!("{o}");
            } else {
                println!("valid proof for model {commitment}");
                println!("verified output (dequantized):");
                common::print_outputs(&outs, &shapes);
                print_mode(masked);
                println!(
                    "  load {:.1} ms, key check (weight ranges, once per key) {:.1} ms, verify {:.1} ms",
                    v.load_ms, v.key_ms, v.verify_ms
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(args, e),
    }
}
