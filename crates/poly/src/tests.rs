use proptest::prelude::*;
use zkinfer_field::p3_field::{BasedVectorSpace, PrimeCharacteristicRing, PrimeField64};
use zkinfer_field::{FieldConfig, GoldilocksConfig, KoalaBearConfig};

use super::*;

/// Naive reference: Σ_x eq(r, x)·v[x] with eq computed bit by bit from the index.
fn naive_eval<C: FieldConfig>(v: &[C::F], r: &[C::EF]) -> C::EF {
    let mut acc = C::EF::ZERO;
    for (x, &val) in v.iter().enumerate() {
        let mut w = C::EF::ONE;
        for (i, &ri) in r.iter().enumerate() {
            w *= if (x >> i) & 1 == 1 {
                ri
            } else {
                C::EF::ONE - ri
            };
        }
        acc += w * val;
    }
    acc
}

fn ext<C: FieldConfig>(seed: u64) -> C::EF {
    C::EF::from_basis_coefficients_fn(|i| {
        C::F::from_u64(
            seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(i as u64 * 7919),
        )
    })
}

fn check_all<C: FieldConfig>(vals: &[u64], n: usize, seed: u64) {
    let v: Vec<C::F> = (0..1usize << n)
        .map(|i| C::F::from_u64(vals[i % vals.len()] % C::F::ORDER_U64))
        .collect();
    let r: Vec<C::EF> = (0..n).map(|i| ext::<C>(seed + i as u64)).collect();
    let want = naive_eval::<C>(&v, &r);
    assert_eq!(evaluate(&v, &r), want);
    // eq table agrees with eq_eval on boolean points, and dotting with it evaluates.
    let eq = eq_table(&r);
    let dot: C::EF = eq.iter().zip(&v).map(|(&e, &x)| e * x).sum();
    assert_eq!(dot, want);
    // fix_low then evaluate the rest == full evaluation; same for fix_high.
    for k in 0..=n {
        let low = fix_low(&v, &r[..k]);
        assert_eq!(evaluate(&low, &r[k..]), want, "fix_low k={k}");
        let high = fix_high(&v, &r[n - k..]);
        assert_eq!(evaluate(&high, &r[..n - k]), want, "fix_high k={k}");
    }
}

#[test]
fn eq_eval_matches_table() {
    type C = GoldilocksConfig;
    let r: Vec<<C as FieldConfig>::EF> = (0..4).map(ext::<C>).collect();
    let t = eq_table(&r);
    for x in 0..16usize {
        let b: Vec<_> = (0..4)
            .map(|i| <C as FieldConfig>::EF::from_u64(((x >> i) & 1) as u64))
            .collect();
        assert_eq!(eq_eval(&r, &b), t[x]);
    }
}

/// The split (outer-product, parallel) eq table from 2^14 entries agrees with the sequential
/// one, including its scale and an odd number of variables.
#[test]
fn large_eq_table_matches_sequential_and_eval() {
    type C = GoldilocksConfig;
    type EF = <C as FieldConfig>::EF;
    let r: Vec<EF> = (0..15).map(|i| ext::<C>(100 + i)).collect();
    let s = ext::<C>(7);
    let big = eq_table_scaled(&r, s);
    // Sequential reference: the last variable split off by hand below the threshold.
    let low = eq_table_scaled(&r[..14], s);
    let last = r[14];
    for x in (0..1usize << 15).step_by(97).chain([(1 << 15) - 1]) {
        let want = low[x & ((1 << 14) - 1)] * if x >> 14 == 1 { last } else { EF::ONE - last };
        assert_eq!(big[x], want, "entry {x}");
        let b: Vec<EF> = (0..15)
            .map(|i| EF::from_u64(((x >> i) & 1) as u64))
            .collect();
        assert_eq!(eq_eval(&r, &b) * s, big[x]);
    }
}

#[test]
fn large_tables_take_parallel_path() {
    check_all::<GoldilocksConfig>(&[3, 1, 4, 1, 5, 9, 2, 6], 13, 42);
}

proptest! {
    #[test]
    fn evaluation_agrees_with_naive_goldilocks(vals in proptest::collection::vec(any::<u64>(), 1..64), n in 0usize..8, seed in any::<u64>()) {
        check_all::<GoldilocksConfig>(&vals, n, seed);
    }

    #[test]
    fn evaluation_agrees_with_naive_koalabear(vals in proptest::collection::vec(any::<u64>(), 1..64), n in 0usize..8, seed in any::<u64>()) {
        check_all::<KoalaBearConfig>(&vals, n, seed);
    }
}
