//! Arbitrary text as a Hugging Face `config.json`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = zkinfer_llm::LlmConfig::from_json(&v);
    }
});
