//! The tiny GPT-2's generation proof: arbitrary bytes (first byte even), or the valid proof
//! file with some bytes changed (first byte odd), decoded and verified. Changed proofs must be
//! rejected; nothing may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkinfer_generation::{verify, GenerationProof};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let vk = zkinfer_fuzz::gpt2_vk();
    if mode % 2 == 0 {
        if let Ok(p) = GenerationProof::from_bytes(rest) {
            let _ = verify(vk, &p);
        }
        return;
    }
    let good = zkinfer_fuzz::gpt2_proof().to_bytes();
    let mut bytes = good.clone();
    zkinfer_fuzz::mutate(&mut bytes, rest);
    if bytes == good {
        return;
    }
    if let Ok(p) = GenerationProof::from_bytes(&bytes) {
        // A file that decodes to the same statement and transcript is the same proof.
        if p.to_bytes() != good {
            assert!(
                verify(vk, &p).is_err(),
                "a changed generation proof was accepted"
            );
        }
    }
});
