//! `zkinfer compile`: ONNX → quantized graph (calibrated) → committed keys `model.zkm` and
//! `model.vk`, with a fidelity report of the quantization.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use zkinfer_model::quant::QTensorKind;
use zkinfer_model::{quant, QuantConfig};

use crate::common::{self, hex, human_bytes, ms_since, Spinner};

/// Options of `zkinfer compile`.
#[derive(Args)]
pub struct CompileArgs {
    /// The ONNX model (or, for an LLM, use --hf or --gguf).
    #[arg(required_unless_present_any = ["hf", "gguf"])]
    model: Option<PathBuf>,
    /// A Hugging Face model directory (config.json, *.safetensors, tokenizer.json).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["model", "gguf", "calibration"])]
    pub hf: Option<PathBuf>,
    /// A GGUF checkpoint.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["model", "hf", "calibration"])]
    pub gguf: Option<PathBuf>,
    /// LLM: positions of the proven pass (prompt + new tokens − 1 must fit).
    #[arg(long, value_name = "L", default_value_t = 64)]
    pub context: usize,
    /// LLM: the most tokens one proof generates.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub new_tokens: usize,
    /// LLM: calibration text (default: the bundled English text).
    #[arg(long, value_name = "FILE")]
    pub calibration_text: Option<PathBuf>,
    /// Activation bits (lookup tables have 2^bits rows).
    #[arg(long, value_name = "A", default_value_t = 16)]
    pub bits: u32,
    /// Weight bits (per output channel).
    #[arg(long, value_name = "W", default_value_t = 12)]
    pub weight_bits: u32,
    /// Calibration inputs (EZKL input.json; several samples allowed). Default: `input.json`
    /// next to the model.
    #[arg(long, value_name = "CAL.json")]
    calibration: Option<PathBuf>,
    /// Output directory (receives model.zkm and model.vk).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// No progress spinner.
    #[arg(long)]
    pub quiet: bool,
}

/// The calibration file: the given one, or `input.json` next to the model.
fn calibration_path(args: &CompileArgs) -> Result<(PathBuf, bool)> {
    if let Some(c) = &args.calibration {
        return Ok((c.clone(), false));
    }
    let model = args.model.as_deref().unwrap_or(Path::new(""));
    let dir = model.parent().unwrap_or(Path::new(""));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let p = dir.join("input.json");
    if p.is_file() {
        Ok((p, true))
    } else {
        bail!(
            "no calibration data: pass --calibration CAL.json (an EZKL input.json), or put an \
             input.json next to the model (looked for {})",
            p.display()
        )
    }
}

pub fn run(args: &CompileArgs) -> Result<()> {
    if args.hf.is_some() || args.gguf.is_some() {
        return crate::compile_llm::run(args);
    }
    let Some(model) = args.model.as_deref() else {
        bail!("give an ONNX model, --hf DIR or --gguf FILE");
    };
    let t_total = Instant::now();
    let (cal_path, defaulted) = calibration_path(args)?;
    if args.out.exists() && !args.out.is_dir() {
        bail!(
            "output {} exists and is not a directory",
            args.out.display()
        );
    }
    if defaulted && !args.json {
        println!("calibrating on {}", cal_path.display());
    }
    let cal = common::read_input_file(&cal_path, "calibration file")?;

    let t = Instant::now();
    let (fg, cal) = match zkinfer_onnx::load_path_for_input(model, &cal) {
        Err(zkinfer_onnx::LoadError::Input(e)) => {
            bail!("calibration file {}: {e}", cal_path.display())
        }
        r => r.with_context(|| format!("cannot load ONNX model {}", model.display()))?,
    };
    let load_ms = ms_since(t);
    let sizes: Vec<usize> = fg
        .inputs
        .iter()
        .map(|i| fg.tensors[i.0].shape.iter().product())
        .collect();
    let samples = cal
        .samples(&sizes)
        .with_context(|| format!("calibration file {}", cal_path.display()))?;

    let t = Instant::now();
    let qc = QuantConfig {
        act_bits: args.bits,
        weight_bits: args.weight_bits,
        ..QuantConfig::default()
    };
    let qg = quant::quantize(&fg, &samples, &qc).context("quantization failed")?;
    // Refuse what cannot be proven before the fidelity runs and the weight commitment.
    zkinfer_prover::Plan::new(&qg).context("compile (proof plan) failed")?;
    let quantize_ms = ms_since(t);

    let t = Instant::now();
    // Every calibration sample must be provable: a requantization it saturates would make
    // `prove` fail on the very input the model was calibrated with.
    for (k, s) in samples.iter().enumerate() {
        let tr = quant::run_strict(&qg, s).with_context(|| {
            format!(
                "calibration sample {k} of {} cannot be proven at {} activation bits: the \
                 quantized model saturates on it (its activations exceed what the calibrated \
                 scales hold)",
                cal_path.display(),
                args.bits
            )
        })?;
        if k == 0 {
            quant::check(&qg, &tr).context("witness check on the first calibration sample")?;
        }
    }
    let fid = quant::fidelity(&fg, &qg, &samples).context("fidelity check failed")?;
    let fidelity_ms = ms_since(t);

    let (n_nodes, n_float_nodes, n_tables) = (qg.nodes.len(), fg.nodes.len(), qg.tables.len());
    let weights: usize = qg
        .tensors
        .iter()
        .map(|t| match &t.kind {
            QTensorKind::Const(d) => d.len(),
            _ => 0,
        })
        .sum();

    let t = Instant::now();
    let pk = {
        let _s = Spinner::start(!args.quiet && !args.json, "committing weights");
        zkinfer_prover::compile(qg).context("compile (weight commitment) failed")?
    };
    let commit_ms = ms_since(t);
    let zkm = pk.to_bytes();
    let vk = pk.vk.to_bytes();
    let commitment = hex(&pk.vk.commitment()?);

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output directory {}", args.out.display()))?;
    let zkm_path = args.out.join("model.zkm");
    let vk_path = args.out.join("model.vk");
    common::write_all_atomic(&[(&zkm_path, &zkm), (&vk_path, &vk)])?;
    let total_ms = ms_since(t_total);
    let rss = common::peak_rss_bytes();

    if args.json {
        let o = json!({
            "commitment": commitment,
            "calibration": cal_path.display().to_string(),
            "zkm": zkm_path.display().to_string(),
            "vk": vk_path.display().to_string(),
            "zkm_bytes": zkm.len(),
            "vk_bytes": vk.len(),
            "nodes": n_nodes,
            "float_nodes": n_float_nodes,
            "tables": n_tables,
            "weights": weights,
            "timings_ms": {
                "load": load_ms,
                "quantize": quantize_ms,
                "fidelity": fidelity_ms,
                "commit": commit_ms,
                "total": total_ms,
            },
            "peak_rss_bytes": rss,
            "fidelity": fid,
        });
        println!("{o}");
    } else {
        if !defaulted {
            println!(
                "calibration: {} ({} sample(s))",
                cal_path.display(),
                samples.len()
            );
        }
        println!("model commitment: {commitment}");
        println!(
            "  {n_float_nodes} float nodes -> {n_nodes} quantized nodes, {weights} weights, {n_tables} lookup tables"
        );
        println!("  {fid}");
        println!(
            "  load {load_ms:.1} ms, quantize {quantize_ms:.1} ms, fidelity {fidelity_ms:.1} ms, commit {commit_ms:.1} ms, total {total_ms:.1} ms"
        );
        println!(
            "  wrote {}: {}",
            zkm_path.display(),
            human_bytes(zkm.len() as u64)
        );
        println!(
            "  wrote {}: {}",
            vk_path.display(),
            human_bytes(vk.len() as u64)
        );
        if let Some(r) = rss {
            println!("  peak RSS {}", human_bytes(r));
        }
    }
    Ok(())
}
