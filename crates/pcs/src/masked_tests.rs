//! The zero-knowledge pattern end to end at the scale of one sumcheck: witness tables and the
//! sumcheck's mask committed together under [`HidingPcs`], the masked sumcheck
//! (`zkinfer_sumcheck::prove_masked`), and one hiding opening settling both the witness
//! evaluations and the mask values. (The witness evaluations are still revealed here; hiding
//! them is docs/ZK.md step 4.)

use p3_field::PrimeCharacteristicRing;
use rand::distr::{Distribution, StandardUniform};
use rand::{rngs::StdRng, RngExt, SeedableRng};
use zkinfer_field::{FieldConfig, GoldilocksConfig, KoalaBearConfig};
use zkinfer_sumcheck::{
    mask_claims, prove_masked, verify_masked, Composition, Mask, MaskShape, Mle,
};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::tests::ds;
use crate::*;

struct Setup<C: FieldConfig> {
    n: usize,
    tables: Vec<Vec<C::F>>,
    comp: Composition<C::EF>,
    claim: C::EF,
    shape: MaskShape,
}

fn setup<C: FieldConfig>(n: usize, seed: u64) -> Setup<C>
where
    StandardUniform: Distribution<C::F>,
{
    let mut rng = StdRng::seed_from_u64(seed);
    let tables: Vec<Vec<C::F>> = (0..3)
        .map(|_| {
            (0..1usize << n)
                .map(|_| C::F::from_u32(rng.random::<u16>() as u32))
                .collect()
        })
        .collect();
    // y0·y1·y2 + 3·y1: degree 3.
    let comp = Composition::new(
        3,
        vec![
            zkinfer_sumcheck::Term {
                coeff: C::EF::ONE,
                factors: vec![0, 1, 2],
            },
            zkinfer_sumcheck::Term {
                coeff: C::EF::from_u32(3),
                factors: vec![1],
            },
        ],
    );
    let claim = (0..1usize << n)
        .map(|x| {
            comp.evaluate(&[
                C::EF::from(tables[0][x]),
                C::EF::from(tables[1][x]),
                C::EF::from(tables[2][x]),
            ])
        })
        .sum();
    let shape = MaskShape::new(n, comp.degree()).unwrap();
    Setup {
        n,
        tables,
        comp,
        claim,
        shape,
    }
}

fn layout<C: FieldConfig>(s: &Setup<C>) -> Vec<usize> {
    vec![s.n, s.n, s.n, s.shape.table_vars::<C::F, C::EF>()]
}

fn prove<C: FieldConfig>(s: &Setup<C>, seed: u64) -> Vec<u8>
where
    C::F: Ord,
    StandardUniform: Distribution<C::F> + Distribution<C::EF>,
{
    let pcs = HidingPcs::<C>::with_seed(WhirParams::insecure_for_tests(), seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mask = Mask::<C::F, C::EF>::sample(s.shape, || rng.random());
    let polys: Vec<&[C::F]> = s
        .tables
        .iter()
        .map(|t| t.as_slice())
        .chain([mask.table()])
        .collect();
    let (c, data) = pcs.commit(&polys).expect("commit");
    let mut t = ProverTranscript::<C::F>::new(&ds::<C>(&WhirParams::insecure_for_tests()));
    pcs.write_commitment(&c, &mut t);
    let mles = s.tables.iter().map(|v| Mle::Base(v.as_slice())).collect();
    let out = prove_masked(s.claim, mles, &s.comp, &mask, &mut t);
    t.write_ext("evals", &out.evals);
    let mut claims: Vec<Claim<C::EF>> = out
        .evals
        .iter()
        .enumerate()
        .map(|(i, &value)| Claim {
            poly: i,
            point: out.point.clone(),
            value,
        })
        .collect();
    for (point, value) in
        mask_claims::<C::F, C::EF>(&s.shape, &out.point, &out.mask_values).unwrap()
    {
        claims.push(Claim {
            poly: 3,
            point,
            value,
        });
    }
    pcs.open(&data, &claims, &mut t).expect("open");
    t.finish().bytes
}

/// The verifier: masked rounds, the final claim against the opened evaluations, and one
/// hiding opening for the evaluations and the mask values together.
fn verify<C: FieldConfig>(s: &Setup<C>, claim: C::EF, bytes: &[u8]) -> Result<(), String>
where
    C::F: Ord,
    StandardUniform: Distribution<C::F> + Distribution<C::EF>,
{
    let pcs = HidingPcs::<C>::with_seed(WhirParams::insecure_for_tests(), 99);
    let mut t = VerifierTranscript::<C::F>::new(&ds::<C>(&WhirParams::insecure_for_tests()), bytes);
    let c = pcs
        .read_commitment(&layout(s), &mut t)
        .map_err(|e| e.to_string())?;
    let red = verify_masked(claim, &s.shape, &mut t).map_err(|e| e.to_string())?;
    let evals: Vec<C::EF> = t.read_ext("evals", 3).map_err(|e| e.to_string())?;
    red.claim
        .check(&s.comp, &evals)
        .map_err(|e| e.to_string())?;
    let mut claims: Vec<Claim<C::EF>> = evals
        .iter()
        .enumerate()
        .map(|(i, &value)| Claim {
            poly: i,
            point: red.claim.point.clone(),
            value,
        })
        .collect();
    for (point, value) in mask_claims::<C::F, C::EF>(&s.shape, &red.claim.point, &red.mask_values)
        .map_err(|e| e.to_string())?
    {
        claims.push(Claim {
            poly: 3,
            point,
            value,
        });
    }
    pcs.verify(&c, &claims, &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())
}

fn roundtrip<C: FieldConfig>(n: usize, seed: u64)
where
    C::F: Ord,
    StandardUniform: Distribution<C::F> + Distribution<C::EF>,
{
    let s = setup::<C>(n, seed);
    let bytes = prove(&s, seed);
    verify(&s, s.claim, &bytes).expect("honest masked proof");
    assert!(
        verify(&s, s.claim + C::EF::ONE, &bytes).is_err(),
        "false sum"
    );
}

#[test]
fn masked_sumcheck_with_hiding_pcs_goldilocks() {
    roundtrip::<GoldilocksConfig>(6, 1);
    roundtrip::<GoldilocksConfig>(1, 2);
}

#[test]
fn masked_sumcheck_with_hiding_pcs_koalabear() {
    roundtrip::<KoalaBearConfig>(5, 3);
}

#[test]
fn masked_sumcheck_with_hiding_pcs_tamper() {
    type C = GoldilocksConfig;
    let s = setup::<C>(5, 4);
    let bytes = prove(&s, 4);
    // Root, the mask sum, every round element, the mask values and the evaluations (each
    // 16 bytes after the 32-byte root), then every 61st byte of the opening.
    let sumcheck_elems = 1 + 5 * 3 + 5 + 3;
    let positions = (0..sumcheck_elems)
        .map(|e| 32 + 16 * e)
        .chain([0, 31])
        .chain((32 + 16 * sumcheck_elems..bytes.len()).step_by(61));
    let mut checked = 0;
    for at in positions {
        let mut bad = bytes.clone();
        bad[at] ^= 1;
        assert!(
            verify(&s, s.claim, &bad).is_err(),
            "byte {at} of {}",
            bytes.len()
        );
        checked += 1;
    }
    assert!(checked > 30);
    assert!(verify(&s, s.claim, &bytes[..bytes.len() - 1]).is_err());
}

#[test]
fn masked_sumcheck_proofs_use_fresh_masks() {
    type C = GoldilocksConfig;
    let s = setup::<C>(4, 5);
    let a = prove(&s, 10);
    let b = prove(&s, 11);
    verify(&s, s.claim, &a).unwrap();
    verify(&s, s.claim, &b).unwrap();
    // Fresh masks: the round messages differ everywhere after the root.
    assert_ne!(a[32..48], b[32..48]);
}
