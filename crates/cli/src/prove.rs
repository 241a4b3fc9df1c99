//! `zkinfer prove`: integer inference and its proof.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use zkinfer_model::quant;

use crate::common::{self, human_bytes, ms_since, Spinner};

/// Options of `zkinfer prove`.
#[derive(Args)]
pub struct ProveArgs {
    /// The compiled model (model.zkm).
    model: PathBuf,
    /// Input (EZKL input.json; the first sample is used).
    #[arg(long, value_name = "IN.json")]
    input: PathBuf,
    /// The proof file to write.
    #[arg(short = 'o', long = "out", value_name = "PROOF")]
    out: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// No progress spinner.
    #[arg(long)]
    quiet: bool,
    /// Experimental: mask every sumcheck of the walk and of the lookup argument (Libra-style
    /// masks under a hiding commitment). A step toward zero knowledge; the proof is NOT zero-knowledge yet
    /// (docs/ZK.md). `verify` accepts both kinds.
    #[arg(long)]
    masked_sumchecks: bool,
}

pub fn run(args: &ProveArgs) -> Result<()> {
    let t_total = Instant::now();
    let t = Instant::now();
    let pk = {
        let _s = Spinner::start(!args.quiet && !args.json, "loading model");
        common::load_pk(&args.model)?
    };
    let load_ms = ms_since(t);
    let g = &pk.graph;
    let x = common::read_first_sample(&args.input, g)?;

    let t = Instant::now();
    let q = common::quantize_inputs(g, &x, true);
    // Strict: a saturating requantization has no proof. Compile ran every calibration sample
    // strictly, so this input lies beyond the calibrated ranges.
    let tr = quant::run_quantized_strict(g, &q).map_err(|e| match e {
        zkinfer_model::ModelError::Saturated { .. } => anyhow::anyhow!(
            "integer inference failed: {e}; this input drives the model beyond the ranges \
             calibrated at compile (no proof exists for a clamped value): recompile with \
             inputs like it in the calibration file"
        ),
        e => anyhow::Error::new(e).context("integer inference failed"),
    })?;
    quant::check(g, &tr).context("witness check failed")?;
    let run_ms = ms_since(t);

    let t = Instant::now();
    let (proof, phases) = {
        let _s = Spinner::start(!args.quiet && !args.json, "proving");
        let opts = zkinfer_prover::ProveOptions {
            masked: args.masked_sumchecks,
        };
        zkinfer_prover::prove_trace_with(&pk, &tr, opts).context("proving failed")?
    };
    let prove_ms = ms_since(t);
    let bytes = proof.to_bytes();
    common::write_atomic(&args.out, &bytes)?;
    let total_ms = ms_since(t_total);

    let outs = common::dequantize_outputs(g, &proof.outputs);
    let shapes = common::output_shapes(g);
    let rss = common::peak_rss_bytes();
    if args.json {
        let o = json!({
            "output": common::outputs_json(&outs),
            "output_shapes": shapes,
            "proof": args.out.display().to_string(),
            "proof_bytes": bytes.len(),
            "timings_ms": { "load": load_ms, "run": run_ms, "prove": prove_ms, "total": total_ms },
            "prove_phases_ms": {
                "witness": phases.witness_ms,
                "commit": phases.commit_ms,
                "lookup": phases.lookup_ms,
                "walk": phases.walk_ms,
                "open": phases.open_ms,
                "witness_open": phases.witness_open_ms,
                "weight_open": phases.weight_open_ms,
                "weight_wait": phases.weight_wait_ms,
            },
            "peak_rss_bytes": rss,
        });
        println!("{o}");
    } else {
        println!("output (dequantized):");
        common::print_outputs(&outs, &shapes);
        println!(
            "  load {load_ms:.1} ms, run {run_ms:.1} ms, prove {prove_ms:.1} ms, total {total_ms:.1} ms"
        );
        println!(
            "  wrote {}: {}",
            args.out.display(),
            human_bytes(bytes.len() as u64)
        );
        if let Some(r) = rss {
            println!("  peak RSS {}", human_bytes(r));
        }
    }
    Ok(())
}
