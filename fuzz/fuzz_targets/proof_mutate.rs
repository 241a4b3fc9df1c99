//! Structure-aware: a valid small-CNN proof (plain, or masked when bit 2 of the first byte is
//! set) with some of its bytes changed — in the transcript (field elements, lengths,
//! commitment roots, Merkle path nodes, PoW nonces), in the public inputs or in the public
//! outputs — re-encoded as a proof file. Every changed proof must be rejected, never
//! accepted, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkinfer_prover::{verify, ModelProof};

fuzz_target!(|data: &[u8]| {
    let Some((&region, muts)) = data.split_first() else {
        return;
    };
    let good = if region & 4 == 0 {
        zkinfer_fuzz::cnn_proof()
    } else {
        zkinfer_fuzz::cnn_masked_proof()
    };
    let mut p = good.clone();
    match region % 4 {
        // Mostly the transcript: it holds every prover message.
        0 | 1 => {
            zkinfer_fuzz::mutate(&mut p.transcript, muts);
        }
        2 => {
            let n = p.inputs.len();
            for (k, pair) in muts.chunks_exact(2).enumerate() {
                let v = &mut p.inputs[k % n];
                let i = usize::from(pair[0]) % v.len();
                v[i] = v[i].wrapping_add(i64::from(pair[1] as i8));
            }
        }
        _ => {
            let n = p.outputs.len();
            for (k, pair) in muts.chunks_exact(2).enumerate() {
                let v = &mut p.outputs[k % n];
                let i = usize::from(pair[0]) % v.len();
                v[i] = v[i].wrapping_add(i64::from(pair[1] as i8));
            }
        }
    }
    if p.transcript == good.transcript && p.inputs == good.inputs && p.outputs == good.outputs {
        return;
    }
    // Through the file format, as a verifier receives it.
    let Ok(q) = ModelProof::from_bytes(&p.to_bytes()) else {
        return;
    };
    assert!(
        verify(zkinfer_fuzz::cnn_vk(), &q).is_err(),
        "a changed proof was accepted"
    );
});
