//! End-to-end tests of the LLM commands: `compile --hf`/`--gguf`, `generate`, `verify` on the
//! bundled tiny GPT-2, Llama (GGUF) and Gemma 3 (tokens equal to `transformers`' greedy tokens
//! in golden.json), tampered proofs,
//! requests that do not fit, and malformed checkpoints (a clean error, nothing written).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

mod common;

use common::*;

fn ckpt(name: &str) -> PathBuf {
    root().join("examples/llm").join(name)
}

fn golden(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(ckpt(name).join("golden.json")).unwrap()).unwrap()
}

struct Compiled {
    dir: PathBuf,
}

impl Compiled {
    fn zkm(&self) -> PathBuf {
        self.dir.join("model.zkm")
    }
    fn vk(&self) -> PathBuf {
        self.dir.join("model.vk")
    }
}

/// `compile --hf` of the bundled GPT-2, once.
fn gpt2() -> &'static Compiled {
    static C: OnceLock<Compiled> = OnceLock::new();
    C.get_or_init(|| {
        remove_stale_dirs();
        let dir = temp_dir("llm").join("gpt2");
        let o = ok(&[
            "compile",
            "--hf",
            s(&ckpt("gpt2")),
            "--context",
            "32",
            "--new-tokens",
            "8",
            "-o",
            s(&dir),
            "--json",
        ]);
        let c = json_of(&o);
        assert_eq!(c["architecture"], "GPT2LMHeadModel");
        assert_eq!(c["commitment"].as_str().unwrap().len(), 64);
        let f = &c["fidelity"];
        assert!(f["positions"].as_u64().unwrap() >= 128, "{f}");
        assert_eq!(f["clear_agree"], f["clear"], "{f}");
        Compiled { dir }
    })
}

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

#[test]
fn generate_and_verify_match_transformers() {
    let c = gpt2();
    let g = golden("gpt2");
    for (i, case) in g["cases"].as_array().unwrap().iter().enumerate() {
        let proof = c.dir.join(format!("gen{i}.proof"));
        let prompt = case["prompt"].as_str().unwrap();
        let o = json_of(&ok(&[
            "generate",
            s(&c.zkm()),
            "--prompt",
            prompt,
            "--max-new-tokens",
            "8",
            "-o",
            s(&proof),
            "--json",
        ]));
        assert_eq!(ids(&o["prompt_tokens"]), ids(&case["prompt_ids"]));
        assert_eq!(ids(&o["generated_tokens"]), ids(&case["generated_ids"]));
        assert_eq!(o["text"], case["text"]);
        assert!(o["proof_bytes"].as_u64().unwrap() > 0);
        let v = json_of(&ok(&["verify", s(&proof), "--vk", s(&c.vk()), "--json"]));
        assert_eq!(v["valid"], true);
        assert_eq!(v["text"], case["text"]);
        assert_eq!(v["prompt"], case["prompt"]);
        assert_eq!(ids(&v["generated_tokens"]), ids(&case["generated_ids"]));
        // Human output names the verified text.
        let h = stdout(&ok(&["verify", s(&proof), "--vk", s(&c.vk())]));
        assert!(h.contains("valid proof of greedy generation"), "{h}");
    }
}

/// `compile --gguf` of the Q8_0 llama: generation equals transformers' greedy tokens.
#[test]
fn gguf_checkpoint_generates_and_verifies() {
    let dir = temp_dir("llm-gguf").join("llama");
    let gguf = ckpt("llama").join("model.gguf");
    let case = &golden("llama")["cases"][1];
    let (o, v) = compile_generate_verify("--gguf", &gguf, &dir, "LlamaForCausalLM", case);
    assert_eq!(ids(&o["generated_tokens"]), ids(&case["generated_ids"]));
    assert_eq!(v["text"], case["text"]);
    let i = json_of(&ok(&["inspect", s(&gguf), "--json"]));
    assert_eq!(i["kind"], "gguf checkpoint");
    let e = fails(&[
        "compile",
        "--gguf",
        s(&ckpt("llama").join("config.json")),
        "-o",
        s(&dir.join("x")),
    ]);
    assert!(e.contains("GGUF") || e.contains("gguf"), "{e}");
}

/// `compile --hf` of the Gemma 3 checkpoint (local/global layers, sliding window, QK-norm):
/// generation equals transformers' greedy tokens.
#[test]
fn gemma3_checkpoint_generates_and_verifies() {
    let dir = temp_dir("llm-gemma3").join("gemma3");
    let case = &golden("gemma3")["cases"][0];
    let (o, v) = compile_generate_verify("--hf", &ckpt("gemma3"), &dir, "Gemma3ForCausalLM", case);
    assert_eq!(ids(&o["prompt_tokens"]), ids(&case["prompt_ids"]));
    assert_eq!(ids(&o["generated_tokens"]), ids(&case["generated_ids"]));
    assert_eq!(v["valid"], true);
    assert_eq!(v["text"], case["text"]);
}

/// `compile FLAG SRC` (context 32, 8 new tokens) into `dir`, checking the architecture, then
/// `generate` on the golden `case`'s prompt and `verify`: the generate and verify JSON.
fn compile_generate_verify(
    flag: &str,
    src: &Path,
    dir: &Path,
    arch: &str,
    case: &Value,
) -> (Value, Value) {
    let c = json_of(&ok(&[
        "compile",
        flag,
        s(src),
        "--context",
        "32",
        "--new-tokens",
        "8",
        "-o",
        s(dir),
        "--json",
    ]));
    assert_eq!(c["architecture"], arch);
    let proof = dir.join("gen.proof");
    let o = json_of(&ok(&[
        "generate",
        s(&dir.join("model.zkm")),
        "--prompt",
        case["prompt"].as_str().unwrap(),
        "--max-new-tokens",
        "8",
        "-o",
        s(&proof),
        "--json",
    ]));
    let v = json_of(&ok(&[
        "verify",
        s(&proof),
        "--vk",
        s(&dir.join("model.vk")),
        "--json",
    ]));
    (o, v)
}

#[test]
fn tampered_generation_proofs_are_rejected() {
    let c = gpt2();
    let proof = c.dir.join("tamper.proof");
    ok(&[
        "generate",
        s(&c.zkm()),
        "--prompt",
        "The dog",
        "--max-new-tokens",
        "4",
        "-o",
        s(&proof),
        "--quiet",
    ]);
    let bytes = std::fs::read(&proof).unwrap();
    let bad = c.dir.join("bad.proof");
    // Header, statement (prompt/generated ids) and transcript bytes.
    for i in [10usize, 12, 14, 16, 40, bytes.len() / 2, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        std::fs::write(&bad, &b).unwrap();
        fails(&["verify", s(&bad), "--vk", s(&c.vk())]);
    }
    std::fs::write(&bad, &bytes[..bytes.len() / 3]).unwrap();
    fails(&["verify", s(&bad), "--vk", s(&c.vk())]);
}

#[test]
fn requests_that_do_not_fit_fail_cleanly() {
    let c = gpt2();
    let out = c.dir.join("never.proof");
    let long = "the cat sat on the mat and ".repeat(10);
    let e = fails(&["generate", s(&c.zkm()), "--prompt", &long, "-o", s(&out)]);
    assert!(e.contains("context"), "{e}");
    let e = fails(&[
        "generate",
        s(&c.zkm()),
        "--prompt",
        "a",
        "--max-new-tokens",
        "9",
        "-o",
        s(&out),
    ]);
    assert!(e.contains("new tokens"), "{e}");
    assert!(!out.exists(), "a failed generate wrote its output");
}

/// A copy of the GPT-2 checkpoint with one file replaced.
fn broken(tag: &str, file: &str, content: &[u8]) -> PathBuf {
    let d = temp_dir(tag);
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        std::fs::copy(ckpt("gpt2").join(f), d.join(f)).unwrap();
    }
    std::fs::write(d.join(file), content).unwrap();
    d
}

fn compile_fails(dir: &Path, expect: &str) {
    let out = dir.join("out");
    let e = fails(&["compile", "--hf", s(dir), "-o", s(&out)]);
    assert!(e.contains(expect), "expected {expect:?} in:\n{e}");
    assert!(!out.exists(), "a failed compile wrote {}", out.display());
}

#[test]
fn malformed_checkpoints_fail_cleanly() {
    let cfg = std::fs::read_to_string(ckpt("gpt2").join("config.json")).unwrap();
    compile_fails(
        &broken(
            "arch",
            "config.json",
            cfg.replace("GPT2LMHeadModel", "MambaForCausalLM")
                .as_bytes(),
        ),
        "MambaForCausalLM",
    );
    compile_fails(
        &broken("cfgjson", "config.json", b"{ not json"),
        "config.json",
    );
    compile_fails(
        &broken("tok", "tokenizer.json", b"{\"model\": 3}"),
        "tokenizer",
    );
    let st = std::fs::read(ckpt("gpt2").join("model.safetensors")).unwrap();
    compile_fails(
        &broken("trunc", "model.safetensors", &st[..st.len() / 2]),
        "safetensors",
    );
    let mut huge = st.clone();
    huge[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    compile_fails(&broken("hdr", "model.safetensors", &huge), "safetensors");
    let e = fails(&["compile", "--hf", "/nonexistent/ckpt", "-o", "/tmp/never"]);
    assert!(e.contains("/nonexistent/ckpt"), "{e}");
}

#[test]
fn a_key_of_another_pass_shape_rejects_the_proof() {
    let c = gpt2();
    // verify of a generation proof against a key of another pass shape fails.
    let other = temp_dir("llm-other").join("m");
    ok(&[
        "compile",
        "--hf",
        s(&ckpt("gpt2")),
        "--context",
        "32",
        "--new-tokens",
        "4",
        "-o",
        s(&other),
        "--quiet",
    ]);
    let proof = c.dir.join("shape.proof");
    ok(&[
        "generate",
        s(&c.zkm()),
        "--prompt",
        "The",
        "--max-new-tokens",
        "2",
        "-o",
        s(&proof),
        "--quiet",
    ]);
    fails(&["verify", s(&proof), "--vk", s(&other.join("model.vk"))]);
}
