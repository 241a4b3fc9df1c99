//! Inputs found by the fuzz targets (docs/FUZZING.md), kept as regression tests: each must be
//! refused with an error, never a panic or an abort.

use std::path::Path;

fn regression(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `fuzz/fuzz_targets/tokenizer.rs`, 2026-12-06: a `tokenizer.json` whose decoder entry is
/// neither tagged nor a known untagged form makes the `tokenizers` crate panic
/// (`decoders/mod.rs`, `expect("Helper")`); it must be an error naming the tokenizer.
#[test]
fn malformed_decoder_in_tokenizer_json_is_an_error() {
    let bytes = regression("tokenizer_decoder_panic.json");
    let text = String::from_utf8_lossy(&bytes);
    let err = zkinfer_llm::Tokenizer::from_json(&text, Some(1))
        .expect_err("a malformed tokenizer.json must be refused");
    assert!(err.to_string().contains("tokenizer"), "{err}");
}
