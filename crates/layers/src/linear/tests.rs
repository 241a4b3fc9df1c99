use proptest::prelude::*;
use zkinfer_field::p3_field::{PrimeCharacteristicRing, PrimeField64};
use zkinfer_field::{from_signed, FieldConfig, GoldilocksConfig, KoalaBearConfig};
use zkinfer_poly::evaluate;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

use crate::linear::*;

/// Naive integer matmul: the independent ground truth for Y.
fn matmul(x: &[i64], w: &[i64], m: usize, n: usize, p: usize) -> Vec<i64> {
    let mut y = vec![0i64; m * p];
    for i in 0..m {
        for k in 0..p {
            y[i * p + k] = (0..n).map(|j| x[i * n + j] * w[j * p + k]).sum();
        }
    }
    y
}

fn field<C: FieldConfig>(v: &[i64]) -> Vec<C::F> {
    v.iter().map(|&a| from_signed::<C::F>(a)).collect()
}

/// Proves a claim on Y at a transcript-derived point; returns whether the verifier accepted and
/// settled both claims against the true X and W.
fn run<C: FieldConfig>(
    shape: MatMulShape,
    seed: i64,
    tamper_y: bool,
    tamper_byte: Option<usize>,
) -> bool {
    let (m, n, p) = (1 << shape.log_m, 1 << shape.log_n, 1 << shape.log_p);
    let x: Vec<i64> = (0..m * n)
        .map(|i| (i as i64 * 7 + seed) % 255 - 127)
        .collect();
    let w: Vec<i64> = (0..n * p)
        .map(|i| (i as i64 * 13 + 3 * seed) % 255 - 127)
        .collect();
    let y = field::<C>(&matmul(&x, &w, m, n, p));
    let (xf, wf) = (field::<C>(&x), field::<C>(&w));
    let ds = DomainSeparator::new("linear-test", 1, C::ID, b"");

    let mut pt = ProverTranscript::<C::F>::new(&ds);
    pt.observe_base("y", &y);
    let r: Vec<C::EF> = pt.sample_ext_vec("y point", shape.log_m + shape.log_p);
    let v = evaluate(&y, &r);
    let _ = prove(shape, &xf, &wf, &r, v, &mut pt);
    let mut bytes = pt.finish().bytes;
    if let Some(b) = tamper_byte {
        let len = bytes.len();
        bytes[b % len] ^= 1;
    }

    let mut y_claimed = y.clone();
    if tamper_y {
        y_claimed[0] += C::F::ONE;
    }
    let mut vt = VerifierTranscript::<C::F>::new(&ds, &bytes);
    vt.observe_base("y", &y_claimed);
    let r: Vec<C::EF> = vt.sample_ext_vec("y point", shape.log_m + shape.log_p);
    let v = evaluate(&y_claimed, &r);
    match verify(shape, &r, v, &mut vt) {
        Ok(c) => {
            evaluate(&xf, &c.x_point) == c.x_value
                && evaluate(&wf, &c.w_point) == c.w_value
                && vt.finish().is_ok()
        }
        Err(_) => false,
    }
}

macro_rules! conformance {
    ($name:ident, $cfg:ty) => {
        mod $name {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(24))]
                #[test]
                fn honest(lm in 0usize..4, ln in 0usize..6, lp in 0usize..4, seed in 0i64..1000) {
                    let shape = MatMulShape { log_m: lm, log_n: ln, log_p: lp };
                    prop_assert!(run::<$cfg>(shape, seed, false, None));
                }
                #[test]
                fn wrong_output_rejected(lm in 0usize..3, ln in 1usize..5, lp in 0usize..3, seed in 0i64..1000) {
                    let shape = MatMulShape { log_m: lm, log_n: ln, log_p: lp };
                    prop_assert!(!run::<$cfg>(shape, seed, true, None));
                }
                #[test]
                fn flipped_byte_rejected(ln in 1usize..5, at in 0usize..10_000, seed in 0i64..1000) {
                    let shape = MatMulShape { log_m: 1, log_n: ln, log_p: 1 };
                    prop_assert!(!run::<$cfg>(shape, seed, false, Some(at)));
                }
            }
        }
    };
}

conformance!(goldilocks, GoldilocksConfig);
conformance!(koalabear, KoalaBearConfig);

#[test]
fn garbage_never_panics() {
    type C = GoldilocksConfig;
    let ds = DomainSeparator::new("linear-test", 1, C::ID, b"");
    let shape = MatMulShape {
        log_m: 2,
        log_n: 3,
        log_p: 2,
    };
    for len in 0..300usize {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
        let mut vt = VerifierTranscript::<<C as FieldConfig>::F>::new(&ds, &bytes);
        let r = vec![<C as FieldConfig>::EF::ONE; 4];
        let _ = verify(shape, &r, <C as FieldConfig>::EF::ZERO, &mut vt);
        let _ = verify(shape, &r[..1], <C as FieldConfig>::EF::ZERO, &mut vt);
    }
    let _ = <C as FieldConfig>::F::ORDER_U64;
}
