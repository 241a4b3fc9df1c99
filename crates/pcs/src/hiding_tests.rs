//! [`HidingPcs`]: the same round-trip and tamper suite as the plain scheme (shared helpers in
//! `tests.rs`), plus what hiding must add: fresh randomness per commitment, proofs whose shape
//! does not depend on the committed values, and no committed value in the proof bytes.

use p3_field::{PrimeCharacteristicRing, PrimeField64};
use proptest::prelude::*;
use rand::distr::{Distribution, StandardUniform};
use zkinfer_field::{FieldConfig, GoldilocksConfig, KoalaBearConfig};
use zkinfer_transcript::{DomainSeparator, Proof, ProverTranscript};

use crate::tests::{ds, instance, prove_with, shape_strategy, verify_with, Instance};
use crate::*;

type G = GoldilocksConfig;

fn pcs<C: FieldConfig>(seed: u64) -> HidingPcs<C>
where
    C::F: Ord,
    StandardUniform: Distribution<C::F> + Distribution<C::EF>,
{
    HidingPcs::with_seed(WhirParams::insecure_for_tests(), seed)
}

fn roundtrip<C: FieldConfig>(seed: u64, vars: &[usize], claim_polys: &[usize])
where
    C::F: Ord,
    StandardUniform: Distribution<C::F> + Distribution<C::EF>,
{
    let params = WhirParams::insecure_for_tests();
    let p = pcs::<C>(seed);
    let inst = instance::<C>(seed, vars, claim_polys);
    let (c, proof) = prove_with(&p, &inst, &ds::<C>(&params));
    assert_eq!(c.layout, vars);
    verify_with::<C, _>(&p, vars, &inst.claims, &proof.bytes, &ds::<C>(&params))
        .expect("honest hiding proof must verify");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

    #[test]
    fn hiding_roundtrip_goldilocks((seed, vars, claims) in shape_strategy()) {
        roundtrip::<G>(seed, &vars, &claims);
    }

    #[test]
    fn hiding_roundtrip_koalabear((seed, vars, claims) in shape_strategy()) {
        roundtrip::<KoalaBearConfig>(seed, &vars, &claims);
    }

    #[test]
    fn hiding_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let params = WhirParams::insecure_for_tests();
        let inst = instance::<G>(1, &[6, 4], &[0, 1]);
        prop_assert!(verify_with::<G, _>(&pcs::<G>(1), &[6, 4], &inst.claims, &bytes, &ds::<G>(&params)).is_err());
    }
}

/// A fixed instance with its honest hiding proof.
fn fixture() -> (Instance<G>, Vec<usize>, Proof, DomainSeparator) {
    let params = WhirParams::insecure_for_tests();
    let vars = vec![8, 5, 3, 8];
    let inst = instance::<G>(7, &vars, &[0, 1, 2, 0, 3]);
    let ds = ds::<G>(&params);
    let (_, proof) = prove_with(&pcs::<G>(3), &inst, &ds);
    verify_with::<G, _>(&pcs::<G>(4), &vars, &inst.claims, &proof.bytes, &ds).expect("honest");
    (inst, vars, proof, ds)
}

/// Root (32) + values (5 × 16) + the proof's u32 length prefix.
const PROOF_START: usize = 32 + 5 * 16 + 4;

fn rejected(e: &PcsError) -> bool {
    matches!(
        e,
        PcsError::WhirRejected { .. } | PcsError::ProofDecode { .. } | PcsError::Transcript(_)
    )
}

#[test]
fn hiding_wrong_value_rejected() {
    let (inst, vars, proof, ds) = fixture();
    for k in 0..inst.claims.len() {
        let mut bytes = proof.bytes.clone();
        // Value k sits after the root; bump its first base coefficient (kept canonical).
        let at = 32 + 16 * k;
        bytes[at] = bytes[at].wrapping_add(1);
        let e = verify_with::<G, _>(&pcs::<G>(5), &vars, &inst.claims, &bytes, &ds).unwrap_err();
        assert!(rejected(&e), "value {k}: {e}");
    }
}

#[test]
fn hiding_flipped_proof_bytes_rejected() {
    let (inst, vars, proof, ds) = fixture();
    let len = proof.bytes.len();
    assert!(len > PROOF_START + 64);
    // Every 97th byte of the HVZK-WHIR proof, and the root.
    let positions = (PROOF_START..len).step_by(97).chain([0, 31]);
    let mut checked = 0;
    for at in positions {
        let mut bytes = proof.bytes.clone();
        bytes[at] ^= 0x01;
        let e = verify_with::<G, _>(&pcs::<G>(5), &vars, &inst.claims, &bytes, &ds).unwrap_err();
        assert!(rejected(&e), "byte {at} of {len}: {e}");
        checked += 1;
    }
    assert!(checked > 10);
}

#[test]
fn hiding_changed_point_or_poly_rejected() {
    let (inst, vars, proof, ds) = fixture();
    let mut claims = inst.claims.clone();
    claims[1].point[0] += <G as FieldConfig>::EF::ONE;
    assert!(verify_with::<G, _>(&pcs::<G>(5), &vars, &claims, &proof.bytes, &ds).is_err());
    // Claim 0 and claim 4 are both on 8-variable polynomials (0 and 3): swap which one.
    let mut claims = inst.claims.clone();
    claims[0].poly = 3;
    assert!(verify_with::<G, _>(&pcs::<G>(5), &vars, &claims, &proof.bytes, &ds).is_err());
}

#[test]
fn hiding_truncated_and_extended_rejected() {
    let (inst, vars, proof, ds) = fixture();
    for cut in [1, 17, proof.bytes.len() / 2, proof.bytes.len() - 1] {
        assert!(
            verify_with::<G, _>(&pcs::<G>(5), &vars, &inst.claims, &proof.bytes[..cut], &ds)
                .is_err()
        );
    }
    let mut longer = proof.bytes.clone();
    longer.push(0);
    assert!(verify_with::<G, _>(&pcs::<G>(5), &vars, &inst.claims, &longer, &ds).is_err());
}

#[test]
fn hiding_and_plain_proofs_do_not_verify_as_each_other() {
    let (inst, vars, proof, ds) = fixture();
    let plain = WhirPcs::<G>::new(WhirParams::insecure_for_tests());
    assert!(verify_with::<G, _>(&plain, &vars, &inst.claims, &proof.bytes, &ds).is_err());
    let (_, plain_proof) = prove_with(&plain, &inst, &ds);
    assert!(
        verify_with::<G, _>(&pcs::<G>(1), &vars, &inst.claims, &plain_proof.bytes, &ds).is_err()
    );
}

#[test]
fn hiding_commitment_is_opened_once_and_checks_values() {
    let inst = instance::<G>(2, &[6], &[0]);
    let p = pcs::<G>(2);
    let ds = ds::<G>(p.params());
    // A wrong value is refused, nothing is written, and the commitment is spent (the check
    // uses the evaluations the opening computes).
    let (_, data) = p.commit(&[&inst.polys[0]]).unwrap();
    let mut t = ProverTranscript::new(&ds);
    let mut wrong = inst.claims.clone();
    wrong[0].value += <G as FieldConfig>::EF::ONE;
    assert!(matches!(
        p.open(&data, &wrong, &mut t),
        Err(PcsError::ClaimValue { index: 0 })
    ));
    assert_eq!(
        t.finish().bytes,
        ProverTranscript::<<G as FieldConfig>::F>::new(&ds)
            .finish()
            .bytes
    );
    let mut t = ProverTranscript::new(&ds);
    assert!(matches!(
        p.open(&data, &inst.claims, &mut t),
        Err(PcsError::AlreadyOpened)
    ));
    // Honest values open once.
    let (_, data) = p.commit(&[&inst.polys[0]]).unwrap();
    p.open(&data, &inst.claims, &mut t).unwrap();
    assert!(matches!(
        p.open(&data, &inst.claims, &mut t),
        Err(PcsError::AlreadyOpened)
    ));
}

/// The shape of a hiding proof read back from a transcript written by `prove_with` with
/// `claims` values: every count a proof carries except the Merkle multi-proofs' (which
/// merge duplicate query positions, so their size follows the public-coin queries).
fn shape(bytes: &[u8], claims: usize) -> Vec<usize> {
    let body = &bytes[32 + 16 * claims + 4..];
    let p: crate::hiding::ZkProof<G> =
        bincode::Options::deserialize(crate::hiding::wire(), body).expect("decodes");
    let mut s = vec![
        p.sumchecks.len(),
        p.sumcheck_mask_commitments.len(),
        p.rounds.len(),
        p.base_case.blinded_message.len(),
        p.base_case.blinded_randomness.len(),
        p.base_case.blinded_masks.len(),
        p.base_case.fresh_mask_commitments.len(),
    ];
    s.extend(p.rounds.iter().map(|r| r.ood_answers.len()));
    s
}

/// The same polynomial committed twice gives unrelated roots (fresh encoding randomness), and
/// proofs for different polynomials with the same layout and claim positions have the same
/// shape: it is a function of the public statement (and the public-coin queries) only.
#[test]
fn hiding_randomized_roots_and_value_independent_shape() {
    let params = WhirParams::insecure_for_tests();
    let a = instance::<G>(11, &[9, 6], &[0, 1, 0]);
    let p = pcs::<G>(9);
    let refs: Vec<&[_]> = a.polys.iter().map(Vec::as_slice).collect();
    let (c1, _) = p.commit(&refs).unwrap();
    let (c2, _) = p.commit(&refs).unwrap();
    assert_ne!(c1.root, c2.root);
    let plain = WhirPcs::<G>::new(params);
    let (p1, _) = plain.commit(&refs).unwrap();
    let (p2, _) = plain.commit(&refs).unwrap();
    assert_eq!(p1.root, p2.root, "the plain scheme is deterministic");

    let mut b = instance::<G>(12, &[9, 6], &[0, 1, 0]);
    // Same points as `a`, other polynomials (and so other values).
    for (cb, ca) in b.claims.iter_mut().zip(&a.claims) {
        cb.point = ca.point.clone();
        cb.value = crate::tests::eval_naive::<G>(&b.polys[cb.poly], &cb.point);
    }
    let (_, pa) = prove_with(&p, &a, &ds::<G>(&params));
    let (_, pb) = prove_with(&p, &b, &ds::<G>(&params));
    assert_eq!(shape(&pa.bytes, 3), shape(&pb.bytes, 3));
    // Lengths differ only through merged duplicate query positions (public coins): a few
    // Merkle nodes, never more than a small fraction of the proof.
    let (la, lb) = (pa.bytes.len() as f64, pb.bytes.len() as f64);
    assert!((la - lb).abs() / la < 0.05, "{la} vs {lb}");
}

/// No committed value appears in the proof as the project's 8-byte little-endian encoding of
/// a Goldilocks element, at any offset.
#[test]
fn hiding_proof_bytes_do_not_contain_committed_values() {
    let params = WhirParams::insecure_for_tests();
    let inst = instance::<G>(21, &[10], &[0, 0]);
    let (_, proof) = prove_with(&pcs::<G>(21), &inst, &ds::<G>(&params));
    let words: std::collections::HashSet<[u8; 8]> = inst.polys[0]
        .iter()
        .map(|v| v.as_canonical_u64().to_le_bytes())
        .collect();
    let hit = proof
        .bytes
        .windows(8)
        .position(|w| words.contains(<&[u8; 8]>::try_from(w).unwrap()));
    assert_eq!(hit, None, "a committed value appears in the proof");
}

/// The default (proven, λ = 107 per term) parameters configure the hiding scheme at the sizes
/// the prover commits, and say how many claims one opening may batch.
#[test]
fn hiding_default_params_configure() {
    let p = HidingPcs::<G>::with_seed(WhirParams::default(), 1);
    for k in [8usize, 12, 16, 20, 22, 24, 26] {
        let k_stacked = p.stacked_vars(&[k]).expect("configures");
        assert!(k_stacked >= k);
        let n = p.max_claims(&[k]).expect("claims");
        eprintln!(
            "hiding, default params: 2^{k} → stacked 2^{k_stacked}, ≤ {n} claims per opening"
        );
        assert!(n >= 1, "2^{k}: not even one claim");
    }
}
