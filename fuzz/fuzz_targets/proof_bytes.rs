//! Arbitrary bytes as a proof file of the small CNN: decode, then verify. Must never panic,
//! hang or allocate without bound; an accepted input must be a valid proof (its statement is
//! then what the bytes say, which a fuzzer cannot forge).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkinfer_prover::{verify, ModelProof};

fuzz_target!(|data: &[u8]| {
    let vk = zkinfer_fuzz::cnn_vk();
    if let Ok(p) = ModelProof::from_bytes(data) {
        let _ = verify(vk, &p);
    }
});
