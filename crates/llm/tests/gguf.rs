//! GGUF checkpoints (`examples/llm/<name>/model.gguf`, made from the Hugging Face fixtures by
//! `scripts/make_gguf.py` the way llama.cpp's converter does) against the Hugging Face
//! checkpoint and `transformers`' golden tokens: the same configuration, the same tensors
//! (exactly for F32 and BF16, within a quantization step for Q8_0), the same tokenizer, and the
//! same greedy tokens from the float graph.
//!
//! gpt2 is stored as F32, llama as Q8_0 (norms F32), gemma3 as BF16 (norms F32).

use std::path::{Path, PathBuf};

use zkinfer_llm::formats::gguf::{GgmlType, GgufWeights};
use zkinfer_llm::formats::WeightSource;
use zkinfer_llm::{build, pass_inputs, Checkpoint, LlmError};

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/llm")
        .join(name)
}

fn gguf(name: &str) -> PathBuf {
    dir(name).join("model.gguf")
}

/// Whether both the Hugging Face fixture and its GGUF are present (llama and gemma3 may not be).
fn present(name: &str) -> bool {
    let ok = dir(name).join("config.json").exists() && gguf(name).exists();
    if !ok {
        eprintln!("skipping {name}: no fixture");
    }
    ok
}

fn golden(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir(name).join("golden.json")).expect("golden.json");
    serde_json::from_str(&text).expect("json")
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("ids")
        .iter()
        .map(|x| x.as_u64().expect("id") as u32)
        .collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-30)
}

/// The configuration rebuilt from GGUF metadata computes what config.json describes.
fn same_config(name: &str) {
    let hf = Checkpoint::open(&dir(name)).expect("open HF").config;
    let gg = Checkpoint::open(&gguf(name)).expect("open GGUF").config;
    assert_eq!(
        (
            gg.arch,
            gg.vocab,
            gg.hidden,
            gg.layers,
            gg.heads,
            gg.kv_heads,
            gg.head_dim
        ),
        (
            hf.arch,
            hf.vocab,
            hf.hidden,
            hf.layers,
            hf.heads,
            hf.kv_heads,
            hf.head_dim
        ),
        "{name}: sizes"
    );
    assert_eq!(
        (
            gg.intermediate,
            gg.max_positions,
            gg.tied,
            gg.sliding_window,
            &gg.local_layers
        ),
        (
            hf.intermediate,
            hf.max_positions,
            hf.tied,
            hf.sliding_window,
            &hf.local_layers
        ),
        "{name}: structure"
    );
    assert_eq!(
        (gg.final_softcap, gg.bos, &gg.eos),
        (hf.final_softcap, hf.bos, &hf.eos),
        "{name}: ids"
    );
    // GGUF stores epsilons as f32
    assert!(
        close(gg.norm_eps, hf.norm_eps, 1e-6),
        "{name}: eps {} vs {}",
        gg.norm_eps,
        hf.norm_eps
    );
    assert!(
        close(gg.query_scale, hf.query_scale, 1e-12),
        "{name}: query scale"
    );
    for (g, h) in [
        (&gg.rope_global, &hf.rope_global),
        (&gg.rope_local, &hf.rope_local),
    ] {
        match (g, h) {
            (None, None) => {}
            (Some(g), Some(h)) => {
                for (a, b) in g.inv_freq(gg.head_dim).iter().zip(h.inv_freq(hf.head_dim)) {
                    assert!(close(*a, b, 1e-6), "{name}: RoPE frequency {a} vs {b}");
                }
                assert_eq!(
                    g.llama3.is_some(),
                    h.llama3.is_some(),
                    "{name}: llama3 scaling"
                );
            }
            _ => panic!("{name}: RoPE {g:?} vs {h:?}"),
        }
    }
}

/// Every Hugging Face tensor is in the GGUF under its name and shape, with its values
/// (exact for F32/BF16 storage, within one quantization step for Q8_0). Returns the largest
/// absolute difference and the largest relative to the block step.
fn same_tensors(name: &str) -> (f32, f32) {
    let hf = Checkpoint::open(&dir(name)).expect("open HF");
    let gw = GgufWeights::open(&gguf(name)).expect("open GGUF weights");
    let mut max_abs = 0f32;
    let mut max_steps = 0f32;
    let names = hf.weights.names();
    for n in &names {
        let h = hf.weights.tensor(n).expect("HF tensor");
        let g = gw.tensor(n).unwrap_or_else(|e| panic!("{name}: {n}: {e}"));
        // Gemma's converter drops embedding rows past the tokenizer; none here
        assert_eq!(g.shape, h.shape, "{name}: {n}");
        let ty = gw
            .gguf()
            .tensor_info(gw.gguf_name(n).expect("mapped"))
            .expect("info")
            .ggml_type;
        let row = *h.shape.last().expect("shape");
        for (r, (hr, gr)) in h.data.chunks(row).zip(g.data.chunks(row)).enumerate() {
            for (b, (hb, gb)) in hr.chunks(32).zip(gr.chunks(32)).enumerate() {
                let amax = hb.iter().fold(0f32, |m, v| m.max(v.abs()));
                for (i, (x, y)) in hb.iter().zip(gb).enumerate() {
                    let d = (x - y).abs();
                    max_abs = max_abs.max(d);
                    let ok = match ty {
                        // F32 storage is exact; a Gemma norm is stored as 1 + w and read back
                        GgmlType::F32 => d <= 1e-7 * (1.0 + x.abs()),
                        GgmlType::BF16 | GgmlType::F16 => d == 0.0,
                        GgmlType::Q8_0 => {
                            // step d = amax/127 stored as f16: |x - f16(d)·q| <= d/2 + 127·d·2^-11
                            let step = amax / 127.0;
                            max_steps = max_steps.max(if step > 0.0 { d / step } else { 0.0 });
                            d <= 0.6 * step
                        }
                        other => panic!("{name}: {n}: unexpected type {other:?}"),
                    };
                    assert!(
                        ok,
                        "{name}: {n}[{r}][{}]: HF {x} GGUF {y} ({ty:?})",
                        b * 32 + i
                    );
                }
            }
        }
    }
    // nothing extra apart from llama.cpp's own tensors
    let extra: Vec<String> = gw
        .names()
        .into_iter()
        .filter(|n| !names.contains(n))
        .collect();
    assert!(extra.is_empty(), "{name}: GGUF-only tensors {extra:?}");
    (max_abs, max_steps)
}

/// The rebuilt tokenizer encodes and decodes like the Hugging Face one.
fn same_tokenizer(name: &str) {
    let hf = Checkpoint::open(&dir(name)).expect("open HF").tokenizer;
    let gg = Checkpoint::open(&gguf(name)).expect("open GGUF").tokenizer;
    let g = golden(name);
    for case in g["cases"].as_array().expect("cases") {
        let text = case["prompt"].as_str().expect("prompt");
        assert_eq!(
            gg.encode(text).expect("encode"),
            ids(&case["prompt_ids"]),
            "{name}: {text:?}"
        );
        let gen = ids(&case["generated_ids"]);
        assert_eq!(
            gg.decode(&gen).expect("decode"),
            case["text"].as_str().expect("text")
        );
    }
    let tf = &g["teacher_forced"];
    let calib = std::fs::read_to_string(dir("").join("calibration.txt")).expect("calibration.txt");
    let want = ids(&tf["ids"]);
    assert_eq!(
        gg.encode(&calib).expect("encode")[..want.len()],
        want[..],
        "{name}: calibration"
    );
    // the whole corpus, against the Hugging Face tokenizer
    let corpus = std::fs::read_to_string(dir("").join("corpus.txt")).expect("corpus.txt");
    let (a, b) = (
        gg.encode(&corpus).expect("encode"),
        hf.encode(&corpus).expect("encode"),
    );
    assert_eq!(a, b, "{name}: corpus");
    assert_eq!(
        gg.decode(&a).expect("decode"),
        hf.decode(&b).expect("decode")
    );
    assert_eq!(gg.vocab_size(), hf.vocab_size(), "{name}: vocabulary");
    for s in ["<|endoftext|>", "<bos>", "<eos>", "<pad>"] {
        assert_eq!(gg.token_id(s), hf.token_id(s), "{name}: {s}");
    }
}

/// Greedy tokens of the GGUF checkpoint's float graph for every golden case, with the top-2
/// logit margin at each emitting position.
fn greedy(name: &str) -> Vec<(Vec<u32>, Vec<u32>, Vec<f32>)> {
    let ck = Checkpoint::open(&gguf(name)).expect("open GGUF");
    let g = golden(name);
    let mut out = Vec::new();
    for case in g["cases"].as_array().expect("cases") {
        let prompt = ids(&case["prompt_ids"]);
        let gen = ids(&case["generated_ids"]);
        let mut seq = prompt.clone();
        seq.extend(&gen[..gen.len() - 1]);
        let len = seq.len() + 3;
        let lg = build(&ck.config, ck.weights.as_ref(), len, gen.len()).expect("build");
        let inputs = pass_inputs(&seq, prompt.len() - 1, gen.len(), len).expect("inputs");
        let all = zkinfer_model::eval::eval_all(&lg.graph, &inputs).expect("eval");
        let got: Vec<u32> = all[lg.graph.outputs[0].0]
            .iter()
            .map(|&x| x as u32)
            .collect();
        let logits = &all[lg.logits.0];
        let vocab = logits.len() / gen.len();
        let margins = logits
            .chunks(vocab)
            .map(|row| {
                let mut s = row.to_vec();
                s.sort_by(|a, b| b.total_cmp(a));
                s[0] - s[1]
            })
            .collect();
        // the first emitted position's logits against transformers'
        let want: Vec<f32> = case["logits_last"]
            .as_array()
            .expect("logits")
            .iter()
            .map(|v| v.as_f64().expect("logit") as f32)
            .collect();
        let diff = logits[..vocab]
            .iter()
            .zip(&want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        eprintln!(
            "{name}: {:?}: max |logit - transformers| at the first position {diff:.2e}",
            case["prompt"]
        );
        out.push((gen, got, margins));
    }
    out
}

fn check(name: &str, exact_tokens: bool) {
    if !present(name) {
        return;
    }
    same_config(name);
    let (max_abs, steps) = same_tensors(name);
    eprintln!("{name}: tensors: max |HF - GGUF| {max_abs:.3e}, max error {steps:.3} Q8_0 steps");
    same_tokenizer(name);
    for (want, got, margins) in greedy(name) {
        eprintln!("{name}: tokens {got:?}, top-2 margins {margins:.3?}");
        if exact_tokens {
            assert_eq!(got, want, "{name}: greedy tokens");
        } else if got != want {
            // a quantized checkpoint may flip a near tie, and then the sequence diverges
            let first = got.iter().zip(&want).position(|(a, b)| a != b).unwrap_or(0);
            eprintln!("{name}: differs from transformers at emitted token {first}");
            assert!(
                margins[first] < 0.05,
                "{name}: token {first} differs with margin {}",
                margins[first]
            );
        }
    }
}

#[test]
fn gpt2_f32_gguf_matches_transformers() {
    check("gpt2", true);
}

#[test]
fn llama_q8_0_gguf_matches_transformers() {
    check("llama", false);
}

#[test]
fn gemma3_bf16_gguf_matches_transformers() {
    check("gemma3", true);
}

#[test]
fn open_picks_the_format() {
    let hf = Checkpoint::open(&dir("gpt2")).expect("HF directory");
    assert_eq!(hf.source, dir("gpt2").display().to_string());
    let gg = Checkpoint::open(&gguf("gpt2")).expect("GGUF file");
    assert!(gg.source.ends_with("model.gguf"));
    assert_eq!(gg.eos_ids(), hf.eos_ids());
    match Checkpoint::open(&dir("gpt2").join("config.json")) {
        Err(LlmError::Format { reason, .. }) => assert!(reason.contains("neither"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Checkpoint::open(&dir("gpt2").join("nope.gguf")),
        Err(LlmError::Io { .. })
    ));
    // open_gguf on a safetensors file: a format error, not a panic
    match Checkpoint::open_gguf(&dir("gpt2").join("model.safetensors")) {
        Err(LlmError::Format { reason, .. }) => assert!(reason.contains("magic"), "{reason}"),
        other => panic!("{other:?}"),
    }
}
