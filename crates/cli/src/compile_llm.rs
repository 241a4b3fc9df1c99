//! `zkinfer compile --hf DIR | --gguf FILE`: an LLM checkpoint → a key proving greedy
//! generation over a fixed context, with a teacher-forced fidelity report.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::json;
use zkinfer_generation::{compile, CompileOptions, Stage};
use zkinfer_llm::Checkpoint;
use zkinfer_model::QuantConfig;

use crate::common::{self, hex, human_bytes, ms_since, Spinner};
use crate::compile::CompileArgs;

/// Opens the checkpoint named by `--hf` or `--gguf`.
pub fn open_checkpoint(hf: Option<&Path>, gguf: Option<&Path>) -> Result<Checkpoint> {
    match (hf, gguf) {
        (Some(d), None) => Checkpoint::open_hf(d)
            .with_context(|| format!("cannot load Hugging Face checkpoint {}", d.display())),
        (None, Some(f)) => Checkpoint::open_gguf(f)
            .with_context(|| format!("cannot load GGUF checkpoint {}", f.display())),
        _ => bail!("give exactly one of --hf DIR and --gguf FILE"),
    }
}

pub fn run(args: &CompileArgs) -> Result<()> {
    let t_total = Instant::now();
    if args.out.exists() && !args.out.is_dir() {
        bail!(
            "output {} exists and is not a directory",
            args.out.display()
        );
    }
    let visible = !args.quiet && !args.json;
    let t = Instant::now();
    let ck = {
        let _s = Spinner::start(visible, "reading the checkpoint");
        open_checkpoint(args.hf.as_deref(), args.gguf.as_deref())?
    };
    let open_ms = ms_since(t);
    let mut opts = CompileOptions::new(args.context, args.new_tokens);
    opts.quant = QuantConfig {
        act_bits: args.bits,
        weight_bits: args.weight_bits,
        ..QuantConfig::default()
    };
    if let Some(p) = &args.calibration_text {
        opts.calibration_text = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read calibration text {}", p.display()))?;
    }
    let mut times: Vec<(Stage, f64)> = Vec::new();
    let mut spinner = Spinner::start(false, "");
    let mut started = Instant::now();
    let mut current: Option<Stage> = None;
    let (pk, report) = compile(&ck, &opts, &mut |s| {
        if let Some(c) = current.take() {
            times.push((c, ms_since(started)));
        }
        spinner = Spinner::start(false, ""); // drop the previous one first
        let msg = match s {
            Stage::Load => "building the pass graph (reading every weight)",
            Stage::Quantize => "calibrating and quantizing",
            Stage::Fidelity => "measuring teacher-forced fidelity",
            Stage::Commit => "committing the weights",
        };
        spinner = Spinner::start(visible, msg);
        started = Instant::now();
        current = Some(s);
    })
    .context("LLM compile failed")?;
    if let Some(c) = current.take() {
        times.push((c, ms_since(started)));
    }
    drop(spinner);
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
    let stage_ms = |s: Stage| times.iter().find(|x| x.0 == s).map_or(0.0, |x| x.1);
    let cfg = &ck.config;
    if args.json {
        let o = json!({
            "commitment": commitment,
            "architecture": cfg.arch.name(),
            "parameters": cfg.parameters(),
            "context": args.context,
            "new_tokens": args.new_tokens,
            "act_bits": args.bits,
            "weight_bits": args.weight_bits,
            "zkm": zkm_path.display().to_string(),
            "vk": vk_path.display().to_string(),
            "zkm_bytes": zkm.len(),
            "vk_bytes": vk.len(),
            "nodes": pk.graph.nodes.len(),
            "fidelity": report,
            "timings_ms": {
                "open": open_ms,
                "build": stage_ms(Stage::Load),
                "quantize": stage_ms(Stage::Quantize),
                "fidelity": stage_ms(Stage::Fidelity),
                "commit": stage_ms(Stage::Commit),
                "total": total_ms,
            },
            "peak_rss_bytes": rss,
        });
        println!("{o}");
    } else {
        println!("model commitment: {commitment}");
        println!(
            "  {} ({} parameters), proven pass: {} positions, up to {} new tokens, {}-bit activations, {}-bit weights",
            cfg.arch.name(),
            cfg.parameters(),
            args.context,
            args.new_tokens,
            args.bits,
            args.weight_bits
        );
        println!("  {report}");
        println!(
            "  open {open_ms:.0} ms, build {:.0} ms, quantize {:.0} ms, fidelity {:.0} ms, commit {:.0} ms, total {total_ms:.0} ms",
            stage_ms(Stage::Load),
            stage_ms(Stage::Quantize),
            stage_ms(Stage::Fidelity),
            stage_ms(Stage::Commit)
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
