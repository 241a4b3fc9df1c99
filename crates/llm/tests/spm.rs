//! SentencePiece GGUF tokenizers (`tokenizer.ggml.model = "llama"`, as in Llama 2 and Gemma
//! GGUF files) against SentencePiece itself: `scripts/make_spm_fixture.py` trains two tiny
//! SentencePiece BPE models (with and without the dummy prefix space), writes them as GGUF the
//! way llama.cpp's converter does, and records SentencePiece's encodings (BOS first) and
//! decodings of some texts — byte fallback, repeated and leading spaces, digits, newlines and
//! user-defined pieces included.

use std::path::{Path, PathBuf};

use zkinfer_llm::formats::gguf::Gguf;
use zkinfer_llm::Tokenizer;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/spm")
        .join(name)
}

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
    decoded: String,
}

fn check(name: &str) {
    let g = Gguf::open(&fixture(&format!("{name}.gguf"))).expect("gguf");
    let tok = Tokenizer::from_gguf(&g).expect("tokenizer");
    let cases: Vec<Case> = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("{name}.json"))).expect("golden"),
    )
    .expect("golden json");
    for c in &cases {
        let ids = tok.encode(&c.text).expect("encode");
        assert_eq!(ids, c.ids, "{name}: encoding of {:?}", c.text);
        let text = tok.decode(&c.ids).expect("decode");
        assert_eq!(text, c.decoded, "{name}: decoding of {:?}", c.text);
    }
}

#[test]
fn llama2_style_sentencepiece_matches() {
    check("llama2_style");
}

#[test]
fn gemma_style_sentencepiece_matches() {
    check("gemma_style");
}

#[test]
fn user_defined_piece_is_one_token() {
    let g = Gguf::open(&fixture("gemma_style.gguf")).expect("gguf");
    let tok = Tokenizer::from_gguf(&g).expect("tokenizer");
    let id = tok.token_id("<start_of_turn>").expect("user-defined piece");
    let ids = tok.encode("<start_of_turn>proof").expect("encode");
    assert_eq!(ids.get(1), Some(&id), "{ids:?}");
}
