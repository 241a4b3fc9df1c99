//! Sumcheck for the product of two MLEs at 2^k entries (the issue-2 target: 2^22 ≤ 0.4 s prove,
//! ≤ 1 ms verify), in both field configurations; `prove_masked`/`verify_masked` are the
//! zero-knowledge variant on the same instance (issue 14: ratio against plain in one run).
#![allow(missing_docs)] // criterion macros generate undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use zkinfer_field::p3_field::PrimeCharacteristicRing;
use zkinfer_field::{FieldConfig, GoldilocksConfig, KoalaBearConfig};
use zkinfer_sumcheck::{
    prove, prove_masked, verify, verify_masked, Composition, Mask, MaskShape, Mle,
};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

fn bench_config<C: FieldConfig>(c: &mut Criterion) {
    let ds = DomainSeparator::new("bench", 1, C::ID, b"");
    let mut group = c.benchmark_group(format!("sumcheck_product2/{}", C::ID));
    group.sample_size(10);
    for k in [18usize, 20, 22] {
        let a: Vec<C::F> = (0..1u64 << k)
            .map(|i| C::F::from_u64(i.wrapping_mul(0x9e37_79b9) >> 8))
            .collect();
        let b: Vec<C::F> = (0..1u64 << k).map(|i| C::F::from_u64(i ^ 0x5555)).collect();
        let comp = Composition::<C::EF>::product(2);
        let claim: C::EF = C::EF::from(a.iter().zip(&b).map(|(&x, &y)| x * y).sum::<C::F>());
        group.bench_with_input(BenchmarkId::new("prove", k), &k, |bench, _| {
            bench.iter(|| {
                let mut t = ProverTranscript::<C::F>::new(&ds);
                prove(claim, vec![Mle::Base(&a), Mle::Base(&b)], &comp, &mut t)
            })
        });
        let mut t = ProverTranscript::<C::F>::new(&ds);
        let _ = prove(claim, vec![Mle::Base(&a), Mle::Base(&b)], &comp, &mut t);
        let proof = t.finish();
        eprintln!(
            "sumcheck {} 2^{k}: proof {} bytes",
            C::ID,
            proof.bytes.len()
        );
        group.bench_with_input(BenchmarkId::new("verify", k), &k, |bench, _| {
            bench.iter(|| {
                let mut v = VerifierTranscript::<C::F>::new(&ds, &proof.bytes);
                verify::<C::F, C::EF>(claim, k, 2, &mut v).expect("valid")
            })
        });
        let shape = MaskShape::new(k, 2).expect("shape");
        let mut s = 0x1234_5678_9abc_def1u64;
        let mask = Mask::<C::F, C::EF>::sample(shape, || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            C::F::from_u64(s)
        });
        group.bench_with_input(BenchmarkId::new("prove_masked", k), &k, |bench, _| {
            bench.iter(|| {
                let mut t = ProverTranscript::<C::F>::new(&ds);
                prove_masked(
                    claim,
                    vec![Mle::Base(&a), Mle::Base(&b)],
                    &comp,
                    &mask,
                    &mut t,
                )
            })
        });
        let mut t = ProverTranscript::<C::F>::new(&ds);
        let _ = prove_masked(
            claim,
            vec![Mle::Base(&a), Mle::Base(&b)],
            &comp,
            &mask,
            &mut t,
        );
        let masked = t.finish();
        eprintln!(
            "masked sumcheck {} 2^{k}: proof {} bytes",
            C::ID,
            masked.bytes.len()
        );
        group.bench_with_input(BenchmarkId::new("verify_masked", k), &k, |bench, _| {
            bench.iter(|| {
                let mut v = VerifierTranscript::<C::F>::new(&ds, &masked.bytes);
                verify_masked::<C::F, C::EF>(claim, &shape, &mut v).expect("valid")
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_config::<GoldilocksConfig>(c);
    bench_config::<KoalaBearConfig>(c);
}

criterion_group!(sumcheck, benches);
criterion_main!(sumcheck);
