//! `zkinfer run`: integer inference with the quantized model, checked by the witness checker.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use zkinfer_model::quant;

use crate::common::{self, ms_since};

/// Options of `zkinfer run`.
#[derive(Args)]
pub struct RunArgs {
    /// The compiled model (model.zkm).
    model: PathBuf,
    /// Input (EZKL input.json; the first sample is used).
    #[arg(long, value_name = "IN.json")]
    input: PathBuf,
    /// Write the outputs here (`{"output_data": [[...]], "output_shapes": [[...]]}`).
    #[arg(short = 'o', long = "out", value_name = "OUT.json")]
    out: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &RunArgs) -> Result<()> {
    let t_total = Instant::now();
    let t = Instant::now();
    let bytes = common::read_file(&args.model, "model")?;
    let (graph, _vk) = zkinfer_prover::ProvingKey::decode_unchecked(&bytes)
        .with_context(|| format!("cannot load model {}", args.model.display()))?;
    let load_ms = ms_since(t);
    let g = &graph;
    let x = common::read_first_sample(&args.input, g)?;

    let t = Instant::now();
    let q = common::quantize_inputs(g, &x, true);
    let tr = quant::run_quantized(g, &q).context("integer inference failed")?;
    quant::check(g, &tr).context("witness check failed")?;
    let run_ms = ms_since(t);
    let outs_q: Vec<Vec<i64>> = g.outputs.iter().map(|o| tr.values[o.0].clone()).collect();
    let outs = common::dequantize_outputs(g, &outs_q);
    let shapes = common::output_shapes(g);

    if let Some(path) = &args.out {
        let doc = json!({ "output_data": outs, "output_shapes": shapes });
        common::write_atomic(path, format!("{doc}\n").as_bytes())?;
    }
    let total_ms = ms_since(t_total);
    if args.json {
        let o = json!({
            "output": common::outputs_json(&outs),
            "output_shapes": shapes,
            "timings_ms": { "load": load_ms, "run": run_ms, "total": total_ms },
            "peak_rss_bytes": common::peak_rss_bytes(),
        });
        println!("{o}");
    } else {
        println!("output (dequantized; integer run checked):");
        common::print_outputs(&outs, &shapes);
        println!("  load {load_ms:.1} ms, run {run_ms:.1} ms, total {total_ms:.1} ms");
        if let Some(path) = &args.out {
            println!("  wrote {}", path.display());
        }
    }
    Ok(())
}
