//! One forward pass of a checkpoint, timed: the float graph (zkinfer's f32 evaluator) and the
//! quantized integer run (what `generate` runs per token and every proof starts with), after
//! quantizing on a few windows of the default calibration text. No weight commitment, so it
//! runs on checkpoints whose commitment does not fit memory yet (issue 13's full sizes).
//! Compare with `bench/llm.py`'s torch timing of the same pass.
//!
//! `cargo run --release -p zkinfer-generation --example passtime -- HF_DIR_OR_GGUF [L] [N]`

use std::path::PathBuf;
use std::time::Instant;

use zkinfer_generation::CompileOptions;
use zkinfer_llm::{build, Checkpoint};
use zkinfer_model::{eval, quant};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: passtime CHECKPOINT [L] [N]")?);
    let l: usize = args.next().map_or(Ok(32), |s| s.parse())?;
    let n: usize = args.next().map_or(Ok(16), |s| s.parse())?;
    let t = Instant::now();
    let ck = Checkpoint::open(&path)?;
    let lg = build(&ck.config, ck.weights.as_ref(), l, n)?;
    println!("load + build: {:.2} s", t.elapsed().as_secs_f64());
    let opts = CompileOptions::new(l, n);
    let ids = ck.tokenizer.encode(&opts.calibration_text)?;
    let window = |k: usize| -> Vec<Vec<f32>> {
        let w: Vec<f32> = ids.iter().skip(k * l).take(l).map(|&t| t as f32).collect();
        let pos: Vec<f32> = (0..n).map(|i| (l - n + i) as f32).collect();
        vec![w, pos]
    };
    let samples: Vec<_> = (0..2).map(window).collect();
    let t = Instant::now();
    let qg = quant::quantize(&lg.graph, &samples, &opts.quant)?;
    println!(
        "quantize (2 calibration passes): {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let x = window(2);
    let mut fl = Vec::new();
    let mut it = Vec::new();
    let (mut fo, mut tr) = (Vec::new(), None);
    for _ in 0..3 {
        let t = Instant::now();
        fo = eval::eval(&lg.graph, &x)?;
        fl.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        tr = Some(quant::run_strict(&qg, &x)?);
        it.push(t.elapsed().as_secs_f64());
    }
    // The logits of the unseen window: float against the dequantized integer run.
    let ql = qg
        .tensors
        .iter()
        .rposition(|t| t.float_id == Some(lg.logits))
        .map(zkinfer_model::TensorId)
        .ok_or("no quantized logits")?;
    let fl_all = zkinfer_model::eval_all(&lg.graph, &x)?;
    let q = qg.dequantize(ql, tr.as_ref().and_then(|t| t.get(ql)).unwrap_or(&[]));
    let f = &fl_all[lg.logits.0];
    let err = f
        .iter()
        .zip(&q)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    let top = f.iter().fold(0f32, |m, v| m.max(v.abs()));
    println!(
        "unseen window: max logit error {err:.4} (logits up to {top:.2}), {} outputs",
        fo.len()
    );
    // Where the error enters: each quantized activation against its float tensor, in graph
    // order; the first ten whose error exceeds 1 % of the tensor's range.
    let tr = tr.ok_or("no run")?;
    let mut shown = 0;
    for (id, t) in qg.tensors.iter().enumerate() {
        let Some(fid) = t.float_id else { continue };
        if !matches!(t.kind, zkinfer_model::quant::QTensorKind::Activation) || shown >= 10 {
            continue;
        }
        let fv = &fl_all[fid.0];
        let qv = qg.dequantize(zkinfer_model::TensorId(id), tr.value(&qg, id));
        if fv.len() != qv.len() || fv.is_empty() {
            continue;
        }
        let range = fv.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        let e = fv
            .iter()
            .zip(&qv)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        if e > 0.01 * range {
            println!(
                "  {:<40} error {e:.4} of range {range:.3} (frac {})",
                t.name, t.frac
            );
            shown += 1;
        }
    }
    println!(
        "pass of {l} positions emitting {n}: float {:.3} s, integer {:.3} s (median of 3)",
        median(fl),
        median(it)
    );
    Ok(())
}
