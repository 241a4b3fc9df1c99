//! Golden proof: pins the transcript framing, the field encoding and the sumcheck message
//! layout. A change that alters these bytes is a format change: bump the protocol version and
//! re-bless with `ZKINFER_BLESS=1 cargo test -p zkinfer-sumcheck --test golden`.

use zkinfer_field::p3_field::PrimeCharacteristicRing;
use zkinfer_field::{FieldConfig, GoldilocksConfig};
use zkinfer_sumcheck::{prove, verify, Composition, Mle};
use zkinfer_transcript::{
    decode_envelope, encode_envelope, DomainSeparator, ProverTranscript, VerifierTranscript,
};

type F = <GoldilocksConfig as FieldConfig>::F;
type EF = <GoldilocksConfig as FieldConfig>::EF;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/sumcheck_v1.bin");

#[test]
fn golden_sumcheck_proof_v1() {
    let a: Vec<F> = (0..16u64).map(|i| F::from_u64(i * i + 1)).collect();
    let b: Vec<F> = (0..16u64).map(|i| F::from_u64(3 * i + 2)).collect();
    let claim = EF::from(a.iter().zip(&b).map(|(&x, &y)| x * y).sum::<F>());
    let ds = DomainSeparator::new("zkinfer-golden-sumcheck", 1, GoldilocksConfig::ID, b"");
    let mut t = ProverTranscript::<F>::new(&ds);
    let comp = Composition::<EF>::product(2);
    let out = prove(claim, vec![Mle::Base(&a), Mle::Base(&b)], &comp, &mut t);
    t.write_ext("final evaluations", &out.evals);
    let file = encode_envelope(*b"SUMC", 1, &t.finish().bytes);

    if std::env::var_os("ZKINFER_BLESS").is_some() {
        std::fs::write(PATH, &file).expect("write golden file");
    }
    let golden = std::fs::read(PATH).expect("golden file present");
    assert_eq!(
        file, golden,
        "sumcheck proof bytes changed: this is a format change (see module doc)"
    );

    // The golden bytes still verify.
    let body = decode_envelope(&golden, *b"SUMC", 1).expect("envelope");
    let mut v = VerifierTranscript::<F>::new(&ds, body);
    let red = verify(claim, 4, 2, &mut v).expect("golden proof verifies");
    let evals: Vec<EF> = v.read_ext("final evaluations", 2).expect("evals");
    red.check(&comp, &evals).expect("final check");
    assert_eq!(evals[0], zkinfer_poly::evaluate(&a, &red.point));
    v.finish().expect("no trailing bytes");
}
