//! Arbitrary bytes as a safetensors file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = zkinfer_llm::formats::safetensors::HfWeights::from_bytes("fuzz", data.to_vec());
});
