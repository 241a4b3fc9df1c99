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
