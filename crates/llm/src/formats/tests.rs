//! Tests of the checkpoint readers, honest and hostile: GGUF (header, metadata, dequantization
//! against gguf-py's reference, the Hugging Face view) and safetensors.
//!
//! Hostile inputs must give an `LlmError` naming the problem, never a panic or an allocation
//! sized by an untrusted count.

mod gguf_hostile;
mod gguf_reader;
mod gguf_weights;
mod gguf_write;
mod safetensors;

use std::path::PathBuf;

use crate::error::LlmError;

/// `examples/llm/<name>/<file>`.
fn fixture(name: &str, file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/llm")
        .join(name)
        .join(file)
}

/// A deterministic xorshift generator for mutation tests (no dependency, same run every time).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[track_caller]
fn assert_format<T: std::fmt::Debug>(r: crate::Result<T>, needle: &str) {
    match r {
        Err(LlmError::Format { reason, .. }) => {
            assert!(
                reason.contains(needle),
                "reason `{reason}` lacks `{needle}`"
            )
        }
        other => panic!("expected a Format error containing `{needle}`, got {other:?}"),
    }
}

#[track_caller]
fn assert_too_large<T: std::fmt::Debug>(r: crate::Result<T>, needle: &str) {
    match r {
        Err(LlmError::TooLarge { what, .. }) => {
            assert!(what.contains(needle), "`{what}` lacks `{needle}`")
        }
        other => panic!("expected a TooLarge error about `{needle}`, got {other:?}"),
    }
}
