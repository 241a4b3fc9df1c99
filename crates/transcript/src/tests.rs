use proptest::prelude::*;
use zkinfer_field::p3_field::PrimeCharacteristicRing;
use zkinfer_field::{Goldilocks, GoldilocksExt2, KoalaBear, KoalaBearExt4};

use crate::*;

fn ds() -> DomainSeparator {
    DomainSeparator::new("test", 1, "goldilocks-ext2", b"")
}

/// A small fixed protocol: observe, write, sample, write ext, bytes, digest.
fn run_prover(vals: &[u64]) -> (Proof, GoldilocksExt2) {
    let mut p = ProverTranscript::<Goldilocks>::new(&ds());
    p.observe_bytes("stmt", b"public");
    let fs: Vec<Goldilocks> = vals.iter().map(|&v| Goldilocks::from_u64(v)).collect();
    p.write_base("vals", &fs);
    let c: GoldilocksExt2 = p.sample_ext("c");
    p.write_ext("c2", &[c * c]);
    p.write_bytes("blob", b"hello");
    p.write_digest("root", &[7u8; 32]);
    let d: GoldilocksExt2 = p.sample_ext("d");
    (p.finish(), d)
}

fn run_verifier(
    bytes: &[u8],
    n: usize,
    pattern: Option<&Pattern>,
) -> Result<GoldilocksExt2, TranscriptError> {
    let mut v = match pattern {
        Some(pat) => VerifierTranscript::<Goldilocks>::with_pattern(&ds(), bytes, pat),
        None => VerifierTranscript::<Goldilocks>::new(&ds(), bytes),
    };
    v.observe_bytes("stmt", b"public");
    v.read_base("vals", n)?;
    let c: GoldilocksExt2 = v.sample_ext("c");
    let c2: GoldilocksExt2 = v.read_ext_one("c2")?;
    assert_eq!(c2, c * c, "honest transcript must reproduce challenges");
    v.read_bytes("blob", 16)?;
    v.read_digest("root")?;
    let d = v.sample_ext("d");
    v.finish()?;
    Ok(d)
}

#[test]
fn roundtrip_reproduces_challenges() {
    let (proof, d) = run_prover(&[1, 2, 3]);
    assert_eq!(
        run_verifier(&proof.bytes, 3, Some(&proof.pattern)).unwrap(),
        d
    );
}

/// Two branches written concurrently (any order) read back in fork order; their challenges
/// differ from each other and depend on what was bound before the fork; a changed byte in
/// either branch changes the challenge after the join.
#[test]
fn forked_branches_roundtrip() {
    let prove = |pre: u64, a: u64, b: u64| {
        let mut p = ProverTranscript::<Goldilocks>::new(&ds());
        p.write_base("pre", &[Goldilocks::from_u64(pre)]);
        let mut br = p.fork(&["a", "b"]);
        // Branch b first: the order of work does not matter, only the fork order.
        let cb: GoldilocksExt2 = br[1].sample_ext("cb");
        br[1].write_ext("xb", &[cb, GoldilocksExt2::from_u64(b)]);
        let ca: GoldilocksExt2 = br[0].sample_ext("ca");
        br[0].write_base("xa", &[Goldilocks::from_u64(a)]);
        p.join("end", br);
        let d: GoldilocksExt2 = p.sample_ext("d");
        (p.finish(), ca, cb, d)
    };
    let (proof, ca, cb, d) = prove(1, 2, 3);
    assert_ne!(ca, cb);
    let verify = |bytes: &[u8]| -> Result<(GoldilocksExt2, GoldilocksExt2, GoldilocksExt2), TranscriptError> {
        let mut v = VerifierTranscript::<Goldilocks>::with_pattern(&ds(), bytes, &proof.pattern);
        v.read_base("pre", 1)?;
        let mut br = v.fork(&["a", "b"]);
        let ca: GoldilocksExt2 = br[0].sample_ext("ca");
        br[0].read_base("xa", 1)?;
        let (first, rest) = br.split_at_mut(1);
        rest[0].follow(&first[0]);
        let cb: GoldilocksExt2 = rest[0].sample_ext("cb");
        let xb: Vec<GoldilocksExt2> = rest[0].read_ext("xb", 2)?;
        assert_eq!(xb[0], cb);
        v.join("end", br);
        let d = v.sample_ext("d");
        v.finish()?;
        Ok((ca, cb, d))
    };
    assert_eq!(verify(&proof.bytes).unwrap(), (ca, cb, d));
    // What was bound before the fork reaches both branches.
    let (_, ca2, cb2, _) = prove(9, 2, 3);
    assert!(ca2 != ca && cb2 != cb);
    // A branch's messages reach the challenge after the join.
    let (_, _, _, d2) = prove(1, 2, 4);
    assert_ne!(d2, d);
    let (_, _, _, d3) = prove(1, 5, 3);
    assert_ne!(d3, d);
}

#[test]
fn different_domain_gives_different_challenges() {
    let mut a = ProverTranscript::<Goldilocks>::new(&ds());
    let mut b = ProverTranscript::<Goldilocks>::new(&DomainSeparator::new(
        "test",
        2,
        "goldilocks-ext2",
        b"",
    ));
    let ca: GoldilocksExt2 = a.sample_ext("c");
    let cb: GoldilocksExt2 = b.sample_ext("c");
    assert_ne!(ca, cb);
}

#[test]
fn flipped_byte_changes_later_challenge() {
    let (proof, d) = run_prover(&[1, 2, 3]);
    let mut bytes = proof.bytes.clone();
    bytes[0] ^= 1;
    // Value 1 → 0 is still canonical, so reading succeeds but challenges diverge.
    let mut v = VerifierTranscript::<Goldilocks>::new(&ds(), &bytes);
    v.observe_bytes("stmt", b"public");
    v.read_base("vals", 3).unwrap();
    let c: GoldilocksExt2 = v.sample_ext("c");
    let c2: GoldilocksExt2 = v.read_ext_one("c2").unwrap();
    assert_ne!(c2, c * c);
    let _ = d;
}

#[test]
fn non_canonical_rejected() {
    let mut bytes = u64::MAX.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[0; 8]);
    let mut v = VerifierTranscript::<Goldilocks>::new(&ds(), &bytes);
    assert_eq!(
        v.read_base("x", 2),
        Err(TranscriptError::NonCanonical { label: "x" })
    );
}

#[test]
fn trailing_bytes_rejected() {
    let (mut proof, _) = run_prover(&[5]);
    proof.bytes.push(0);
    assert_eq!(
        run_verifier(&proof.bytes, 1, None),
        Err(TranscriptError::TrailingBytes { count: 1 })
    );
}

#[test]
fn huge_count_does_not_allocate() {
    let mut v = VerifierTranscript::<Goldilocks>::new(&ds(), &[0u8; 16]);
    assert!(matches!(
        v.read_ext::<GoldilocksExt2>("x", usize::MAX / 2),
        Err(TranscriptError::UnexpectedEnd { .. })
    ));
    let mut v = VerifierTranscript::<Goldilocks>::new(&ds(), &[0xff; 8]);
    assert!(matches!(
        v.read_bytes("b", 1 << 20),
        Err(TranscriptError::TooLong { .. })
    ));
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "transcript drift")]
fn drift_is_loud_in_debug() {
    let (proof, _) = run_prover(&[1, 2, 3]);
    let mut v = VerifierTranscript::<Goldilocks>::with_pattern(&ds(), &proof.bytes, &proof.pattern);
    v.observe_bytes("stmt", b"public");
    let _ = v.sample_ext::<GoldilocksExt2>("c"); // prover wrote "vals" first
}

#[test]
fn koalabear_uses_four_byte_elements() {
    let mut p = ProverTranscript::<KoalaBear>::new(&ds());
    p.write_base("x", &[KoalaBear::from_u64(9); 3]);
    p.write_ext::<KoalaBearExt4>("y", &[KoalaBearExt4::ONE]);
    let proof = p.finish();
    assert_eq!(proof.bytes.len(), 3 * 4 + 16);
    let mut v = VerifierTranscript::<KoalaBear>::new(&ds(), &proof.bytes);
    assert_eq!(
        v.read_base("x", 3).unwrap(),
        vec![KoalaBear::from_u64(9); 3]
    );
    assert_eq!(
        v.read_ext::<KoalaBearExt4>("y", 1).unwrap(),
        vec![KoalaBearExt4::ONE]
    );
    v.finish().unwrap();
}

#[test]
fn envelope_checks_header() {
    let e = encode_envelope(*b"TEST", 1, b"body");
    assert_eq!(decode_envelope(&e, *b"TEST", 1).unwrap(), b"body");
    assert!(matches!(
        decode_envelope(&e, *b"OTHR", 1),
        Err(EnvelopeError::WrongKind { .. })
    ));
    assert!(matches!(
        decode_envelope(&e, *b"TEST", 2),
        Err(EnvelopeError::WrongVersion { .. })
    ));
    assert!(matches!(
        decode_envelope(&e[..5], *b"TEST", 1),
        Err(EnvelopeError::TooShort(5))
    ));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), n in 0usize..40) {
        let _ = run_verifier_no_assert(&bytes, n);
    }

    #[test]
    fn truncations_rejected(cut in 0usize..80) {
        let (proof, _) = run_prover(&[1, 2, 3]);
        let cut = cut.min(proof.bytes.len() - 1);
        prop_assert!(run_verifier_no_assert(&proof.bytes[..cut], 3).is_err());
    }
}

fn run_verifier_no_assert(bytes: &[u8], n: usize) -> Result<(), TranscriptError> {
    let mut v = VerifierTranscript::<Goldilocks>::new(&ds(), bytes);
    v.observe_bytes("stmt", b"public");
    v.read_base("vals", n)?;
    let _: GoldilocksExt2 = v.sample_ext("c");
    v.read_ext::<GoldilocksExt2>("c2", 1)?;
    v.read_bytes("blob", 16)?;
    v.read_digest("root")?;
    v.finish()
}
