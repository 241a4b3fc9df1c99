//! `zkinfer inspect`: summary of an ONNX model, an LLM checkpoint (a Hugging Face directory or
//! a GGUF file), a compiled model, a verifying key or a proof (model or generation).
//! zkinfer files are recognised by their envelope (`ZKIF` magic, then a 4-byte kind and a
//! little-endian u16 version), GGUF by its magic; anything else is read as ONNX.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};
use zkinfer_model::quant::QTensorKind;
use zkinfer_model::{FloatTensorKind, InputFile, QuantizedGraph};
use zkinfer_prover::{ModelProof, ProvingKey, VerifyingKey};
use zkinfer_transcript::MAGIC;

use crate::common::{self, hex, human_bytes};

/// Options of `zkinfer inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// An ONNX model, an LLM checkpoint (HF directory or .gguf), a compiled model (model.zkm),
    /// a verifying key (model.vk) or a proof.
    file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Summary of an LLM checkpoint (an HF directory or a GGUF file): what `compile` would see.
fn checkpoint_summary(path: &Path, kind: &str) -> Result<Value> {
    let ck = zkinfer_llm::Checkpoint::open(path)
        .with_context(|| format!("cannot load LLM checkpoint {}", path.display()))?;
    let c = &ck.config;
    Ok(json!({
        "kind": kind,
        "architecture": c.arch.name(),
        "parameters": c.parameters(),
        "layers": c.layers,
        "hidden": c.hidden,
        "heads": c.heads,
        "kv_heads": c.kv_heads,
        "head_dim": c.head_dim,
        "intermediate": c.intermediate,
        "vocab": c.vocab,
        "max_positions": c.max_positions,
        "sliding_window": c.sliding_window,
        "local_layers": c.local_layers.iter().filter(|&&l| l).count(),
        "tied_head": c.tied,
        "tensors": ck.weights.names().len(),
        "tokenizer_vocab": ck.tokenizer.vocab_size(),
        "eos": ck.eos_ids(),
        "supported": "yes: every switch of this configuration is implemented (compile --hf/--gguf)",
    }))
}

/// The LLM part of a key, if it has one.
fn llm_summary(vk: &VerifyingKey) -> Option<Value> {
    let m = zkinfer_generation::LlmMeta::from_vk(vk).ok()?;
    Some(json!({
        "architecture": m.arch,
        "parameters": m.parameters,
        "context": m.context,
        "new_tokens": m.new_tokens,
        "vocab": m.vocab,
        "eos": m.eos,
    }))
}

pub fn run(args: &InspectArgs) -> Result<()> {
    if args.file.is_dir() {
        let mut v = checkpoint_summary(&args.file, "hf checkpoint")?;
        v["file"] = json!(args.file.display().to_string());
        if args.json {
            println!("{v}");
        } else {
            print_checkpoint(&v);
        }
        return Ok(());
    }
    let bytes = common::read_file(&args.file, "file")?;
    if bytes.starts_with(b"GGUF") {
        let mut v = checkpoint_summary(&args.file, "gguf checkpoint")?;
        v["file"] = json!(args.file.display().to_string());
        v["file_bytes"] = json!(bytes.len());
        if args.json {
            println!("{v}");
        } else {
            print_checkpoint(&v);
        }
        return Ok(());
    }
    let v = if bytes.len() >= 10 && bytes[..4] == MAGIC {
        let kind = [bytes[4], bytes[5], bytes[6], bytes[7]];
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        match &kind {
            b"ZKMD" => {
                let (graph, vk) = ProvingKey::decode_unchecked(&bytes)
                    .with_context(|| format!("cannot decode model {}", args.file.display()))?;
                let mut v = graph_summary(&graph, &vk);
                v["kind"] = json!("model");
                v["llm"] = json!(llm_summary(&vk));
                v
            }
            b"ZKVK" => {
                let vk = VerifyingKey::from_bytes(&bytes).with_context(|| {
                    format!("cannot decode verifying key {}", args.file.display())
                })?;
                let mut v = graph_summary(&vk.graph, &vk);
                v["kind"] = json!("verifying key");
                v["llm"] = json!(llm_summary(&vk));
                v
            }
            b"ZKPF" => {
                let p = ModelProof::from_bytes(&bytes)
                    .with_context(|| format!("cannot decode proof {}", args.file.display()))?;
                json!({
                    "kind": "proof",
                    "inputs": p.inputs.iter().map(Vec::len).collect::<Vec<_>>(),
                    "outputs": p.outputs.iter().map(Vec::len).collect::<Vec<_>>(),
                    "transcript_bytes": p.transcript.len(),
                })
            }
            k if *k == zkinfer_generation::GEN_KIND => {
                let p =
                    zkinfer_generation::GenerationProof::from_bytes(&bytes).with_context(|| {
                        format!("cannot decode generation proof {}", args.file.display())
                    })?;
                json!({
                    "kind": "generation proof",
                    "prompt_tokens": p.statement.prompt,
                    "generated_tokens": p.statement.generated,
                    "max_new_tokens": p.statement.max_new_tokens,
                    "transcript_bytes": p.transcript.len(),
                })
            }
            _ => bail!(
                "{}: zkinfer file of unknown kind {:?} (version {version})",
                args.file.display(),
                String::from_utf8_lossy(&kind)
            ),
        }
    } else {
        onnx_summary(&args.file).with_context(|| {
            let onnx = args
                .file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
            if onnx {
                format!("cannot load ONNX model {}", args.file.display())
            } else {
                format!(
                    "{} is not a zkinfer file (no ZKIF magic) and cannot be read as ONNX",
                    args.file.display()
                )
            }
        })?
    };
    let mut v = v;
    v["file"] = json!(args.file.display().to_string());
    v["file_bytes"] = json!(bytes.len());
    if args.json {
        println!("{v}");
    } else {
        print_human(&v);
    }
    Ok(())
}

fn graph_summary(g: &QuantizedGraph, vk: &VerifyingKey) -> Value {
    let mut ops: BTreeMap<String, usize> = BTreeMap::new();
    for n in &g.nodes {
        *ops.entry(n.op.name()).or_default() += 1;
    }
    let weights: usize = g
        .tensors
        .iter()
        .filter(|t| matches!(t.kind, QTensorKind::Const(_)))
        .map(|t| t.shape.iter().product::<usize>())
        .sum();
    let consts = g
        .tensors
        .iter()
        .filter(|t| matches!(t.kind, QTensorKind::Const(_)))
        .count();
    let io = |ids: &[zkinfer_model::TensorId]| -> Vec<Value> {
        ids.iter()
            .map(|i| {
                let t = &g.tensors[i.0];
                json!({ "name": t.name, "shape": t.shape, "frac": t.frac })
            })
            .collect()
    };
    json!({
        "commitment": vk.commitment().ok().map(|c| hex(&c)),
        "weight_roots": vk.weight_groups.iter().map(|w| hex(&w.root)).collect::<Vec<_>>(),
        "nodes": g.nodes.len(),
        "ops": ops,
        "tensors": g.tensors.len(),
        "constants": consts,
        "weights": weights,
        "tables": g.tables.len(),
        "table_rows": g.table_rows(),
        "act_bits": g.config.act_bits,
        "weight_bits": g.config.weight_bits,
        "inputs": io(&g.inputs),
        "outputs": io(&g.outputs),
    })
}

fn onnx_summary(path: &Path) -> Result<Value> {
    // Input shapes as `compile` would use them when calibrating on a sibling input.json.
    let sibling = path
        .parent()
        .map(|d| d.join("input.json"))
        .filter(|p| p.is_file());
    let shapes = sibling
        .as_ref()
        .and_then(|p| InputFile::read(p).ok())
        .and_then(|f| f.shapes);
    let g = zkinfer_onnx::load_path(path, shapes.as_deref())?;
    let mut ops: BTreeMap<String, usize> = BTreeMap::new();
    for n in &g.nodes {
        *ops.entry(n.op.name()).or_default() += 1;
    }
    let params: usize = g
        .tensors
        .iter()
        .map(|t| match &t.kind {
            FloatTensorKind::Const(d) => d.len(),
            _ => 0,
        })
        .sum();
    let io = |ids: &[zkinfer_model::TensorId]| -> Vec<Value> {
        ids.iter()
            .map(|i| {
                let t = &g.tensors[i.0];
                json!({ "name": t.name, "shape": t.shape })
            })
            .collect()
    };
    Ok(json!({
        "kind": "onnx",
        "input_shapes_from": shapes.as_ref().and(sibling.as_ref()).map(|p| p.display().to_string()),
        "nodes": g.nodes.len(),
        "ops": ops,
        "tensors": g.tensors.len(),
        "params": params,
        "inputs": io(&g.inputs),
        "outputs": io(&g.outputs),
    }))
}

fn print_checkpoint(v: &Value) {
    println!(
        "{}: {}",
        v["file"].as_str().unwrap_or("?"),
        v["kind"].as_str().unwrap_or("?")
    );
    if let Some(o) = v.as_object() {
        for (k, x) in o {
            if k != "file" && k != "kind" {
                println!("  {k:<16} {x}");
            }
        }
    }
}

fn print_human(v: &Value) {
    let s = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    let kind = s("kind");
    println!(
        "{}: {}",
        s("file").as_str().unwrap_or("?"),
        kind.as_str().unwrap_or("?")
    );
    let bytes = s("file_bytes").as_u64().unwrap_or(0);
    println!("  size        {}", human_bytes(bytes));
    if kind == "generation proof" {
        for key in [
            "prompt_tokens",
            "generated_tokens",
            "max_new_tokens",
            "transcript_bytes",
        ] {
            println!("  {key:<16} {}", s(key));
        }
        return;
    }
    if let Some(l) = v.get("llm").filter(|l| !l.is_null()) {
        println!("  llm         {l}");
    }
    if kind == "proof" {
        println!("  inputs      {} (lengths)", s("inputs"));
        println!("  outputs     {} (lengths)", s("outputs"));
        println!("  transcript  {} bytes", s("transcript_bytes"));
        return;
    }
    for key in ["commitment", "input_shapes_from"] {
        if let Some(x) = v.get(key).and_then(Value::as_str) {
            println!("  {key:<11} {x}");
        }
    }
    if let Some(roots) = v.get("weight_roots").and_then(Value::as_array) {
        println!("  weights in  {} commitment group(s)", roots.len());
    }
    println!("  nodes       {}", s("nodes"));
    if let Some(ops) = v.get("ops").and_then(Value::as_object) {
        for (op, n) in ops {
            println!("    {op:<24} {n}");
        }
    }
    println!("  tensors     {}", s("tensors"));
    if kind == "onnx" {
        println!("  params      {}", s("params"));
    } else {
        println!(
            "  weights     {} in {} constants",
            s("weights"),
            s("constants")
        );
        println!("  tables      {} ({} rows)", s("tables"), s("table_rows"));
        println!(
            "  bits        activations {}, weights {}",
            s("act_bits"),
            s("weight_bits")
        );
    }
    for key in ["inputs", "outputs"] {
        if let Some(list) = v.get(key).and_then(Value::as_array) {
            for (i, t) in list.iter().enumerate() {
                let frac = t
                    .get("frac")
                    .map(|f| format!(", frac {f}"))
                    .unwrap_or_default();
                let label = format!("{} {i}", &key[..key.len() - 1]);
                println!(
                    "  {label:<11} {} {}{frac}",
                    t.get("name").and_then(Value::as_str).unwrap_or("?"),
                    t.get("shape").cloned().unwrap_or(Value::Null),
                );
            }
        }
    }
}
