//! The configurations of real full-size checkpoints load with every switch read
//! (tests/configs, written by scripts/make_llm_configs.py with transformers' config classes),
//! in transformers 5's form and in the transformers 4 form published checkpoints carry.

use std::path::Path;

use serde_json::{json, Value};
use zkinfer_llm::{Arch, LlmConfig};

fn load(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).expect("config")).expect("json")
}

fn close(a: u64, b: f64, what: &str) {
    let r = a as f64 / b;
    assert!(
        (0.99..1.01).contains(&r),
        "{what}: {a} parameters, expected ~{b}"
    );
}

#[test]
fn gpt2_124m() {
    let c = LlmConfig::from_json(&load("gpt2-124m.json")).expect("gpt2");
    assert_eq!(c.arch, Arch::Gpt2);
    assert_eq!(
        (c.layers, c.hidden, c.heads, c.vocab, c.max_positions),
        (12, 768, 12, 50257, 1024)
    );
    close(c.parameters(), 124.4e6, "GPT-2");
}

fn check_gemma(c: &LlmConfig, layers: usize, hidden: usize, params: f64) {
    assert_eq!(c.arch, Arch::Gemma3);
    assert_eq!(
        (c.layers, c.hidden, c.heads, c.kv_heads, c.head_dim),
        (layers, hidden, 4, 1, 256)
    );
    assert_eq!(c.vocab, 262_144);
    assert_eq!(c.sliding_window, Some(512));
    let pattern: Vec<bool> = (0..layers).map(|i| (i + 1) % 6 != 0).collect();
    assert_eq!(c.local_layers, pattern, "every sixth layer global");
    assert_eq!(c.rope_global.as_ref().map(|r| r.theta), Some(1_000_000.0));
    assert_eq!(c.rope_local.as_ref().map(|r| r.theta), Some(10_000.0));
    assert!(
        (c.query_scale - 1.0 / 16.0).abs() < 1e-12,
        "1/√query_pre_attn_scalar"
    );
    assert!(c.tied);
    assert_eq!(c.eos, vec![1]);
    close(c.parameters(), params, "Gemma 3");
}

#[test]
fn gemma3_270m_and_1b() {
    let c = LlmConfig::from_json(&load("gemma3-270m.json")).expect("270m");
    check_gemma(&c, 18, 640, 268.1e6);
    let c = LlmConfig::from_json(&load("gemma3-1b.json")).expect("1b");
    check_gemma(&c, 26, 1152, 999.9e6);
}

/// The transformers 4 form of the published Gemma 3 configs: `rope_theta`,
/// `rope_local_base_freq`, `rope_scaling: null`, `sliding_window_pattern`.
#[test]
fn gemma3_270m_in_transformers_4_form() {
    let mut v = load("gemma3-270m.json");
    let o = v.as_object_mut().expect("object");
    o.remove("rope_parameters");
    o.remove("layer_types");
    o.insert("rope_theta".into(), json!(1_000_000.0));
    o.insert("rope_local_base_freq".into(), json!(10_000.0));
    o.insert("rope_scaling".into(), Value::Null);
    o.insert("sliding_window_pattern".into(), json!(6));
    let c = LlmConfig::from_json(&v).expect("v4 form");
    check_gemma(&c, 18, 640, 268.1e6);
}

#[test]
fn llama_3_2_1b() {
    let c = LlmConfig::from_json(&load("llama3.2-1b.json")).expect("llama");
    assert_eq!(c.arch, Arch::Llama);
    assert_eq!(
        (c.layers, c.hidden, c.heads, c.kv_heads, c.head_dim),
        (16, 2048, 32, 8, 64)
    );
    let r = c.rope_global.as_ref().expect("rope");
    assert_eq!(r.theta, 500_000.0);
    let s = r.llama3.as_ref().expect("llama3 scaling");
    assert_eq!(
        (s.factor, s.low_freq_factor, s.high_freq_factor),
        (32.0, 1.0, 4.0)
    );
    assert!(c.tied);
    close(c.parameters(), 1.2359e9, "Llama 3.2 1B");
}

#[test]
fn unsupported_switches_are_named() {
    let mut v = load("gemma3-270m.json");
    v["attn_logit_softcapping"] = json!(50.0);
    let e = LlmConfig::from_json(&v).expect_err("softcap").to_string();
    assert!(e.contains("attn_logit_softcapping"), "{e}");
    let mut v = load("gemma3-270m.json");
    v["architectures"] = json!(["Gemma3ForConditionalGeneration"]);
    let e = LlmConfig::from_json(&v)
        .expect_err("multimodal")
        .to_string();
    assert!(e.contains("Gemma3ForConditionalGeneration"), "{e}");
    let mut v = load("llama3.2-1b.json");
    v["hidden_act"] = json!("relu2");
    let e = LlmConfig::from_json(&v).expect_err("act").to_string();
    assert!(e.contains("relu2"), "{e}");
    let mut v = load("llama3.2-1b.json");
    v["num_hidden_layers"] = json!(1u64 << 40);
    assert!(LlmConfig::from_json(&v).is_err());
}
