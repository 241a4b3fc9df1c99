//! Arbitrary bytes as a verifying key: decode, then the full key check (plan, layout, weight
//! range proofs). Must never panic or allocate without bound.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(vk) = zkinfer_prover::VerifyingKey::from_bytes(data) {
        let _ = zkinfer_prover::check_key(&vk);
    }
});
