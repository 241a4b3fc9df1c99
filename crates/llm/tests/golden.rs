//! The float graph of each bundled checkpoint against `transformers`
//! (`examples/llm/<name>/golden.json`, made by `scripts/make_llm_fixtures.py`): the greedy
//! tokens, tokenizer ids and decoded text of each case, and the teacher-forced argmax and logit
//! range at every position of a 64-token window.

use std::path::{Path, PathBuf};

use zkinfer_llm::{build, pass_inputs, Checkpoint};

/// Absolute tolerance on a logit: the golden values are float32 `transformers` outputs rounded
/// to 5 decimals; the float graph computes in f32 in another order.
const LOGIT_TOL: f32 = 1e-4;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/llm")
        .join(name)
}

/// Opens a bundled checkpoint and its golden file; a missing fixture fails the test.
fn fixture(name: &str) -> (Checkpoint, serde_json::Value) {
    let d = dir(name);
    assert!(
        d.join("config.json").exists() && d.join("golden.json").exists(),
        "{name}: fixture missing under {} (run `python3 scripts/make_llm_fixtures.py {name}`)",
        d.display()
    );
    let ck = Checkpoint::open_hf(&d).expect("open");
    let text = std::fs::read_to_string(d.join("golden.json")).expect("golden.json");
    (ck, serde_json::from_str(&text).expect("json"))
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("ids")
        .iter()
        .map(|x| u32::try_from(x.as_u64().expect("id")).expect("id fits u32"))
        .collect()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("numbers")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

/// Evaluates a pass over `seq` padded to `len` positions, emitting at `emit` positions from
/// `first_emit`; returns the argmax tokens and the logits `[emit, vocab]`.
fn run(
    ck: &Checkpoint,
    seq: &[u32],
    first_emit: usize,
    emit: usize,
    len: usize,
) -> (Vec<u32>, Vec<f32>) {
    let lg = build(&ck.config, ck.weights.as_ref(), len, emit).expect("build");
    let inputs = pass_inputs(seq, first_emit, emit, len).expect("inputs");
    let all = zkinfer_model::eval::eval_all(&lg.graph, &inputs).expect("eval");
    let tokens = all[lg.graph.outputs[0].0]
        .iter()
        .map(|&x| x as u32)
        .collect();
    (tokens, all[lg.logits.0].clone())
}

fn assert_close(name: &str, what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{name}: {what}: length");
    let (i, err) = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .enumerate()
        .fold((0, 0.0f32), |m, (i, e)| if e > m.1 { (i, e) } else { m });
    assert!(
        err <= LOGIT_TOL,
        "{name}: {what}: |Δ| = {err} at {i} (got {}, want {})",
        got[i],
        want[i]
    );
}

fn float_greedy_matches(name: &str) {
    let (ck, g) = fixture(name);
    let vocab = ck.config.vocab;
    for case in g["cases"].as_array().expect("cases") {
        let prompt = ids(&case["prompt_ids"]);
        let gen = ids(&case["generated_ids"]);
        let text = case["prompt"].as_str().expect("prompt");
        assert_eq!(
            ck.tokenizer.encode(text).expect("encode"),
            prompt,
            "{name}: tokenizer"
        );
        // One causal pass over prompt + generated[..N-1], argmax at the last N positions.
        let mut seq = prompt.clone();
        seq.extend(&gen[..gen.len() - 1]);
        let len = seq.len() + 3; // filler positions after the sequence must not matter
        let (got, logits) = run(&ck, &seq, prompt.len() - 1, gen.len(), len);
        assert_eq!(got, gen, "{name}: greedy tokens of {text:?}");
        let want = floats(&case["logits_last"]);
        assert_close(
            name,
            &format!("last prompt logits of {text:?}"),
            &logits[..vocab],
            &want,
        );
        let decoded = ck.tokenizer.decode(&gen).expect("decode");
        assert_eq!(
            decoded,
            case["text"].as_str().expect("text"),
            "{name}: text"
        );
    }
}

/// Teacher forcing over the golden window: one pass emitting at every position.
fn float_teacher_forced_matches(name: &str) {
    let (ck, g) = fixture(name);
    let tf = &g["teacher_forced"];
    let seq = ids(&tf["ids"]);
    let want = ids(&tf["argmax"]);
    assert_eq!(want.len(), seq.len(), "{name}: golden argmax length");
    let n = seq.len();
    let (got, logits) = run(&ck, &seq, 0, n, n);
    if let Some(p) = (0..n).find(|&p| got[p] != want[p]) {
        panic!(
            "{name}: teacher-forced argmax differs at position {p} of {n}: got {}, want {} \
             (golden top-2 margin {})",
            got[p], want[p], tf["top2_margin"][p]
        );
    }
    let vocab = ck.config.vocab;
    let rows = logits.chunks(vocab);
    let max: Vec<f32> = rows
        .clone()
        .map(|r| r.iter().copied().fold(f32::MIN, f32::max))
        .collect();
    let min: Vec<f32> = rows
        .map(|r| r.iter().copied().fold(f32::MAX, f32::min))
        .collect();
    assert_close(
        name,
        "teacher-forced max logit",
        &max,
        &floats(&tf["max_logit"]),
    );
    assert_close(
        name,
        "teacher-forced min logit",
        &min,
        &floats(&tf["min_logit"]),
    );
}

#[test]
fn gpt2_float_pass_matches_transformers() {
    float_greedy_matches("gpt2");
}

#[test]
fn llama_float_pass_matches_transformers() {
    float_greedy_matches("llama");
}

#[test]
fn gemma3_float_pass_matches_transformers() {
    float_greedy_matches("gemma3");
}

#[test]
fn gpt2_teacher_forced_argmax_matches_transformers() {
    float_teacher_forced_matches("gpt2");
}

#[test]
fn llama_teacher_forced_argmax_matches_transformers() {
    float_teacher_forced_matches("llama");
}

#[test]
fn gemma3_teacher_forced_argmax_matches_transformers() {
    float_teacher_forced_matches("gemma3");
}
