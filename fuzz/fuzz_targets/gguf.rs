//! Arbitrary bytes as a GGUF file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = zkinfer_llm::formats::gguf::Gguf::from_bytes("fuzz", data.to_vec());
});
