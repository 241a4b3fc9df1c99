//! LogUp-GKR, 2^20 lookups into a 2^16-row range table (the issue-2 target: prove ≤ 1.5 s,
//! proof ≤ 100 KB plus the multiplicity opening, verify ≤ 10 ms), in both field configurations.
//! "prove" includes counting the multiplicities; the multiplicity commitment is stood in for by
//! a Blake3 digest written to the transcript (the PCS is benchmarked on its own).

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use zkinfer_field::p3_field::{PrimeCharacteristicRing, PrimeField64};
use zkinfer_field::{FieldConfig, GoldilocksConfig, KoalaBearConfig};
use zkinfer_lookup::{verify, LookupProver, RangeTable, Table};
use zkinfer_transcript::{DomainSeparator, Proof, ProverTranscript, VerifierTranscript};

const LOOKUPS: usize = 20;
const TABLE: usize = 16;

fn digest<F: PrimeField64>(m: &[Vec<F>]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    m.iter().flatten().for_each(|v| {
        h.update(&v.as_canonical_u64().to_le_bytes());
    });
    *h.finalize().as_bytes()
}

fn prove<C: FieldConfig>(ds: &DomainSeparator, table: &RangeTable, col: &[C::F]) -> Proof {
    let mut p = LookupProver::<C::F, C::EF>::new(vec![table as &dyn Table<C::F, C::EF>]);
    p.add_lookup(0, vec![col]).expect("shape");
    let m = p.multiplicities().expect("members");
    let mut t = ProverTranscript::<C::F>::new(ds);
    t.write_digest("multiplicities", &digest(&m));
    let _claims = p.prove(&m, &mut t).expect("prove");
    t.finish()
}

fn bench_config<C: FieldConfig>(c: &mut Criterion) {
    let ds = DomainSeparator::new("bench-logup", 1, C::ID, b"");
    let table = RangeTable { bits: TABLE };
    let col: Vec<C::F> = (0..1u64 << LOOKUPS)
        .map(|i| C::F::from_u64(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48))
        .collect();
    let mut group = c.benchmark_group(format!("logup_2^{LOOKUPS}_into_2^{TABLE}/{}", C::ID));
    group.sample_size(10);
    group.bench_function("prove", |b| b.iter(|| prove::<C>(&ds, &table, &col)));
    let proof = prove::<C>(&ds, &table, &col);
    eprintln!(
        "logup {} 2^{LOOKUPS} lookups into 2^{TABLE}: proof {} bytes",
        C::ID,
        proof.bytes.len()
    );
    let shape = {
        let mut p = LookupProver::<C::F, C::EF>::new(vec![&table as &dyn Table<C::F, C::EF>]);
        p.add_lookup(0, vec![&col]).expect("shape");
        p.shape()
    };
    group.bench_function("verify", |b| {
        b.iter(|| {
            let mut v = VerifierTranscript::<C::F>::new(&ds, &proof.bytes);
            v.read_digest("multiplicities").expect("digest");
            let claims = verify(&shape, &mut v).expect("valid");
            v.finish().expect("no trailing bytes");
            claims
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_config::<GoldilocksConfig>(c);
    bench_config::<KoalaBearConfig>(c);
}

criterion_group!(logup, benches);
criterion_main!(logup);
