//! Conformance tests, run for both field configurations through one generic body.

mod harness;

use harness::*;
use proptest::prelude::*;
use zkinfer_field::p3_field::{BasedVectorSpace, PrimeCharacteristicRing, PrimeField64};
use zkinfer_field::{FieldConfig, GoldilocksConfig, KoalaBearConfig};
use zkinfer_poly::evaluate;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

use crate::*;

fn roundtrip<C: FieldConfig>(k: usize, max_vars: usize, seed: u64) {
    let c = case::<C>(k, max_vars, seed);
    let p = prover(&c);
    let m = p.multiplicities().expect("members");
    let total: u64 = c.lookups.iter().map(|l| l.1[0].len() as u64).sum();
    let counted: u64 = m.iter().flatten().map(|v| v.as_canonical_u64()).sum();
    assert_eq!(total, counted, "shared multiplicities count every row once");
    let (proof, pc) = prove_with::<C>(&p, &m);
    let vc = verify_with::<C>(&p.shape(), &cols(&c), &m, &proof.bytes, &ds::<C>())
        .expect("honest proof");
    assert_eq!(pc, vc, "prover and verifier reduce to the same claims");
    // Debug builds: the verifier replays the prover's recorded message pattern (drift check).
    let mut v = VerifierTranscript::<C::F>::with_pattern(&ds::<C>(), &proof.bytes, &proof.pattern);
    v.read_digest("multiplicities").expect("digest");
    let _ = verify(&p.shape(), &mut v).expect("pattern-checked verify");
}

/// Which error flipping extension element `e` of the proof body must give: roots → a lookup
/// error (usually `RootMismatch`), layer `k`'s sumcheck rounds or evaluations → `LayerCheck { layer: k }`,
/// leaf columns → `LeafCheck` (or the caller's settlement).
fn expected_region(depths: &[(bool, usize)], e: usize) -> &'static str {
    let trees = depths.len();
    let mut at = 2 * trees;
    if e < at {
        return "root";
    }
    let max = depths.iter().map(|d| d.1).max().unwrap_or(0);
    for k in 0..max {
        let width: usize = depths
            .iter()
            .filter(|d| d.1 > k)
            .map(|&(w, d)| if w && d == k + 1 { 2 } else { 4 })
            .sum();
        at += 3 * k + width;
        if e < at {
            return [
                "layer0", "layer1", "layer2", "layer3", "layer4", "layer5", "layer6", "layer7",
            ][k];
        }
    }
    "leaf"
}

/// Adds 1 (mod p) to the canonical base-field element at the start of `bytes`: a change that
/// stays canonical, so it reaches the protocol checks rather than the decoder.
fn bump<F: PrimeField64>(bytes: &mut [u8]) {
    let w = zkinfer_field::canonical_bytes::<F>();
    let mut le = [0u8; 8];
    le[..w].copy_from_slice(&bytes[..w]);
    let v = (u64::from_le_bytes(le) + 1) % F::ORDER_U64;
    bytes[..w].copy_from_slice(&v.to_le_bytes()[..w]);
}

fn tamper<C: FieldConfig>(k: usize, seed: u64) {
    let c = case::<C>(k, 3, seed);
    let p = prover(&c);
    let m = p.multiplicities().expect("members");
    let (proof, _) = prove_with::<C>(&p, &m);
    let shape = p.shape();
    let depths: Vec<(bool, usize)> = c
        .lookups
        .iter()
        .map(|l| (true, l.1[0].len().trailing_zeros() as usize))
        .chain(c.tables.iter().map(|t| (false, t.num_vars())))
        .collect();
    let elem =
        zkinfer_field::canonical_bytes::<C::F>() * <C::EF as BasedVectorSpace<C::F>>::DIMENSION;
    for e in 0..(proof.bytes.len() - 32) / elem {
        let mut bad = proof.bytes.clone();
        bump::<C::F>(&mut bad[32 + e * elem..]);
        let err = verify_with::<C>(&shape, &cols(&c), &m, &bad, &ds::<C>())
            .expect_err("must be rejected");
        let region = expected_region(&depths, e);
        let ok = match (&err, region) {
            // A root is checked by the balance; a change the balance cannot see (a table nobody
            // looks up: `0/q` balances for every q; a one-row tree) still changes every later
            // challenge, so the first check depending on one (any layer, or a leaf) fails.
            (Reject::Lookup(_), "root") => true,
            (Reject::Lookup(LookupError::LayerCheck { layer }), r) => r == format!("layer{layer}"),
            (Reject::Lookup(LookupError::LeafCheck { .. }) | Reject::Settle(_), "leaf") => true,
            _ => false,
        };
        assert!(ok, "element {e} ({region}): {err:?}");
    }
    // A multiplicity the commitment does not match / a forged multiplicity.
    let mut m2 = m.clone();
    m2[0][0] += C::F::ONE;
    assert!(verify_with::<C>(&shape, &cols(&c), &m2, &proof.bytes, &ds::<C>()).is_err());
    let (forged, _) = prove_with::<C>(&p, &m2);
    let err = verify_with::<C>(&shape, &cols(&c), &m2, &forged.bytes, &ds::<C>())
        .expect_err("must be rejected");
    assert_eq!(err, Reject::Lookup(LookupError::RootMismatch { table: 0 }));
    // Another domain separator.
    let other = DomainSeparator::new("lookup-test", 2, C::ID, b"");
    assert!(verify_with::<C>(&shape, &cols(&c), &m, &proof.bytes, &other).is_err());
}

/// A witness value outside the table: the prover refuses; forcing a proof is rejected.
fn non_member<C: FieldConfig>(n: usize, bad_row: usize, seed: u64) {
    let table = RangeTable { bits: 4 };
    let mut rng = Rng(seed | 1);
    let mut col: Vec<C::F> = (0..1usize << n)
        .map(|_| C::F::from_u64(rng.next() % 16))
        .collect();
    let bad_row = bad_row % col.len();
    col[bad_row] = C::F::from_u64(16 + rng.next() % 1000);
    let mut p = LookupProver::<C::F, C::EF>::new(vec![&table]);
    p.add_lookup(0, vec![&col]).expect("shape is fine");
    assert_eq!(
        p.multiplicities(),
        Err(ProverError::NotInTable {
            table: 0,
            lookup: 0,
            row: bad_row
        })
    );
    // Forge: count the bad row on some table entry (the true count vector has no slot for it).
    let mut m = vec![vec![C::F::ZERO; 16]];
    for (i, v) in col.iter().enumerate() {
        let j = if i == bad_row {
            rng.below(16)
        } else {
            v.as_canonical_u64() as usize
        };
        m[0][j] += C::F::ONE;
    }
    let (proof, _) = prove_with::<C>(&p, &m);
    let err = verify_with::<C>(
        &p.shape(),
        &[vec![col.clone()]],
        &m,
        &proof.bytes,
        &ds::<C>(),
    )
    .expect_err("must be rejected");
    assert_eq!(err, Reject::Lookup(LookupError::RootMismatch { table: 0 }));
}

fn closed_forms<C: FieldConfig>(bits: usize, seed: u64) {
    let mut rng = Rng(seed | 1);
    let point: Vec<C::EF> = (0..bits).map(|_| C::EF::from_u64(rng.next())).collect();
    let ts: Vec<Tab<C>> = vec![
        Box::new(RangeTable { bits }),
        Box::new(SignedRangeTable { bits }),
        Box::new(IdentityTable { bits }),
    ];
    for t in &ts {
        let want: Vec<C::EF> = t.columns().iter().map(|c| evaluate(c, &point)).collect();
        assert_eq!(t.evaluate_mle(&point), Some(want));
        let cols = t.columns();
        for i in [0, cols[0].len() - 1] {
            let row: Vec<C::F> = cols.iter().map(|c| c[i]).collect();
            assert_eq!(t.index_of(&row), Some(i));
        }
    }
}

fn misuse<C: FieldConfig>() {
    let table = IdentityTable { bits: 3 };
    let a = vec![C::F::ONE; 4];
    let b = vec![C::F::ONE; 3];
    let mut p = LookupProver::<C::F, C::EF>::new(vec![&table]);
    assert_eq!(
        p.add_lookup(1, vec![&a, &a]),
        Err(ProverError::UnknownTable {
            lookup: 0,
            table: 1
        })
    );
    assert!(matches!(
        p.add_lookup(0, vec![&a]),
        Err(ProverError::ColumnCount { .. })
    ));
    assert_eq!(
        p.add_lookup(0, vec![&b, &b]),
        Err(ProverError::RowCount { lookup: 0 })
    );
    p.add_lookup(0, vec![&a, &a]).expect("fine");
    let mut t = ProverTranscript::<C::F>::new(&ds::<C>());
    assert_eq!(
        p.prove(&[vec![C::F::ONE; 4]], &mut t),
        Err(ProverError::MultiplicityShape { table: 0 })
    );
}

/// Deterministic: three lookups of different sizes into one range table (one shared
/// multiplicity vector), two into a 2-column public table, one into a committed table.
fn shared_and_multi_column<C: FieldConfig>() {
    let range = RangeTable { bits: 8 };
    let x: Vec<C::F> = (0..256u64).map(C::F::from_u64).collect();
    let y: Vec<C::F> = (0..256u64).map(|i| C::F::from_u64(i * i % 97)).collect();
    let act = PublicTable::new(vec![x.clone(), y.clone()]);
    let hidden = PublicTable::committed(vec![y.clone()]);
    let (a, b, c) = (&x[..64], &x[100..104], &y[..128]);
    let mut p = LookupProver::<C::F, C::EF>::new(vec![&range, &act, &hidden]);
    for cols in [vec![a], vec![b], vec![c]] {
        p.add_lookup(0, cols).expect("range lookup");
    }
    p.add_lookup(1, vec![&x[..32], &y[..32]])
        .expect("pair lookup");
    p.add_lookup(1, vec![&x[64..192], &y[64..192]])
        .expect("pair lookup");
    p.add_lookup(2, vec![&y[..16]]).expect("committed lookup");
    let m = p.multiplicities().expect("members");
    let seen = |j: usize| m[j].iter().map(|v| v.as_canonical_u64()).sum::<u64>();
    assert_eq!((seen(0), seen(1), seen(2)), (64 + 4 + 128, 32 + 128, 16));
    let (proof, pc) = prove_with::<C>(&p, &m);
    let lookups: Vec<Vec<Vec<C::F>>> = vec![
        vec![a.to_vec()],
        vec![b.to_vec()],
        vec![c.to_vec()],
        vec![x[..32].to_vec(), y[..32].to_vec()],
        vec![x[64..192].to_vec(), y[64..192].to_vec()],
        vec![y[..16].to_vec()],
    ];
    let vc = verify_with::<C>(&p.shape(), &lookups, &m, &proof.bytes, &ds::<C>()).expect("honest");
    assert_eq!(pc, vc);
    assert!(vc.table_columns[2].is_some() && vc.table_columns[..2].iter().all(Option::is_none));
    // Another statement: lookup 0 claimed to be into the committed table (same size, 1 column).
    let mut other = p.shape();
    other.lookups[0].table = 2;
    assert!(verify_with::<C>(&other, &lookups, &m, &proof.bytes, &ds::<C>()).is_err());
}

/// Masked layer sumchecks: an honest round trip (same claims as the verifier, mask values that
/// settle), plain and masked proofs never verify as each other, a wrong mask count is refused,
/// and every flipped element of the proof is rejected (by a check or a settlement).
fn masked<C: FieldConfig>(k: usize, seed: u64) {
    let c = case::<C>(k, 4, seed);
    let p = prover(&c);
    let m = p.multiplicities().expect("members");
    let shape = p.shape();
    let mut rng = Rng(seed | 1);
    let masks = layer_masks::<C>(&shape, &mut rng);
    let (proof, pc, pl) = prove_masked_with::<C>(&p, &m, &masks);
    assert_eq!(pl.len(), masks.len());
    let vc = verify_masked_with::<C>(
        &shape,
        &cols(&c),
        &m,
        Some(&masks),
        &proof.bytes,
        &ds::<C>(),
    )
    .expect("honest masked proof");
    assert_eq!(pc, vc);
    if masks.is_empty() {
        return;
    }
    // Plain and masked proofs are different protocols.
    assert!(verify_with::<C>(&shape, &cols(&c), &m, &proof.bytes, &ds::<C>()).is_err());
    let (plain, _) = prove_with::<C>(&p, &m);
    assert!(verify_masked_with::<C>(
        &shape,
        &cols(&c),
        &m,
        Some(&masks),
        &plain.bytes,
        &ds::<C>()
    )
    .is_err());
    // The masks must match the layers: one too many, or one too few (no masks at all is
    // the plain proof, so "too few" needs two masked layers).
    let more: Vec<&zkinfer_sumcheck::Mask<C::F, C::EF>> =
        masks.iter().chain(masks.first()).collect();
    let fewer: Vec<&zkinfer_sumcheck::Mask<C::F, C::EF>> = masks.iter().skip(1).collect();
    for refs in [more, fewer].into_iter().filter(|r| !r.is_empty()) {
        let mut t = ProverTranscript::<C::F>::new(&ds::<C>());
        assert!(matches!(
            p.prove_masked(&m, &refs, &mut t),
            Err(ProverError::MaskShape { .. })
        ));
    }
    // Other masks than the committed ones: the settlement fails.
    let other = layer_masks::<C>(&shape, &mut rng);
    assert_eq!(
        verify_masked_with::<C>(
            &shape,
            &cols(&c),
            &m,
            Some(&other),
            &proof.bytes,
            &ds::<C>()
        ),
        Err(Reject::Settle("mask value"))
    );
    let elem =
        zkinfer_field::canonical_bytes::<C::F>() * <C::EF as BasedVectorSpace<C::F>>::DIMENSION;
    for e in 0..(proof.bytes.len() - 32) / elem {
        let mut bad = proof.bytes.clone();
        bump::<C::F>(&mut bad[32 + e * elem..]);
        assert!(
            verify_masked_with::<C>(&shape, &cols(&c), &m, Some(&masks), &bad, &ds::<C>()).is_err(),
            "element {e} flipped: accepted"
        );
    }
}

macro_rules! conformance {
    ($name:ident, $cfg:ty) => {
        mod $name {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(32))]
                #[test]
                fn honest_roundtrip(k in 0usize..6, max_vars in 0usize..8, seed in any::<u64>()) { roundtrip::<$cfg>(k, max_vars, seed); }
                #[test]
                fn tampering_rejected(k in 1usize..4, seed in any::<u64>()) { tamper::<$cfg>(k, seed); }
                #[test]
                fn masked_layers(k in 1usize..4, seed in any::<u64>()) { masked::<$cfg>(k, seed); }
                #[test]
                fn non_member_rejected(n in 0usize..7, row in any::<usize>(), seed in any::<u64>()) { non_member::<$cfg>(n, row, seed); }
                #[test]
                fn closed_form_tables(bits in 1usize..9, seed in any::<u64>()) { closed_forms::<$cfg>(bits, seed); }
                #[test]
                fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000), seed in any::<u64>()) {
                    let c = case::<$cfg>(3, 4, seed);
                    let p = prover(&c);
                    let mut v = VerifierTranscript::<<$cfg as FieldConfig>::F>::new(&ds::<$cfg>(), &bytes);
                    let _ = verify(&p.shape(), &mut v);
                    let mut v = VerifierTranscript::<<$cfg as FieldConfig>::F>::new(&ds::<$cfg>(), &bytes);
                    let _ = verify_masked(&p.shape(), &mut v);
                }
                #[test]
                fn truncation_rejected(cut in any::<usize>(), seed in any::<u64>()) {
                    let c = case::<$cfg>(3, 4, seed);
                    let p = prover(&c);
                    let m = p.multiplicities().expect("members");
                    let (proof, _) = prove_with::<$cfg>(&p, &m);
                    let cut = cut % proof.bytes.len();
                    prop_assert!(verify_with::<$cfg>(&p.shape(), &cols(&c), &m, &proof.bytes[..cut], &ds::<$cfg>()).is_err());
                }
            }

            #[test]
            fn shared_multiplicities_and_two_columns() { shared_and_multi_column::<$cfg>(); }

            #[test]
            fn prover_misuse() { misuse::<$cfg>(); }

            #[test]
            fn large_parallel_path() { roundtrip::<$cfg>(3, 14, 5); }
        }
    };
}

conformance!(goldilocks, GoldilocksConfig);
conformance!(koalabear, KoalaBearConfig);

#[test]
fn byte_identical_across_thread_counts() {
    let c = case::<GoldilocksConfig>(4, 14, 99);
    let p = prover(&c);
    let m = p.multiplicities().expect("members");
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool")
            .install(|| prove_with::<GoldilocksConfig>(&p, &m).0.bytes)
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn too_many_lookups_for_the_characteristic() {
    type C = KoalaBearConfig;
    let table = RangeTable { bits: 4 };
    let spec = |num_vars| LookupSpec { table: 0, num_vars };
    let shape = |lookups| LookupShape::<<C as FieldConfig>::F, <C as FieldConfig>::EF> {
        tables: vec![&table],
        lookups,
    };
    let mut v = VerifierTranscript::<<C as FieldConfig>::F>::new(&ds::<C>(), &[]);
    let err = verify(&shape(vec![spec(31)]), &mut v).expect_err("2^31 > KoalaBear's p");
    assert!(matches!(err, LookupError::BadShape { .. }), "{err:?}");
    let err = verify(
        &shape(vec![LookupSpec {
            table: 1,
            num_vars: 2,
        }]),
        &mut v,
    )
    .expect_err("no table 1");
    assert!(matches!(err, LookupError::BadShape { .. }), "{err:?}");
    // Below the characteristic the shape is fine (and the empty proof is then truncated).
    let err = verify(&shape(vec![spec(30)]), &mut v).expect_err("empty proof");
    assert!(matches!(err, LookupError::Transcript { .. }), "{err:?}");
}

/// The dedicated layer prover sends exactly what the generic sumcheck prover sends for the
/// same layer composition (so the generic verifier is the specification); masked (`n > 0`),
/// exactly what `zkinfer_sumcheck::prove_masked` sends with the same mask.
fn layer_matches_generic<C: FieldConfig>(n: usize, trees: usize, seed: u64, masked: bool) {
    use crate::layer::{prove as prove_layer, Halves};
    use zkinfer_sumcheck::Mle;
    let mut rng = Rng(seed | 1);
    let mut ext =
        |len: usize| -> Vec<C::EF> { (0..len).map(|_| C::EF::from_u64(rng.next())).collect() };
    let mut r = ext(n);
    if n > 0 && seed & 0x100 != 0 {
        // A zero coordinate: `g(1)` cannot be solved for and is computed directly.
        r[(seed >> 9) as usize % n] = C::EF::ZERO;
    }
    let lambda = ext(1)[0];
    let p_one: Vec<bool> = (0..trees).map(|t| (seed >> t) & 1 == 1).collect();
    let halves: Vec<Halves<C::EF>> = p_one
        .iter()
        .map(|&one| Halves {
            p: (!one).then(|| [ext(1 << n), ext(1 << n)]),
            q: [ext(1 << n), ext(1 << n)],
        })
        .collect();
    let mut tables = vec![zkinfer_poly::eq_table(&r)];
    for h in &halves {
        tables.extend(h.p.iter().flatten().cloned());
        tables.extend(h.q.iter().cloned());
    }
    let comp = crate::shape::layer_composition(lambda, &p_one);
    let claim: C::EF = (0..1usize << n)
        .map(|x| comp.evaluate(&tables.iter().map(|t| t[x]).collect::<Vec<_>>()))
        .sum();
    let mask = (masked && n > 0).then(|| {
        let shape = zkinfer_sumcheck::MaskShape::new(n, 3).expect("shape");
        zkinfer_sumcheck::Mask::sample(shape, || C::F::from_u64(rng.next()))
    });
    let mut a = ProverTranscript::<C::F>::new(&ds::<C>());
    let (point, evals, mask_values) = prove_layer(claim, &r, halves, lambda, mask.as_ref(), &mut a);
    let mut b = ProverTranscript::<C::F>::new(&ds::<C>());
    let mles = tables.into_iter().map(Mle::Ext).collect();
    let (out_point, out_evals, out_mask) = match &mask {
        Some(m) => {
            let out = zkinfer_sumcheck::prove_masked(claim, mles, &comp, m, &mut b);
            (out.point, out.evals, out.mask_values)
        }
        None => {
            let out = zkinfer_sumcheck::prove(claim, mles, &comp, &mut b);
            (out.point, out.evals, Vec::new())
        }
    };
    assert_eq!(a.finish().bytes, b.finish().bytes);
    assert_eq!(
        (point, evals, mask_values),
        (out_point, out_evals[1..].to_vec(), out_mask)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn dedicated_layer_prover_matches_generic(n in 0usize..8, trees in 1usize..4, seed in any::<u64>()) {
        for masked in [false, true] {
            layer_matches_generic::<GoldilocksConfig>(n, trees, seed, masked);
            layer_matches_generic::<KoalaBearConfig>(n, trees, seed, masked);
        }
    }
}

#[test]
fn dedicated_layer_prover_matches_generic_parallel() {
    layer_matches_generic::<GoldilocksConfig>(14, 2, 3, false);
    layer_matches_generic::<GoldilocksConfig>(14, 2, 3, true);
}

/// `index_of` finds the first row with the given content, through the contiguous-domain fast
/// path (a function table, tail-padded with its first row) and the hashed fallback alike.
#[test]
fn public_table_row_index() {
    type F = <GoldilocksConfig as FieldConfig>::F;
    type EF = <GoldilocksConfig as FieldConfig>::EF;
    let f = |v: i64| zkinfer_field::from_signed::<F>(v);
    // Domain [−3, 3) then two padding rows repeating row 0.
    let xs: Vec<F> = [-3, -2, -1, 0, 1, 2, -3, -3].map(f).to_vec();
    let ys: Vec<F> = [0, 0, 0, 0, 1, 2, 0, 0].map(f).to_vec();
    // Not contiguous: column 0 jumps.
    let zs: Vec<F> = [5, 9, 1, 7].map(f).to_vec();
    let ws: Vec<F> = [1, 1, 2, 2].map(f).to_vec();
    let cont = PublicTable::new(vec![xs.clone(), ys.clone()]);
    let hashed = PublicTable::new(vec![zs.clone(), ws.clone()]);
    let idx = |t: &PublicTable<F>, r: [i64; 2]| Table::<F, EF>::index_of(t, &[f(r[0]), f(r[1])]);
    for (i, (&x, &y)) in xs.iter().zip(&ys).enumerate().take(6) {
        assert_eq!(Table::<F, EF>::index_of(&cont, &[x, y]), Some(i));
    }
    assert_eq!(idx(&cont, [-3, 1]), None, "right input, wrong output");
    assert_eq!(idx(&cont, [3, 0]), None, "past the domain");
    assert_eq!(idx(&cont, [-4, 0]), None, "before the domain");
    assert_eq!(Table::<F, EF>::index_of(&cont, &[f(0)]), None, "short row");
    for (i, (&z, &w)) in zs.iter().zip(&ws).enumerate() {
        assert_eq!(Table::<F, EF>::index_of(&hashed, &[z, w]), Some(i));
    }
    assert_eq!(idx(&hashed, [5, 2]), None);
}
