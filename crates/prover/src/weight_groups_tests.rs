//! Weights committed in several groups (`weights`): round trip with kept, streamed and inline
//! group data; every group's commitment, binding and range proof is checked.

use std::path::Path;

use zkinfer_field::p3_field::PrimeCharacteristicRing;
use zkinfer_model::quant::QTensorKind;

use crate::{compile_grouped, prove, verify, ProvingKey, VerifyingKey, GROUP_VARS_RANGE};

/// The bundled CNN compiled with the smallest groups (2^10 entries): several groups.
fn grouped() -> (ProvingKey, Vec<Vec<i64>>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/small_cnn");
    let (pk, inputs) = crate::tests::setup(&dir);
    let gk = compile_grouped(
        zkinfer_model::QuantizedGraph::clone(&pk.graph),
        Vec::new(),
        *GROUP_VARS_RANGE.start(),
    )
    .expect("compile grouped");
    (gk, inputs)
}

#[test]
fn grouped_weights_roundtrip_and_tamper() {
    let (pk, inputs) = grouped();
    let groups = pk.vk.weight_groups.len();
    assert!(groups >= 2, "only {groups} weight group(s)");
    assert_eq!(
        crate::weights::split(&pk.vk.weight_layout, pk.vk.weight_group_vars).len(),
        groups
    );
    // Each group at most 2^10 entries (larger constants are split into parts).
    for r in crate::weights::split(&pk.vk.weight_layout, pk.vk.weight_group_vars) {
        let size: u64 = pk.vk.weight_layout[r.clone()]
            .iter()
            .map(|&k| 1u64 << k)
            .sum();
        assert!(size <= 1 << 10, "group {r:?} holds {size} entries");
    }
    // The key compiled in this process streams its groups (several): two proofs in a row.
    let p1 = prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &p1).expect("verify");
    let p2 = prove(&pk, &inputs).expect("prove again");
    assert_eq!(p1.transcript, p2.transcript, "proofs are deterministic");
    // Loaded with a background stream: the first proof takes it, the second recommits inline.
    let bg = ProvingKey::from_bytes_background(&pk.to_bytes()).expect("load");
    assert_eq!(
        prove(&bg, &inputs).expect("streamed").transcript,
        p1.transcript
    );
    assert_eq!(
        prove(&bg, &inputs).expect("inline").transcript,
        p1.transcript
    );
    // Eager reload reproduces the key.
    ProvingKey::from_bytes(&pk.to_bytes()).expect("reload");

    let rejected = |vk: &VerifyingKey, what: &str| {
        assert!(verify(vk, &p1).is_err(), "{what}: accepted");
    };
    for gi in [0, groups - 1] {
        let mut vk = pk.vk.clone();
        vk.weight_groups[gi].root[0] ^= 1;
        rejected(&vk, &format!("group {gi} root"));
        let mut vk = pk.vk.clone();
        vk.weight_groups[gi].binding[0] += crate::EF::ONE;
        rejected(&vk, &format!("group {gi} binding"));
        let mut vk = pk.vk.clone();
        let n = vk.weight_groups[gi].range_proof.len();
        vk.weight_groups[gi].range_proof[n / 2] ^= 0x10;
        rejected(&vk, &format!("group {gi} range proof"));
    }
    let mut vk = pk.vk.clone();
    vk.weight_groups.swap(0, 1);
    rejected(&vk, "groups swapped");
    let mut vk = pk.vk.clone();
    vk.weight_groups.pop();
    rejected(&vk, "a group dropped");
    let mut vk = pk.vk.clone();
    vk.weight_group_vars += 1;
    rejected(&vk, "another group size");
    let mut vk = pk.vk.clone();
    vk.weight_group_vars = 40;
    rejected(&vk, "group size out of range");
    // Flipped bytes across the proof (the weight openings are at its end).
    let n = p1.transcript.len();
    for k in 0..32 {
        let mut p = p1.clone();
        let at = n - 1 - k * (n / 4) / 31;
        p.transcript[at] ^= 0x10;
        assert!(
            verify(&pk.vk, &p).is_err(),
            "flipped byte {at} of {n} accepted"
        );
    }
}

/// A stored key whose weights no longer match a group's root fails at that group's opening,
/// before any proof exists, naming the group.
#[test]
fn grouped_weights_mismatch_is_refused() {
    let (pk, inputs) = grouped();
    let mut g = zkinfer_model::QuantizedGraph::clone(&pk.graph);
    // The last constant lies in the last group.
    let id = pk.plan.consts.last().expect("a constant").0;
    if let QTensorKind::Const(d) = &mut g.tensors[id].kind {
        d[0] += 1;
    }
    let mut bad = compile_grouped(g, Vec::new(), pk.vk.weight_group_vars).expect("compile");
    bad.vk = pk.vk.clone();
    let bytes = bad.to_bytes();
    assert!(ProvingKey::from_bytes(&bytes).is_err());
    let bg = ProvingKey::from_bytes_background(&bytes).expect("decodes");
    let err = prove(&bg, &inputs).expect_err("mismatched weights proved");
    let last = pk.vk.weight_groups.len() - 1;
    assert!(
        err.to_string().contains(&format!("weight group {last}")),
        "{err}"
    );
}

/// A verifying key declaring a weight polynomial larger than its group fails validation
/// (every constant larger than a group is committed as parts of the group's size).
#[test]
fn polynomial_above_its_group_is_refused() {
    let (pk, inputs) = grouped();
    let proof = prove(&pk, &inputs).expect("prove");
    let mut vk = pk.vk.clone();
    vk.weight_layout[0] = usize::from(vk.weight_group_vars) + 1;
    let err = vk
        .weight_ranges()
        .expect_err("oversized polynomial accepted");
    assert!(err.to_string().contains("above its"), "{err}");
    assert!(verify(&vk, &proof).is_err());
}

/// A token embedding larger than a weight group, read by a gather (row claims) and by a tied
/// LM-head einsum (a claim at a general point): committed as 2^10-entry parts, each row claim
/// goes to its part, the head's claim is split by the parts' values; the proof verifies and
/// another id, another output, flipped bytes or another table are rejected.
#[test]
fn constant_larger_than_a_group_is_committed_in_parts() {
    use zkinfer_model::graph::{FloatGraph, FloatTensorKind};
    use zkinfer_model::ops::FloatOp;
    let (vocab, d) = (500, 8);
    let (mut g, ids, t, e, table) = crate::argmax_tests::embedding(vocab, d, 3, 1013);
    let logits = g.add_node(
        "head",
        FloatOp::Einsum {
            expr: "ti,oi->to".into(),
        },
        vec![e, t],
        vec![3, vocab],
    );
    g.inputs = vec![ids];
    g.outputs = vec![logits];
    let x = vec![499.0, 3.0, 260.0];
    let compile = |g: &FloatGraph| {
        let (pk, inputs) = crate::tests::quantize_and_compile(g, &[vec![x.clone()]]);
        let gk = compile_grouped(
            zkinfer_model::QuantizedGraph::clone(&pk.graph),
            Vec::new(),
            *GROUP_VARS_RANGE.start(),
        )
        .expect("compile grouped");
        (gk, inputs)
    };
    let (pk, inputs) = compile(&g);
    // One constant (the tied table, 2^9 × 2^3 = 2^12 padded) in four 2^10-entry parts.
    let polys = pk.plan.weight_polys(&pk.graph, pk.vk.weight_group_vars);
    assert_eq!(pk.plan.consts.len(), 1, "the table is one constant");
    assert_eq!(polys.len(), 4);
    assert!(polys.iter().all(|p| p.vars == 10));
    assert_eq!(pk.vk.weight_groups.len(), 4);
    let proof = prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");
    let bg = ProvingKey::from_bytes_background(&pk.to_bytes()).expect("load");
    assert_eq!(
        prove(&bg, &inputs).expect("streamed").transcript,
        proof.transcript
    );
    let mut bad = proof.clone();
    bad.inputs[0][1] = 4;
    assert!(verify(&pk.vk, &bad).is_err(), "another id accepted");
    crate::tests::tamper_statement_and_bytes(&pk.vk, &proof, 96);
    let mut g2 = g.clone();
    let mut table2 = table;
    table2[260 * d + 1] += 0.5;
    g2.tensors[t.0].kind = FloatTensorKind::Const(table2);
    let (pk2, _) = compile(&g2);
    assert!(
        verify(&pk2.vk, &proof).is_err(),
        "a proof for another table accepted"
    );
}
