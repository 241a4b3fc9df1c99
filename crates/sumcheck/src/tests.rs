//! Conformance tests, run for both field configurations through one generic body.

use proptest::prelude::*;
use zkinfer_field::p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use zkinfer_field::{FieldConfig, GoldilocksConfig, KoalaBearConfig};
use zkinfer_poly::{eq_table, evaluate};
use zkinfer_transcript::{DomainSeparator, Proof, ProverTranscript, VerifierTranscript};

use crate::*;

pub(crate) fn ds<C: FieldConfig>() -> DomainSeparator {
    DomainSeparator::new("sumcheck-test", 1, C::ID, b"")
}

pub(crate) struct Instance<C: FieldConfig> {
    pub(crate) tables: Vec<Vec<C::F>>,
    pub(crate) comp: Composition<C::EF>,
    pub(crate) claim: C::EF,
}

/// A random instance: `k` base tables in `n` variables and a random sum of products.
pub(crate) fn instance<C: FieldConfig>(n: usize, k: usize, seed: u64) -> Instance<C> {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let tables: Vec<Vec<C::F>> = (0..k)
        .map(|_| {
            (0..1usize << n)
                .map(|_| C::F::from_u64(next() >> 34))
                .collect()
        })
        .collect();
    let terms = (0..1 + next() as usize % 3)
        .map(|_| Term {
            coeff: C::EF::from_u64(next() >> 40),
            factors: (0..1 + next() as usize % 4)
                .map(|_| next() as usize % k)
                .collect(),
        })
        .collect();
    let comp = Composition::new(k, terms);
    let claim = (0..1usize << n)
        .map(|x| comp.evaluate(&tables.iter().map(|t| C::EF::from(t[x])).collect::<Vec<_>>()))
        .sum();
    Instance {
        tables,
        comp,
        claim,
    }
}

fn prove_instance<C: FieldConfig>(inst: &Instance<C>) -> (Proof, ProverOutput<C::EF>) {
    let mut t = ProverTranscript::<C::F>::new(&ds::<C>());
    let mles = inst
        .tables
        .iter()
        .map(|v| Mle::Base(v.as_slice()))
        .collect();
    let out = prove(inst.claim, mles, &inst.comp, &mut t);
    (t.finish(), out)
}

/// Verifies and settles the final claim by evaluating the tables directly.
fn verify_instance<C: FieldConfig>(
    inst: &Instance<C>,
    claim: C::EF,
    bytes: &[u8],
    domain: &DomainSeparator,
) -> Result<Vec<C::EF>, SumcheckError> {
    let n = zkinfer_poly::num_vars(inst.tables[0].len());
    let mut t = VerifierTranscript::<C::F>::new(domain, bytes);
    let reduced = verify(claim, n, inst.comp.degree(), &mut t)?;
    let evals: Vec<C::EF> = inst
        .tables
        .iter()
        .map(|v| evaluate(v, &reduced.point))
        .collect();
    reduced.check(&inst.comp, &evals)?;
    t.finish()
        .map_err(|source| SumcheckError::Transcript { round: n, source })?;
    Ok(reduced.point)
}

fn roundtrip<C: FieldConfig>(n: usize, k: usize, seed: u64) {
    let inst = instance::<C>(n, k, seed);
    let (proof, out) = prove_instance(&inst);
    let point = verify_instance(&inst, inst.claim, &proof.bytes, &ds::<C>()).expect("honest proof");
    assert_eq!(point, out.point);
    for (v, e) in inst.tables.iter().zip(&out.evals) {
        assert_eq!(evaluate(v, &out.point), *e, "prover's final evaluations");
    }
}

fn tamper_every_coefficient<C: FieldConfig>(n: usize, k: usize, seed: u64) {
    let inst = instance::<C>(n, k, seed);
    let (proof, _) = prove_instance(&inst);
    let elem =
        zkinfer_field::canonical_bytes::<C::F>() * <C::EF as BasedVectorSpace<C::F>>::DIMENSION;
    for i in 0..proof.bytes.len() / elem {
        let mut bad = proof.bytes.clone();
        bad[i * elem] ^= 1; // still canonical for both fields (low bit of the low limb)
        let err = verify_instance(&inst, inst.claim, &bad, &ds::<C>()).unwrap_err();
        assert!(
            matches!(
                err,
                SumcheckError::FinalCheck { .. } | SumcheckError::Transcript { .. }
            ),
            "{err:?}"
        );
    }
    // wrong claimed sum
    assert!(verify_instance(&inst, inst.claim + C::EF::ONE, &proof.bytes, &ds::<C>()).is_err());
    // Other domain separator (another statement/config). With a single round the honest
    // message is the same for every challenge, so only n ≥ 2 can tell domains apart.
    let other = DomainSeparator::new("sumcheck-test", 2, C::ID, b"");
    if n > 1 {
        assert!(verify_instance(&inst, inst.claim, &proof.bytes, &other).is_err());
    }
}

fn batch_roundtrip<C: FieldConfig>(n: usize, seed: u64) {
    let a = instance::<C>(n, 2, seed);
    let b = instance::<C>(n, 3, seed + 1);
    let mut t = ProverTranscript::<C::F>::new(&ds::<C>());
    let out = prove_batch(
        vec![
            (a.claim, mles(&a), a.comp.clone()),
            (b.claim, mles(&b), b.comp.clone()),
        ],
        &mut t,
    );
    let proof = t.finish();
    let degree = a.comp.degree().max(b.comp.degree());
    let check = |claims: &[C::EF]| -> Result<(), SumcheckError> {
        let mut v =
            VerifierTranscript::<C::F>::with_pattern(&ds::<C>(), &proof.bytes, &proof.pattern);
        let bc = verify_batch(claims, n, degree, &mut v)?;
        let ev = |i: &Instance<C>| -> Vec<C::EF> {
            i.tables
                .iter()
                .map(|t| evaluate(t, &bc.claim.point))
                .collect()
        };
        bc.check(&[a.comp.clone(), b.comp.clone()], &[ev(&a), ev(&b)])
    };
    check(&[a.claim, b.claim]).expect("honest batch");
    assert_eq!(out.evals.len(), 5);
    assert!(check(&[a.claim, b.claim + C::EF::ONE]).is_err());
}

fn mles<C: FieldConfig>(i: &Instance<C>) -> Vec<Mle<'_, C::F, C::EF>> {
    i.tables.iter().map(|v| Mle::Base(v.as_slice())).collect()
}

fn eq_weighted<C: FieldConfig>(n: usize, seed: u64) {
    let inst = instance::<C>(n, 2, seed);
    let r: Vec<C::EF> = (0..n)
        .map(|i| C::EF::from_u64(seed.wrapping_add(i as u64 * 31) >> 8))
        .collect();
    let eq = eq_table(&r);
    let comp = Composition::<C::EF>::product(3);
    let claim: C::EF = (0..1usize << n)
        .map(|x| eq[x] * inst.tables[0][x] * inst.tables[1][x])
        .sum();
    let mut t = ProverTranscript::<C::F>::new(&ds::<C>());
    let mles = vec![
        Mle::Ext(eq),
        Mle::Base(&inst.tables[0]),
        Mle::Base(&inst.tables[1]),
    ];
    let _ = prove(claim, mles, &comp, &mut t);
    let proof = t.finish();
    let mut v = VerifierTranscript::<C::F>::new(&ds::<C>(), &proof.bytes);
    let red = verify(claim, n, 3, &mut v).unwrap();
    let evals = vec![
        zkinfer_poly::eq_eval(&r, &red.point),
        evaluate(&inst.tables[0], &red.point),
        evaluate(&inst.tables[1], &red.point),
    ];
    red.check(&comp, &evals).unwrap();
}

/// The dedicated inner-product prover writes exactly the generic prover's transcript (so the
/// generic verifier checks it), ends at the same point and values, and refuses a wrong sum.
fn inner_product_matches_generic<C: FieldConfig>(n: usize, seed: u64) {
    let inst = instance::<C>(n, 1, seed);
    let w: Vec<C::EF> = (0..1usize << n)
        .map(|x| C::EF::from_u64(seed.wrapping_mul(x as u64 + 7) >> 20) + C::EF::from_u64(x as u64))
        .collect();
    let f = &inst.tables[0];
    let claim: C::EF = f.iter().zip(&w).map(|(&a, &b)| b * a).sum();
    let comp = Composition::<C::EF>::product(2);
    // The same product with its factors listed the other way round: not the plain product
    // `prove` hands to the dedicated prover, so this runs the generic rounds.
    let swapped = Composition::<C::EF>::new(
        2,
        vec![Term {
            coeff: C::EF::ONE,
            factors: vec![1, 0],
        }],
    );
    let mut t1 = ProverTranscript::<C::F>::new(&ds::<C>());
    let generic = prove(
        claim,
        vec![Mle::Base(f), Mle::Ext(w.clone())],
        &swapped,
        &mut t1,
    );
    let mut t2 = ProverTranscript::<C::F>::new(&ds::<C>());
    let fast = prove_inner_product(claim, f, w.clone(), &mut t2).expect("honest sum");
    assert_eq!(fast, generic);
    let bytes = t2.finish().bytes;
    assert_eq!(bytes, t1.finish().bytes);
    // `prove` on the plain product takes the dedicated path, in either factor order.
    let mut t4 = ProverTranscript::<C::F>::new(&ds::<C>());
    let via = prove(
        claim,
        vec![Mle::Ext(w.clone()), Mle::Base(f)],
        &comp,
        &mut t4,
    );
    assert_eq!(via.point, generic.point);
    assert_eq!(via.evals, vec![generic.evals[1], generic.evals[0]]);
    assert_eq!(t4.finish().bytes, bytes);
    // A false claim still gets the generic rounds (no panic), which the verifier rejects.
    if n > 0 {
        let mut t5 = ProverTranscript::<C::F>::new(&ds::<C>());
        let _ = prove(
            claim + C::EF::ONE,
            vec![Mle::Base(f), Mle::Ext(w.clone())],
            &comp,
            &mut t5,
        );
        let forged = t5.finish().bytes;
        let mut v = VerifierTranscript::<C::F>::new(&ds::<C>(), &forged);
        let rejected = match verify(claim + C::EF::ONE, n, 2, &mut v) {
            Err(_) => true,
            Ok(red) => red
                .check(&comp, &[evaluate(f, &red.point), evaluate(&w, &red.point)])
                .is_err(),
        };
        assert!(rejected);
    }
    let mut v = VerifierTranscript::<C::F>::new(&ds::<C>(), &bytes);
    let red = verify(claim, n, 2, &mut v).unwrap();
    red.check(&comp, &[evaluate(f, &red.point), evaluate(&w, &red.point)])
        .unwrap();
    let mut t3 = ProverTranscript::<C::F>::new(&ds::<C>());
    assert!(prove_inner_product(claim + C::EF::ONE, f, w, &mut t3).is_none());
}

/// The eq-batch prover writes exactly the inner-product prover's transcript for the
/// materialised weight (terms of several sizes, two on one sub-cube, one scalar term, empty
/// space at the top), and refuses a wrong sum.
fn eq_batch_matches_inner_product<C: FieldConfig>(n: usize, seed: u64) {
    let inst = instance::<C>(n, 1, seed);
    let f = &inst.tables[0];
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut ext = || C::EF::from_u64(next() >> 3) + C::EF::from_u64(next() >> 5).double().square();
    // Sub-cubes laid largest first, as the PCS stacks them; the first is used twice.
    let sizes: Vec<usize> = [
        n.saturating_sub(1),
        n.saturating_sub(2),
        n.saturating_sub(2),
        0,
    ]
    .into_iter()
    .filter(|_| n > 0)
    .collect();
    let mut terms = Vec::new();
    let mut at = 0usize;
    for (i, &k) in sizes.iter().enumerate() {
        if at + (1 << k) > f.len() {
            break;
        }
        let point: Vec<C::EF> = (0..k).map(|_| ext()).collect();
        terms.push(EqTerm {
            coeff: ext(),
            point,
            offset: at,
        });
        if i == 0 {
            let point: Vec<C::EF> = (0..k).map(|_| ext()).collect();
            terms.push(EqTerm {
                coeff: ext(),
                point,
                offset: at,
            });
        }
        at += 1 << k;
    }
    if n == 0 {
        terms.push(EqTerm {
            coeff: ext(),
            point: Vec::new(),
            offset: 0,
        });
    }
    let mut w = vec![C::EF::ZERO; f.len()];
    for t in &terms {
        for (x, e) in zkinfer_poly::eq_table_scaled(&t.point, t.coeff)
            .into_iter()
            .enumerate()
        {
            w[t.offset + x] += e;
        }
    }
    let claim: C::EF = f.iter().zip(&w).map(|(&a, &b)| b * a).sum();
    let mut t1 = ProverTranscript::<C::F>::new(&ds::<C>());
    let dense = prove_inner_product(claim, f, w, &mut t1).expect("honest sum");
    let mut t2 = ProverTranscript::<C::F>::new(&ds::<C>());
    let sparse = prove_eq_batch(claim, f, &terms, &mut t2).expect("honest sum");
    assert_eq!(sparse, dense);
    assert_eq!(t2.finish().bytes, t1.finish().bytes);
    let mut t3 = ProverTranscript::<C::F>::new(&ds::<C>());
    assert!(prove_eq_batch(claim + C::EF::ONE, f, &terms, &mut t3).is_none());
}

macro_rules! conformance {
    ($name:ident, $cfg:ty) => {
        mod $name {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(24))]
                #[test]
                fn honest_roundtrip(n in 0usize..9, k in 1usize..5, seed in any::<u64>()) { roundtrip::<$cfg>(n, k, seed); }
                #[test]
                fn tampering_rejected(n in 1usize..5, k in 1usize..4, seed in any::<u64>()) { tamper_every_coefficient::<$cfg>(n, k, seed); }
                #[test]
                fn batch(n in 0usize..7, seed in any::<u64>()) { batch_roundtrip::<$cfg>(n, seed); }
                #[test]
                fn eq_form(n in 0usize..8, seed in any::<u64>()) { eq_weighted::<$cfg>(n, seed); }
                #[test]
                fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), n in 0usize..6, d in 0usize..5) {
                    let mut t = VerifierTranscript::<<$cfg as FieldConfig>::F>::new(&ds::<$cfg>(), &bytes);
                    let _ = verify::<_, <$cfg as FieldConfig>::EF>(<$cfg as FieldConfig>::EF::ONE, n, d, &mut t);
                }
                #[test]
                fn truncation_rejected(cut in 0usize..1000, seed in any::<u64>()) {
                    let inst = instance::<$cfg>(5, 2, seed);
                    let (proof, _) = prove_instance(&inst);
                    let cut = cut % proof.bytes.len();
                    prop_assert!(verify_instance(&inst, inst.claim, &proof.bytes[..cut], &ds::<$cfg>()).is_err());
                }
            }

            #[test]
            fn large_instance_parallel_path() { roundtrip::<$cfg>(14, 3, 7); }

            #[test]
            fn inner_product_prover() {
                for n in [0, 1, 2, 3, 5, 9, 13, 16] {
                    inner_product_matches_generic::<$cfg>(n, 11 + n as u64);
                }
            }

            #[test]
            fn eq_batch_prover() {
                // 15 and 17 variables take the split (outer-product) path for the large terms.
                for n in [0, 1, 2, 3, 4, 7, 12, 15, 17] {
                    eq_batch_matches_inner_product::<$cfg>(n, 5 + n as u64);
                }
            }
        }
    };
}

conformance!(goldilocks, GoldilocksConfig);
conformance!(koalabear, KoalaBearConfig);

#[test]
fn byte_identical_across_thread_counts() {
    let inst = instance::<GoldilocksConfig>(15, 3, 99);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| prove_instance(&inst).0.bytes)
    };
    assert_eq!(run(1), run(2));
}
