//! Arbitrary text as a `tokenizer.json`, then used to encode and decode a short text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zkinfer_fuzz::tolerate_panics_in(&["tokenizers"]);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = zkinfer_llm::Tokenizer::from_json(text, Some(1)) {
        if let Ok(ids) = t.encode("The cat sat on the mat.") {
            let _ = t.decode(&ids);
        }
    }
});
