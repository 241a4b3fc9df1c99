//! Times zkinfer's integer generation alone (no proof) on a compiled LLM (`model.zkm`): a
//! whole pass without and with packed weights (checked equal), the packing, then one-row
//! steps as `generate` takes them.
//!
//! `cargo run --release -p zkinfer-generation --example integer_steps -- MODEL.zkm [STEPS]`

use std::time::Instant;
use zkinfer_generation::statement::{pass_layout, quantize_pass};
use zkinfer_generation::LlmMeta;
use zkinfer_model::quant::rows::{RowPlan, RowRun};
use zkinfer_model::quant::{run_quantized_strict, run_quantized_strict_packed, PackedWeights};
use zkinfer_prover::ProvingKey;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: integer_steps MODEL.zkm [STEPS]")?;
    let t = Instant::now();
    let (g, vk) = ProvingKey::decode_unchecked(&std::fs::read(path)?)?;
    let meta = LlmMeta::from_vk(&vk)?;
    println!("load {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let steps: usize = match args.get(2) {
        Some(s) => s.parse()?,
        None => meta.new_tokens - 1,
    };
    let prompt_len = meta.context - meta.new_tokens;
    let prompt: Vec<u32> = (0..prompt_len as u32).map(|i| 100 + 7 * i).collect();
    let plan = RowPlan::new(&g, &[0, 0]).map_err(|e| format!("no row plan: {e}"))?;
    let (ids, emit) = pass_layout(&meta, &prompt, &[])?;
    let q = quantize_pass(&g, &ids, &emit)?;
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let plain = run_quantized_strict(&g, &q)?;
    println!("whole pass, unpacked {:.0} ms", ms(t));
    let t = Instant::now();
    let packed = PackedWeights::new(&g);
    println!("pack {} weights {:.0} ms", packed.count(), ms(t));
    let t = Instant::now();
    let same = run_quantized_strict_packed(&g, &q, &packed)?;
    println!("whole pass, packed {:.0} ms", ms(t));
    if same != plain {
        return Err("packed and unpacked runs differ".into());
    }
    drop((packed, plain, same));
    let t = Instant::now();
    let mut run = RowRun::start(&g, plan, &q)?;
    println!("start (pack + whole pass) {:.0} ms", ms(t));
    let mut fed = Vec::new();
    let mut total = 0.0;
    for i in 0..steps.min(meta.new_tokens - 1) {
        fed.push(200 + i as u32);
        let (ids, emit) = pass_layout(&meta, &prompt, &fed)?;
        let q = quantize_pass(&g, &ids, &emit)?;
        let p = prompt_len + i;
        let t = Instant::now();
        run.step(&q, &[p..p + 1, i + 1..i + 2])?;
        let step = ms(t);
        total += step;
        println!("step {} {step:.1} ms", i + 1);
    }
    if steps > 0 {
        println!("mean step {:.1} ms", total / steps as f64);
    }
    Ok(())
}
