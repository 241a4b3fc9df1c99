//! End to end on the bundled checkpoints (GPT-2, Llama, Gemma 3): compile, generate with the
//! integer model (the tokens must equal `transformers`' greedy tokens in golden.json), prove,
//! verify; and, on GPT-2, every change to the statement or proof rejected.

// Helpers outside `#[test]` functions unwrap too (clippy.toml only covers test functions).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use zkinfer_generation::statement::{pass_layout, quantize_pass};
use zkinfer_generation::{
    compile, generate, prove, verify, CompileOptions, GenError, Generation, GenerationProof,
    LlmMeta, PassMode, Statement,
};
use zkinfer_llm::Checkpoint;
use zkinfer_model::quant::rows::{RowPlan, RowRun};
use zkinfer_model::quant::{run_quantized_strict, PackedWeights, QTensorKind, QuantOp};
use zkinfer_prover::ProvingKey;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/llm")
        .join(name)
}

struct Case {
    prompt: String,
    prompt_ids: Vec<u32>,
    generated: Vec<u32>,
    text: String,
}

fn cases(name: &str) -> Vec<Case> {
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir(name).join("golden.json")).unwrap())
            .unwrap();
    let ids = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect()
    };
    g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            prompt: c["prompt"].as_str().unwrap().into(),
            prompt_ids: ids(&c["prompt_ids"]),
            generated: ids(&c["generated_ids"]),
            text: c["text"].as_str().unwrap().into(),
        })
        .collect()
}

const L: usize = 32;
const N: usize = 8;

fn compiled(name: &str) -> ProvingKey {
    compiled_from(name, Checkpoint::open_hf(&dir(name)).unwrap())
}

fn compiled_from(name: &str, ck: Checkpoint) -> ProvingKey {
    let (pk, rep) = compile(&ck, &CompileOptions::new(L, N), &mut |_| {}).unwrap();
    eprintln!("{name}: {rep}");
    assert!(rep.positions >= 128, "{rep}");
    assert_eq!(rep.clear_agree, rep.clear, "{name}: {rep}");
    pk
}

fn key() -> &'static ProvingKey {
    static K: OnceLock<ProvingKey> = OnceLock::new();
    K.get_or_init(|| compiled("gpt2"))
}

/// The first golden case, generated and proven once.
fn proven() -> &'static (Generation, GenerationProof) {
    static P: OnceLock<(Generation, GenerationProof)> = OnceLock::new();
    P.get_or_init(|| {
        let c = &cases("gpt2")[0];
        let g = generate(key(), &c.prompt_ids, N, &mut |_| {}).unwrap();
        let (p, _) = prove(key(), &g).unwrap();
        (g, p)
    })
}

fn greedy_tokens_equal_transformers_and_verify(name: &str, pk: &ProvingKey) {
    let ck = Checkpoint::open_hf(&dir(name)).unwrap();
    for c in cases(name) {
        assert_eq!(ck.tokenizer.encode(&c.prompt).unwrap(), c.prompt_ids);
        let mut streamed = vec![];
        let g = generate(pk, &c.prompt_ids, N, &mut |t| streamed.push(t)).unwrap();
        assert_eq!(
            g.statement.generated, c.generated,
            "{name}: greedy tokens of {:?}",
            c.prompt
        );
        assert_eq!(streamed, c.generated);
        assert_eq!(g.mode, PassMode::Incremental, "{name}");
        let (p, _) = prove(pk, &g).unwrap();
        let p = GenerationProof::from_bytes(&p.to_bytes()).unwrap();
        let v = verify(&pk.vk, &p).unwrap();
        assert_eq!(v.text, c.text);
        // The prompt decodes to itself (special tokens such as BOS are skipped).
        assert_eq!(v.prompt_text.trim_start(), c.prompt);
        // The proof does not verify under another architecture's key.
        if name != "gpt2" {
            assert!(verify(&key().vk, &p).is_err());
        }
    }
}

/// Rows `..end` along `axis` of a row-major tensor.
fn leading_rows(x: &[i64], shape: &[usize], axis: usize, end: usize) -> Vec<i64> {
    let ext = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    x.chunks(ext * inner)
        .flat_map(|c| c[..end * inner].iter().copied())
        .collect()
}

/// Entries of rows `..end` along `axis`; for attention scores (`[kv, g, q, k]`, rows along
/// `q`) only the causal ones, `k ≤ q`: the rest are computed from key rows after the query,
/// which differ between the two runs (padding) and which the causal mask discards.
fn causal_rows(x: &[i64], shape: &[usize], axis: usize, end: usize) -> Vec<i64> {
    if shape.len() != 4 || axis != 2 || shape[2] != shape[3] {
        return leading_rows(x, shape, axis, end);
    }
    let l = shape[3];
    x.chunks(l * l)
        .flat_map(|m| (0..end).flat_map(move |q| m[q * l..q * l + q + 1].iter().copied()))
        .collect()
}

/// After each row-incremental step, every tensor's rows up to the position just fed (and the
/// slot just emitted) equal those of the whole pass over the same layout (attention scores:
/// their causal entries); static tensors equal it entirely.
fn incremental_rows_equal_whole_passes(name: &str, pk: &ProvingKey) {
    let c = &cases(name)[0];
    let meta = LlmMeta::from_vk(&pk.vk).unwrap();
    let g = &pk.graph;
    let plan = RowPlan::new(g, &[0, 0]).unwrap();
    let layout = |s: usize| {
        let (ids, emit) = pass_layout(&meta, &c.prompt_ids, &c.generated[..s]).unwrap();
        quantize_pass(g, &ids, &emit).unwrap()
    };
    // The packed weights (every linear layer and the LM head) are what the steps use.
    let linear = g
        .nodes
        .iter()
        .filter(|n| matches!(n.op, QuantOp::Einsum { .. }) && n.inputs.len() > 1)
        .filter(|n| matches!(g.tensors[n.inputs[1].0].kind, QTensorKind::Const(_)))
        .count();
    assert!(linear > 0);
    assert_eq!(
        PackedWeights::new(g).count(),
        linear,
        "{name}: every weight packs"
    );
    let mut run = RowRun::start(g, plan.clone(), &layout(0)).unwrap();
    let mut checked = 0;
    for s in 1..c.generated.len() {
        let p = c.prompt_ids.len() + s - 1;
        run.step(&layout(s), &[p..p + 1, s..s + 1]).unwrap();
        let whole = run_quantized_strict(g, &layout(s)).unwrap();
        for n in &g.nodes {
            let (id, shape) = (n.output, &g.tensors[n.output.0].shape);
            let (a, b) = (run.get(id).unwrap(), whole.get(id).unwrap());
            match plan.row(id) {
                None => assert_eq!(a, b, "{name}: static `{}`", n.name),
                Some(r) => {
                    let end = if r.space == 0 { p + 1 } else { s + 1 };
                    assert_eq!(
                        causal_rows(a, shape, r.axis, end),
                        causal_rows(b, shape, r.axis, end),
                        "{name}: step {s}, `{}` rows ..{end} along axis {}",
                        n.name,
                        r.axis
                    );
                    checked += 1;
                }
            }
        }
        let out = g.outputs[0];
        assert_eq!(run.get(out).unwrap()[s], i64::from(c.generated[s]));
    }
    assert!(checked > 0);
}

#[test]
fn gpt2_greedy_generation_is_proven() {
    incremental_rows_equal_whole_passes("gpt2", key());
    greedy_tokens_equal_transformers_and_verify("gpt2", key());
}

#[test]
fn llama_greedy_generation_is_proven() {
    let pk = compiled("llama");
    incremental_rows_equal_whole_passes("llama", &pk);
    greedy_tokens_equal_transformers_and_verify("llama", &pk);
}

#[test]
fn gemma3_greedy_generation_is_proven() {
    let pk = compiled("gemma3");
    incremental_rows_equal_whole_passes("gemma3", &pk);
    greedy_tokens_equal_transformers_and_verify("gemma3", &pk);
}

/// The GGUF files (gpt2 F32, llama Q8_0, gemma3 BF16; scripts/make_gguf.py) compile to keys
/// whose greedy generations equal transformers' on the HF checkpoints.
#[test]
fn gguf_greedy_generation_is_proven() {
    for name in ["gpt2", "llama", "gemma3"] {
        let ck = Checkpoint::open_gguf(&dir(name).join("model.gguf")).unwrap();
        greedy_tokens_equal_transformers_and_verify(name, &compiled_from(name, ck));
    }
}

fn rejected(s: Statement) {
    rejected_with(&proven().1, s);
}

fn rejected_with(honest: &GenerationProof, s: Statement) {
    let p = GenerationProof {
        statement: s.clone(),
        transcript: honest.transcript.clone(),
    };
    assert!(verify(&key().vk, &p).is_err(), "accepted {s:?}");
}

#[test]
fn changed_statements_are_rejected() {
    let s = &proven().1.statement;
    let k = s.generated.len();
    for i in 0..k {
        let mut t = s.clone();
        t.generated[i] = (t.generated[i] + 1) % 512;
        rejected(t);
    }
    for i in 0..s.prompt.len() {
        let mut t = s.clone();
        t.prompt[i] = (t.prompt[i] + 1) % 512;
        rejected(t);
    }
    let mut t = s.clone();
    t.generated.pop();
    rejected(t.clone());
    t.max_new_tokens -= 1; // consistent length, but the pass proven was another one
    rejected(t);
    let mut t = s.clone();
    t.generated.push(5);
    rejected(t.clone());
    t.max_new_tokens += 1;
    rejected(t);
    let mut t = s.clone();
    t.prompt.push(5);
    rejected(t);
    let mut t = s.clone();
    t.prompt.remove(0);
    rejected(t);
}

#[test]
fn flipped_proof_bytes_are_rejected_without_panic() {
    let bytes = proven().1.to_bytes();
    let step = (bytes.len() / 97).max(1);
    for i in (0..bytes.len()).step_by(step) {
        let mut b = bytes.clone();
        b[i] ^= 0x10;
        if let Ok(p) = GenerationProof::from_bytes(&b) {
            assert!(verify(&key().vk, &p).is_err(), "flip at byte {i} accepted");
        }
    }
    for cut in [0, 3, 6, 20, bytes.len() / 2, bytes.len() - 1] {
        assert!(GenerationProof::from_bytes(&bytes[..cut]).is_err());
    }
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for len in [10usize, 100, 1000, 5000] {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut b = b"ZKIFZKGN\x01\x00".to_vec();
        b.extend(&junk);
        if let Ok(p) = GenerationProof::from_bytes(&b) {
            assert!(verify(&key().vk, &p).is_err());
        }
    }
}

#[test]
fn another_models_key_is_rejected() {
    let ck = Checkpoint::open_hf(&dir("gpt2")).unwrap();
    // Same checkpoint, another pass shape: another commitment.
    let (other, _) = compile(&ck, &CompileOptions::new(L, N - 1), &mut |_| {}).unwrap();
    assert_ne!(
        other.vk.commitment().unwrap(),
        key().vk.commitment().unwrap()
    );
    assert!(verify(&other.vk, &proven().1).is_err());
    // A key without LLM data is refused by name.
    let mut plain = key().vk.clone();
    plain.app.clear();
    assert!(matches!(
        verify(&plain, &proven().1),
        Err(GenError::NotLlm(_))
    ));
}

#[test]
fn requests_that_do_not_fit_are_refused() {
    let long: Vec<u32> = (0..L as u32).collect();
    assert!(matches!(
        generate(key(), &long, N, &mut |_| {}),
        Err(GenError::Request(_))
    ));
    assert!(matches!(
        generate(key(), &[1, 2], N + 1, &mut |_| {}),
        Err(GenError::Request(_))
    ));
    assert!(matches!(
        generate(key(), &[], 1, &mut |_| {}),
        Err(GenError::Request(_))
    ));
    assert!(matches!(
        generate(key(), &[600], 1, &mut |_| {}),
        Err(GenError::Request(_))
    ));
}

#[test]
fn shorter_requests_prove_and_verify() {
    let c = &cases("gpt2")[1];
    let g = generate(key(), &c.prompt_ids, 3, &mut |_| {}).unwrap();
    assert_eq!(g.statement.generated, c.generated[..3]);
    let (p, _) = prove(key(), &g).unwrap();
    verify(&key().vk, &p).unwrap();
    // The same proof does not pass as a longer request.
    let mut s = p.statement.clone();
    s.max_new_tokens = 4;
    rejected_with(&p, s);
}

#[test]
fn a_prover_cannot_emit_the_second_best_token() {
    let (g, honest) = proven();
    let pk = key();
    let out = pk.graph.outputs[0];
    // The logits feeding the argmax, and the second-best id at the first emitting position.
    let argmax = pk.graph.nodes.iter().find(|n| n.output == out).unwrap();
    let logits = g.trace().get(argmax.inputs[0]).unwrap();
    let vocab = logits.len() / N;
    let row = &logits[..vocab];
    let best = g.statement.generated[0] as usize;
    let second = (0..vocab)
        .filter(|&j| j != best)
        .max_by_key(|&j| (row[j], std::cmp::Reverse(j)))
        .unwrap();
    let mut forged = g.trace().clone();
    forged.values[out.0][0] = second as i64;
    match zkinfer_prover::prove_trace(pk, &forged) {
        Err(_) => {}
        Ok(mp) => {
            let mut s = honest.statement.clone();
            s.generated[0] = second as u32;
            let p = GenerationProof {
                statement: s,
                transcript: mp.transcript,
            };
            assert!(verify(&pk.vk, &p).is_err(), "second-best token accepted");
        }
    }
}

/// A pass of 128 positions (GPT-2's whole context): attention rows of up to 128 keys, proven
/// with the selector-based row maximum; the golden tokens are unchanged by the longer filler.
#[test]
fn a_128_position_context_is_proven() {
    let ck = Checkpoint::open_hf(&dir("gpt2")).unwrap();
    let (pk, _) = compile(&ck, &CompileOptions::new(128, 8), &mut |_| {}).unwrap();
    let c = &cases("gpt2")[1];
    let g = generate(&pk, &c.prompt_ids, N, &mut |_| {}).unwrap();
    assert_eq!(g.statement.generated, c.generated);
    let (p, _) = prove(&pk, &g).unwrap();
    let v = verify(&pk.vk, &p).unwrap();
    assert_eq!(v.text, c.text);
    let mut s = p.statement.clone();
    s.generated[3] = (s.generated[3] + 1) % 512;
    let bad = GenerationProof {
        statement: s,
        transcript: p.transcript.clone(),
    };
    assert!(verify(&pk.vk, &bad).is_err());
}

/// Generation stops at an end-of-sequence id: with the 4th golden token declared EOS (the
/// key binds the EOS ids), 4 of 8 requested tokens are generated, proven and verified as an
/// EOS stop; continuing past it, or stopping early without it, is rejected.
#[test]
fn generation_stops_at_end_of_sequence() {
    let mut ck = Checkpoint::open_hf(&dir("gpt2")).unwrap();
    let c = &cases("gpt2")[0];
    let eos = c.generated[3];
    assert!(!c.generated[..3].contains(&eos));
    ck.config.eos = vec![eos];
    let (pk, _) = compile(&ck, &CompileOptions::new(L, N), &mut |_| {}).unwrap();
    let g = generate(&pk, &c.prompt_ids, N, &mut |_| {}).unwrap();
    assert_eq!(g.stop, zkinfer_generation::Stop::Eos);
    assert_eq!(g.statement.generated, c.generated[..4]);
    let (p, _) = prove(&pk, &g).unwrap();
    let v = verify(&pk.vk, &p).unwrap();
    assert_eq!(v.stop, zkinfer_generation::Stop::Eos);
    let with = |s: Statement| GenerationProof {
        statement: s,
        transcript: p.transcript.clone(),
    };
    let mut s = p.statement.clone();
    s.generated.push(c.generated[4]);
    assert!(verify(&pk.vk, &with(s)).is_err(), "continued past EOS");
    let mut s = p.statement.clone();
    s.generated.pop();
    assert!(
        verify(&pk.vk, &with(s)).is_err(),
        "stopped early without EOS"
    );
    // The same tokens under the key without that EOS id are not a finished generation.
    assert!(verify(&key().vk, &p).is_err());
}

/// The experimental masked walk on an LLM pass: the generation proof verifies (the verifier
/// reads the mode from the proof), and a changed token is still rejected.
#[test]
fn masked_generation_proof_verifies() {
    let pk = compiled("gpt2");
    let c = &cases("gpt2")[0];
    let g = generate(&pk, &c.prompt_ids, N, &mut |_| {}).unwrap();
    let opts = zkinfer_prover::ProveOptions { masked: true };
    let (p, _) = zkinfer_generation::prove_with(&pk, &g, opts).unwrap();
    let v = verify(&pk.vk, &p).unwrap();
    assert_eq!(v.text, c.text);
    let mut s = p.statement.clone();
    s.generated[1] = (s.generated[1] + 1) % 512;
    let bad = GenerationProof {
        statement: s,
        transcript: p.transcript.clone(),
    };
    assert!(verify(&pk.vk, &bad).is_err());
}
