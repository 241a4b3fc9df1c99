//! Bounded resources on hostile bytes (issue 15, docs/FUZZING.md "Bounded resources"): length
//! prefixes far beyond the input are refused without allocating what they claim (an attempt to
//! allocate terabytes would abort this test binary), and a verifying key whose activations
//! would not fit the verifier's memory is refused before the walk allocates anything.

use zkinfer_transcript::encode_envelope;

use crate::keys::FORMAT_VERSION;
use crate::plan::{MAX_ACTIVATION_TOTAL, MAX_ACTIVATION_VARS};
use crate::tests::setup;
use crate::{check_key, ModelProof, VerifyingKey};

/// Postcard's unsigned varint.
fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

#[test]
fn length_prefixes_beyond_the_input_are_refused_without_allocating_them() {
    let proof =
        |body: &[u8]| ModelProof::from_bytes(&encode_envelope(*b"ZKPF", FORMAT_VERSION, body));
    for huge in [1u64 << 40, u64::MAX >> 1, (1 << 32) + 1] {
        // `inputs: Vec<Vec<i64>>` claiming 2^40 vectors.
        let mut body = varint(huge);
        body.extend([1, 2, 3]);
        assert!(proof(&body).is_err(), "inputs length {huge}");
        // One input of 2^40 values.
        let mut body = varint(1);
        body.extend(varint(huge));
        body.extend([0; 16]);
        assert!(proof(&body).is_err(), "input values length {huge}");
        // A well-formed statement whose transcript claims 2^40 bytes.
        let mut body = varint(1);
        body.extend(varint(1));
        body.push(0);
        body.extend(varint(1));
        body.extend(varint(1));
        body.push(0);
        body.extend(varint(huge));
        body.extend([7; 64]);
        assert!(proof(&body).is_err(), "transcript length {huge}");
        // A verifying key whose first list claims 2^40 entries.
        let mut body = varint(huge);
        body.extend([0; 32]);
        let vk = encode_envelope(*b"ZKVK", FORMAT_VERSION, &body);
        assert!(VerifyingKey::from_bytes(&vk).is_err(), "vk length {huge}");
    }
}

#[test]
fn activations_beyond_the_verifier_limits_are_refused_by_the_key_check() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/small_cnn");
    let (pk, _) = setup(&dir);
    check_key(&pk.vk).expect("the honest key");
    let act = pk
        .vk
        .graph
        .tensors
        .iter()
        .position(|t| t.kind == zkinfer_model::quant::QTensorKind::Activation)
        .expect("an activation");
    // One activation padding past 2^27 entries (3 · 2^26 pads to 2^28).
    let mut vk = pk.vk.clone();
    vk.graph.tensors[act].shape = vec![3, 1 << 26];
    let err = check_key(&vk).expect_err("an oversized activation must be refused");
    assert!(err.to_string().contains("verifier's limit"), "{err}");
    // Activations at the per-tensor limit, one more than the total limit holds.
    let mut vk = pk.vk.clone();
    let mut t = vk.graph.tensors[act].clone();
    t.shape = vec![1 << (MAX_ACTIVATION_VARS - 1), 2];
    for k in 0..=(MAX_ACTIVATION_TOTAL >> MAX_ACTIVATION_VARS) {
        let mut c = t.clone();
        c.name = format!("{}_{k}", t.name);
        vk.graph.tensors.push(c);
    }
    let err = check_key(&vk).expect_err("activations over the total limit must be refused");
    assert!(err.to_string().contains("verifier's limit"), "{err}");
}
