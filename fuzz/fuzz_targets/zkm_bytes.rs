//! Arbitrary bytes as a compiled model (`model.zkm`): decode, re-commit the weights and compare
//! with the stored key. Must never panic or allocate without bound.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = zkinfer_prover::ProvingKey::from_bytes(data);
});
