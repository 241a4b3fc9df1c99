//! Issue 11 report: which corpus models the quantizer would have given a requantization with
//! `s + A > 64` (the wrap-around forgery) before the shift cap, and which needed an operand gap
//! limited. With the cap a capped node has `s = 62 − A` and a multiplier below 2^14; its
//! uncapped shift is inferred from how far the multiplier fell below `2^14`.
//! `cargo run --release -p zkinfer-conformance --example shifts [NAME...]`

use std::path::PathBuf;

use zkinfer_model::quant::{self, bounds::max_requant_shift};
use zkinfer_model::QuantConfig;

fn main() {
    let root = PathBuf::from("../shared/peer-models/ezkl");
    let mut names: Vec<String> = std::env::args().skip(1).collect();
    if names.is_empty() {
        names = std::fs::read_dir(&root)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.path().join("network.onnx").exists())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
    }
    names.sort();
    let cfg = QuantConfig::default();
    let cap = max_requant_shift(cfg.act_bits);
    println!(
        "| model | largest uncapped shift | nodes with s + A > 64 before | gap-limited operands |"
    );
    println!("|---|---|---|---|");
    for n in &names {
        let Ok((g, samples)) = zkinfer_conformance::load_model(&root.join(n)) else {
            continue;
        };
        let Ok(q) = quant::quantize(&g, &samples, &cfg) else {
            continue;
        };
        let (mut worst, mut wrap) = (0u32, Vec::new());
        for node in &q.nodes {
            let Some(rq) = node.op.requant() else {
                continue;
            };
            let m = rq.max_multiplier().max(1);
            let orig = if rq.shift == cap {
                // M = round(r·2^cap) ≈ 2^(14 − (orig − cap)).
                cap + 14u32.saturating_sub(63 - m.leading_zeros())
            } else {
                rq.shift
            };
            worst = worst.max(orig);
            if orig + cfg.act_bits > 64 {
                wrap.push(format!("`{}` (s = {orig})", node.name));
            }
        }
        let gaps = q.nodes.iter().filter(|n| n.name.contains(".gap")).count();
        if !wrap.is_empty() || gaps > 0 || worst > 40 {
            println!("| {n} | {worst} | {} | {gaps} |", wrap.join(", "));
        }
    }
}
