//! The masked walk (`ProveOptions { masked: true }`): every sumcheck of the walk masked, the
//! masks in one hiding commitment opened at the end. Honest round trips across op families,
//! tamper (statement, spread byte flips, the mask layout, truncation), hostile bytes, fresh
//! masks per proof.

use std::path::Path;

use crate::tests::{peer, root, setup};
use crate::{prove_trace_with, verify, ModelProof, ProveOptions, ProvingKey};
use zkinfer_model::quant::run::run_quantized;

const MASKED: ProveOptions = ProveOptions { masked: true };

fn masked_proof(pk: &ProvingKey, inputs: &[Vec<i64>]) -> ModelProof {
    let tr = run_quantized(&pk.graph, inputs).expect("run");
    prove_trace_with(pk, &tr, MASKED).expect("masked prove").0
}

/// Where the mask layout sits in the transcript: its 4-byte length, then one byte per mask.
fn layout_at(pk: &ProvingKey, proof: &ModelProof) -> usize {
    let tabs = crate::protocol::tables(&pk.graph, &pk.plan);
    let rounds = crate::protocol::lookup_mask_rounds(&pk.plan, &tabs);
    let mut layout: Vec<usize> = crate::protocol::masked_shapes(&pk.vk, &rounds)
        .expect("shapes")
        .into_iter()
        .map(|s| {
            zkinfer_sumcheck::MaskShape::new(s.vars, s.degree)
                .unwrap()
                .table_vars::<crate::F, crate::EF>()
        })
        .collect();
    let stack = crate::masks::MaskStack::new(&pk.plan.witness_layout(), &layout).unwrap();
    layout.push(
        crate::masks::settlement_shape(&stack)
            .unwrap()
            .table_vars::<crate::F, crate::EF>(),
    );
    let layout: Vec<u8> = layout.into_iter().map(|v| v as u8).collect();
    let mut needle = (layout.len() as u32).to_le_bytes().to_vec();
    needle.extend(&layout);
    proof
        .transcript
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("mask layout in the transcript")
}

#[test]
fn masked_proofs_verify() {
    let mut dirs = vec![root().join("examples/models/small_cnn")];
    dirs.extend(
        [
            "lenet_5",
            "1l_topk",
            "layernorm",
            "self_attention",
            "nanoGPT",
        ]
        .iter()
        .filter_map(|n| peer(n)),
    );
    for dir in dirs {
        let (pk, inputs) = setup(&dir);
        let proof = masked_proof(&pk, &inputs);
        verify(&pk.vk, &proof).expect("masked proof verifies");
        let back = ModelProof::from_bytes(&proof.to_bytes()).expect("decode");
        verify(&pk.vk, &back).expect("decoded masked proof verifies");
        let plain = crate::prove(&pk, &inputs).expect("plain prove");
        eprintln!(
            "{}: plain {} B, masked {} B",
            dir.display(),
            plain.transcript.len(),
            proof.transcript.len()
        );
    }
}

fn tamper_masked(dir: &Path) {
    let (pk, inputs) = setup(dir);
    let vk = &pk.vk;
    let proof = masked_proof(&pk, &inputs);
    verify(vk, &proof).expect("honest");
    crate::tests::tamper_statement_and_bytes(vk, &proof, 96);
    // The mask layout: its length, each entry, and an empty layout (a plain proof's).
    let at = layout_at(&pk, &proof);
    let k = u32::from_le_bytes(proof.transcript[at..at + 4].try_into().unwrap()) as usize;
    for off in [0, 4, 4 + k / 2, 4 + k - 1] {
        let mut p = proof.clone();
        p.transcript[at + off] ^= 1;
        assert!(
            verify(vk, &p).is_err(),
            "mask layout byte {off} changed, accepted"
        );
    }
    let mut p = proof.clone();
    p.transcript.splice(at..at + 4 + k, [0, 0, 0, 0]);
    assert!(verify(vk, &p).is_err(), "mask layout removed, accepted");

    let mut p = proof.clone();
    p.transcript.truncate(proof.transcript.len() - 1);
    assert!(verify(vk, &p).is_err(), "last byte cut, accepted");
}

#[test]
fn masked_tampering_is_rejected() {
    tamper_masked(&root().join("examples/models/small_cnn"));
    if let Some(dir) = peer("self_attention") {
        tamper_masked(&dir);
    }
}

#[test]
fn masked_hostile_bytes_do_not_panic() {
    let (pk, inputs) = setup(&root().join("examples/models/small_cnn"));
    let proof = masked_proof(&pk, &inputs);
    let at = layout_at(&pk, &proof);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Random bytes after the mask layout (commitment, rounds, openings), and every cut.
    for _ in 0..16 {
        let mut p = proof.clone();
        for b in &mut p.transcript[at..] {
            *b = next() as u8;
        }
        assert!(verify(&pk.vk, &p).is_err());
    }
    let n = proof.transcript.len();
    for cut in (0..n).step_by(n / 40 + 1) {
        let mut p = proof.clone();
        p.transcript.truncate(cut);
        assert!(verify(&pk.vk, &p).is_err(), "cut at {cut} accepted");
    }
    // A layout claiming the most masks allowed, all of them huge.
    let mut p = proof.clone();
    let k = 1usize << 18;
    let mut hostile = (k as u32).to_le_bytes().to_vec();
    hostile.extend(std::iter::repeat_n(60u8, k));
    let end =
        at + 4 + u32::from_le_bytes(proof.transcript[at..at + 4].try_into().unwrap()) as usize;
    p.transcript.splice(at..end, hostile);
    assert!(verify(&pk.vk, &p).is_err());
}

/// Fresh masks every proof: two masked proofs of the same run differ and both verify. Their
/// lengths may differ slightly: fresh masks change every later challenge, hence the WHIR
/// query positions, and colliding queries share Merkle paths (a function of public
/// challenges, not of the witness; docs/ZK.md).
#[test]
fn masks_are_fresh() {
    let (pk, inputs) = setup(&root().join("examples/models/small_cnn"));
    let a = masked_proof(&pk, &inputs);
    let b = masked_proof(&pk, &inputs);
    let (la, lb) = (a.transcript.len() as f64, b.transcript.len() as f64);
    assert!((la - lb).abs() / la < 0.02, "lengths {la} and {lb}");
    assert_ne!(a.transcript, b.transcript);
    verify(&pk.vk, &a).expect("a");
    verify(&pk.vk, &b).expect("b");
}
