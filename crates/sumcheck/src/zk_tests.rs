//! Masked sumcheck: round trips, tamper, no-panic, and the simulation bijection.

use zkinfer_field::p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing};
use zkinfer_field::{FieldConfig, GoldilocksConfig, KoalaBearConfig};
use zkinfer_poly::{eq_table, evaluate, fix_low};
use zkinfer_transcript::{Proof, ProverTranscript, VerifierTranscript};

use crate::tests::{ds, instance, Instance};
use crate::*;

fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

fn random_mask<C: FieldConfig>(shape: MaskShape, seed: u64) -> Mask<C::F, C::EF> {
    let mut next = rng(seed);
    Mask::sample(shape, move || C::F::from_u64(next()))
}

fn prove_inst<C: FieldConfig>(
    inst: &Instance<C>,
    mask: &Mask<C::F, C::EF>,
) -> (Proof, MaskedOutput<C::EF>) {
    let mut t = ProverTranscript::<C::F>::new(&ds::<C>());
    let mles = inst
        .tables
        .iter()
        .map(|v| Mle::Base(v.as_slice()))
        .collect();
    let out = prove_masked(inst.claim, mles, &inst.comp, mask, &mut t);
    (t.finish(), out)
}

/// The whole verifier side: the masked rounds, the final claim settled by direct evaluation
/// of the tables, the mask claims settled against `mask_table` (a PCS opening in real use).
fn check<C: FieldConfig>(
    inst: &Instance<C>,
    claim: C::EF,
    shape: &MaskShape,
    mask_table: &[C::F],
    bytes: &[u8],
) -> Result<Vec<C::EF>, SumcheckError> {
    let mut t = VerifierTranscript::<C::F>::new(&ds::<C>(), bytes);
    let reduced = verify_masked(claim, shape, &mut t)?;
    let evals: Vec<C::EF> = inst
        .tables
        .iter()
        .map(|v| evaluate(v, &reduced.claim.point))
        .collect();
    reduced.claim.check(&inst.comp, &evals)?;
    for (point, value) in
        mask_claims::<C::F, C::EF>(shape, &reduced.claim.point, &reduced.mask_values)?
    {
        if evaluate(mask_table, &point) != value {
            return Err(SumcheckError::FinalCheck {
                rounds: shape.vars(),
            });
        }
    }
    t.finish().map_err(|source| SumcheckError::Transcript {
        round: shape.vars(),
        source,
    })?;
    Ok(reduced.claim.point)
}

fn roundtrip<C: FieldConfig>(n: usize, k: usize, seed: u64) {
    let inst = instance::<C>(n, k, seed);
    let shape = MaskShape::new(n, inst.comp.degree()).unwrap();
    let mask = random_mask::<C>(shape, seed);
    let (proof, out) = prove_inst(&inst, &mask);
    let point = check(&inst, inst.claim, &shape, mask.table(), &proof.bytes).expect("honest");
    assert_eq!(point, out.point);
    for (v, e) in inst.tables.iter().zip(&out.evals) {
        assert_eq!(evaluate(v, &out.point), *e);
    }
    // The table layout: each v_l is s_l(r_l), and one point evaluation of the table.
    for (l, &r) in out.point.iter().enumerate() {
        assert_eq!(out.mask_values[l], mask.eval_var(l, r));
    }
}

#[test]
fn masked_roundtrip_goldilocks() {
    for (n, k, seed) in [
        (1, 1, 1),
        (1, 3, 2),
        (3, 2, 3),
        (6, 3, 4),
        (9, 4, 5),
        (12, 2, 6),
    ] {
        roundtrip::<GoldilocksConfig>(n, k, seed);
    }
}

#[test]
fn masked_roundtrip_koalabear() {
    for (n, k, seed) in [(1, 2, 7), (5, 3, 8), (10, 4, 9)] {
        roundtrip::<KoalaBearConfig>(n, k, seed);
    }
}

#[test]
fn masked_batch_roundtrip() {
    type C = GoldilocksConfig;
    type F = <C as FieldConfig>::F;
    type EF = <C as FieldConfig>::EF;
    let a = instance::<C>(6, 2, 11);
    let b = instance::<C>(6, 3, 12);
    let degree = a.comp.degree().max(b.comp.degree());
    let shape = MaskShape::new(6, degree).unwrap();
    let mask = random_mask::<C>(shape, 13);
    fn mles(i: &Instance<C>) -> Vec<Mle<'_, F, EF>> {
        i.tables.iter().map(|v| Mle::Base(v.as_slice())).collect()
    }
    let mut t = ProverTranscript::<F>::new(&ds::<C>());
    let out = prove_batch_masked(
        vec![
            (a.claim, mles(&a), a.comp.clone()),
            (b.claim, mles(&b), b.comp.clone()),
        ],
        &mask,
        &mut t,
    );
    let proof = t.finish();
    let run = |claims: &[<C as FieldConfig>::EF]| -> Result<(), SumcheckError> {
        let mut v = VerifierTranscript::<F>::new(&ds::<C>(), &proof.bytes);
        let red = verify_batch_masked(claims, &shape, &mut v)?;
        let ev = |i: &Instance<C>| -> Vec<_> {
            i.tables
                .iter()
                .map(|t| evaluate(t, &red.claim.point))
                .collect()
        };
        BatchedClaim {
            claim: red.claim.clone(),
            coeffs: red.coeffs.clone(),
        }
        .check(&[a.comp.clone(), b.comp.clone()], &[ev(&a), ev(&b)])?;
        for (p, val) in mask_claims::<F, EF>(&shape, &red.claim.point, &red.mask_values)? {
            if evaluate(mask.table(), &p) != val {
                return Err(SumcheckError::FinalCheck { rounds: 6 });
            }
        }
        Ok(())
    };
    run(&[a.claim, b.claim]).expect("honest batch");
    assert!(run(&[a.claim, b.claim + <C as FieldConfig>::EF::ONE]).is_err());
    assert!(run(&[b.claim, a.claim]).is_err());
    assert_eq!(out.coeffs.len(), 2);
}

fn tamper<C: FieldConfig>(n: usize, k: usize, seed: u64) {
    let inst = instance::<C>(n, k, seed);
    let shape = MaskShape::new(n, inst.comp.degree()).unwrap();
    let mask = random_mask::<C>(shape, seed);
    let (proof, _) = prove_inst(&inst, &mask);
    let elem =
        zkinfer_field::canonical_bytes::<C::F>() * <C::EF as BasedVectorSpace<C::F>>::DIMENSION;
    // Every element: the mask sum, each round coefficient, each mask value.
    assert_eq!(proof.bytes.len(), elem * (1 + n * inst.comp.degree() + n));
    for i in 0..proof.bytes.len() / elem {
        let mut bad = proof.bytes.clone();
        bad[i * elem] ^= 1;
        assert!(
            check(&inst, inst.claim, &shape, mask.table(), &bad).is_err(),
            "element {i} flipped was accepted"
        );
    }
    // A false sum.
    assert!(check(
        &inst,
        inst.claim + C::EF::ONE,
        &shape,
        mask.table(),
        &proof.bytes
    )
    .is_err());
    // Mask values that are not the committed mask's (another table settles the claims).
    let other = random_mask::<C>(shape, seed + 100);
    assert!(check(&inst, inst.claim, &shape, other.table(), &proof.bytes).is_err());
    // Another shape (degree) reads the proof differently.
    let wider = MaskShape::new(n, inst.comp.degree() + 1).unwrap();
    let wider_mask = random_mask::<C>(wider, seed);
    assert!(check(&inst, inst.claim, &wider, wider_mask.table(), &proof.bytes).is_err());
}

#[test]
fn masked_tamper_goldilocks() {
    tamper::<GoldilocksConfig>(5, 3, 21);
    tamper::<GoldilocksConfig>(1, 2, 22);
}

#[test]
fn masked_tamper_koalabear() {
    tamper::<KoalaBearConfig>(4, 2, 23);
}

#[test]
fn masked_random_and_truncated_bytes_rejected_without_panic() {
    type C = GoldilocksConfig;
    let inst = instance::<C>(5, 3, 31);
    let shape = MaskShape::new(5, inst.comp.degree()).unwrap();
    let mask = random_mask::<C>(shape, 31);
    let (proof, _) = prove_inst(&inst, &mask);
    for cut in 0..proof.bytes.len() {
        assert!(check(&inst, inst.claim, &shape, mask.table(), &proof.bytes[..cut]).is_err());
    }
    let mut longer = proof.bytes.clone();
    longer.push(0);
    assert!(check(&inst, inst.claim, &shape, mask.table(), &longer).is_err());
    let mut next = rng(32);
    for len in [0usize, 1, 7, 16, 100, proof.bytes.len(), 4096] {
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        assert!(check(&inst, inst.claim, &shape, mask.table(), &bytes).is_err());
    }
}

#[test]
fn mask_shapes_are_checked() {
    assert!(MaskShape::new(0, 2).is_err());
    assert!(MaskShape::new(3, 0).is_err());
    assert!(MaskShape::new(MAX_MASKED_VARS + 1, 2).is_err());
    assert!(MaskShape::new(3, MAX_MASKED_DEGREE + 1).is_err());
    assert!(MaskShape::new(3, MAX_MASKED_DEGREE).is_ok());
    let shape = MaskShape::new(3, 2).unwrap();
    // Goldilocks: 4 coefficient slots × 2 basis coordinates × 4 rows.
    assert_eq!(
        shape.table_vars::<<GoldilocksConfig as FieldConfig>::F, <GoldilocksConfig as FieldConfig>::EF>(),
        2 + 1 + 2
    );
    type EF = <GoldilocksConfig as FieldConfig>::EF;
    assert!(mask_claims::<<GoldilocksConfig as FieldConfig>::F, EF>(
        &shape,
        &[EF::ONE; 2],
        &[EF::ONE; 3]
    )
    .is_err());
    // r = −1 has no table point (1 + r = 0): a typed error, not a panic.
    let err = mask_claims::<<GoldilocksConfig as FieldConfig>::F, EF>(
        &shape,
        &[EF::ONE, -EF::ONE, EF::ONE],
        &[EF::ONE; 3],
    )
    .unwrap_err();
    assert_eq!(err, SumcheckError::MaskPoint { round: 1 });
}

/// Zero knowledge, checked exactly: for two witnesses with the same sum and the same final
/// value `comp(f(r))`, the map from masks to masks of the module docs sends the first proof's
/// mask to one under which the second witness gives the *byte-identical* proof. The map is a
/// bijection (a translation), so both witnesses induce the same distribution of proofs.
fn equal_views<C: FieldConfig>(n: usize, seed: u64) {
    let inst = instance::<C>(n, 2, seed);
    // y0·y1: degree 2, linear in the second table.
    let comp = Composition::<C::EF>::product(2);
    let (t0, t1) = (&inst.tables[0], &inst.tables[1]);
    let claim: C::EF = t0.iter().zip(t1).map(|(&a, &b)| C::EF::from(a * b)).sum();
    let shape = MaskShape::new(n, 2).unwrap();
    let mask = random_mask::<C>(shape, seed);
    let prove_with = |second: Mle<'_, C::F, C::EF>, mask: &Mask<C::F, C::EF>| {
        let mut t = ProverTranscript::<C::F>::new(&ds::<C>());
        let out = prove_masked(claim, vec![Mle::Base(t0), second], &comp, mask, &mut t);
        (t.finish().bytes, out)
    };
    let (bytes, out) = prove_with(Mle::Base(t1), &mask);
    let r = out.point.clone();

    // δ with Σ t0·δ = 0 and δ(r) = 0, so the second witness t1 + δ has the same sum and the
    // same comp(f(r)) = t0(r)·(t1 + δ)(r).
    let mut next = rng(seed + 7);
    let mut delta: Vec<C::EF> = (0..1usize << n)
        .map(|_| C::EF::from_basis_coefficients_fn(|_| C::F::from_u64(next())))
        .collect();
    let eq = eq_table(&r);
    let s1: C::EF = t0.iter().zip(&delta).map(|(&a, &d)| d * a).sum();
    let s2: C::EF = eq.iter().zip(&delta).map(|(&e, &d)| d * e).sum();
    // Solve [t0[0] t0[1]; eq[0] eq[1]]·(x, y) = −(s1, s2), added to δ[0], δ[1].
    let (a, b, c, d) = (C::EF::from(t0[0]), C::EF::from(t0[1]), eq[0], eq[1]);
    let det = a * d - b * c;
    let inv = det.inverse();
    let x = (-s1 * d + s2 * b) * inv;
    let y = (-s2 * a + s1 * c) * inv;
    delta[0] += x;
    delta[1] += y;
    assert_eq!(
        t0.iter().zip(&delta).map(|(&a, &d)| d * a).sum::<C::EF>(),
        C::EF::ZERO
    );
    assert_eq!(evaluate(&delta, &r), C::EF::ZERO);
    let t1b: Vec<C::EF> = t1.iter().zip(&delta).map(|(&v, &d)| d + v).collect();

    // The unmasked round polynomials differ by Δ_l(X) = Σ_x' t0(r_<l, X, x')·δ(r_<l, X, x');
    // shift a_{l,k} by −Δ_l[k]/(ρ·2^{n−l−1}) for k ≥ 1 and fix a_{l,0} so s_l(r_l) stays.
    let rho = out.rho;
    let mut mapped = mask.clone();
    for l in 0..n {
        let t0l = fix_low(t0, &r[..l]);
        let dl = fix_low(&delta, &r[..l]);
        let at = |t: u64| -> C::EF {
            let t = C::EF::from_u64(t);
            (0..t0l.len() / 2)
                .map(|j| {
                    let p = t0l[2 * j] + t * (t0l[2 * j + 1] - t0l[2 * j]);
                    let q = dl[2 * j] + t * (dl[2 * j + 1] - dl[2 * j]);
                    p * q
                })
                .sum()
        };
        let (f0, f1, f2) = (at(0), at(1), at(2));
        let c2 = (f2 - f1.double() + f0) * C::EF::TWO.inverse();
        let c1 = f1 - f0 - c2;
        let scale = (rho * C::EF::from_u64(1u64 << (n - l - 1))).inverse();
        let (n1, n2) = (mask.coeff(l, 1) - c1 * scale, mask.coeff(l, 2) - c2 * scale);
        let n0 = mask.coeff(l, 0)
            - (n1 - mask.coeff(l, 1)) * r[l]
            - (n2 - mask.coeff(l, 2)) * r[l].square();
        mapped.set_coeff(l, 0, n0);
        mapped.set_coeff(l, 1, n1);
        mapped.set_coeff(l, 2, n2);
    }
    let (bytes2, _) = prove_with(Mle::Ext(t1b.clone()), &mapped);
    assert_eq!(
        bytes, bytes2,
        "the mapped mask must reproduce the proof exactly"
    );
    // Not vacuous: the other witness under the *same* mask gives another proof.
    let (bytes3, _) = prove_with(Mle::Ext(t1b), &mask);
    assert_ne!(bytes, bytes3);
}

#[test]
fn equal_views_goldilocks() {
    for (n, seed) in [(2, 42), (5, 43), (8, 44)] {
        equal_views::<GoldilocksConfig>(n, seed);
    }
}

#[test]
fn equal_views_koalabear() {
    equal_views::<KoalaBearConfig>(6, 45);
}
