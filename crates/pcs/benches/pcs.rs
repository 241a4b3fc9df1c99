//! PCS benchmarks: commit / open (one point) / verify, Goldilocks + ext2 and KoalaBear + ext4
//! (`PCS_BENCH_FIELD=goldilocks|koalabear|both`, default goldilocks).
//!
//! `PCS_BENCH_SIZES=18,20,22,24` (log2 of base-field elements; default 18,20,22) and
//! `PCS_BENCH_PARAMS=proven|conjectured|both|old` (comma-separated; default proven = the
//! default parameters; old = `WhirParams::per_term_100()`, the previous default) select the
//! cases. A batch case (`PCS_BENCH_BATCH=1`) commits 2^(k−1) + 2^(k−2) + … eight polynomials
//! of different sizes and opens 16 claims (two per polynomial) in one proof.
//! `PCS_BENCH_HIDING=1` adds the hiding scheme (`HidingPcs`) on the same instances
//! (Goldilocks only). Proof size and composed security are
//! printed to stderr. `PCS_BENCH_POW=n` overrides the grinding budget, `PCS_BENCH_RATE`,
//! `PCS_BENCH_FOLD` and `PCS_BENCH_STEP` the starting rate (log2 of its inverse), the variables
//! folded per round and the per-round rate step.

#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing, PrimeField64};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use zkinfer_field::{FieldConfig, GoldilocksConfig, KoalaBearConfig};
use zkinfer_pcs::{
    Claim, HidingCommitment, HidingPcs, HidingProverData, MultilinearPcs, WhirParams, WhirPcs,
};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .collect()
}

fn rand_ef<C: FieldConfig>(rng: &mut SmallRng) -> C::EF {
    C::EF::from_basis_coefficients_fn(|_| C::F::from_u64(rng.random::<u64>() % C::F::ORDER_U64))
}

/// Evaluates at a point via the prover's own fold (little-endian: variable 0 = lowest bit).
fn eval<C: FieldConfig>(f: &[C::F], z: &[C::EF]) -> C::EF {
    let mut cur: Vec<C::EF> = f.iter().map(|&x| C::EF::from(x)).collect();
    for &zi in z {
        cur = cur
            .chunks_exact(2)
            .map(|p| p[0] + (p[1] - p[0]) * zi)
            .collect();
    }
    cur[0]
}

/// Polynomials (one of 2^k, or eight of 2^(k−1), 2^(k−2), …) and claims with honest values.
type Inst<C> = (
    Vec<usize>,
    Vec<Vec<<C as FieldConfig>::F>>,
    Vec<Claim<<C as FieldConfig>::EF>>,
);

fn instance<C: FieldConfig>(k: usize, batch: bool) -> Inst<C> {
    let mut rng = SmallRng::seed_from_u64(k as u64);
    let vars: Vec<usize> = if batch {
        (1..=8).map(|i| k - i).collect()
    } else {
        vec![k]
    };
    let polys: Vec<Vec<C::F>> = vars
        .iter()
        .map(|&v| {
            (0..1usize << v)
                .map(|_| C::F::from_u64(rng.random::<u64>() % C::F::ORDER_U64))
                .collect()
        })
        .collect();
    // Claims per polynomial (`PCS_BENCH_CLAIMS`, default 2 in the batch case, 1 otherwise).
    let per: usize = std::env::var("PCS_BENCH_CLAIMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if batch { 2 } else { 1 });
    let claim_polys: Vec<usize> = (0..vars.len())
        .flat_map(|i| std::iter::repeat_n(i, per))
        .collect();
    let claims: Vec<Claim<C::EF>> = claim_polys
        .iter()
        .map(|&p| {
            let point: Vec<C::EF> = (0..vars[p]).map(|_| rand_ef::<C>(&mut rng)).collect();
            Claim {
                poly: p,
                value: eval::<C>(&polys[p], &point),
                point,
            }
        })
        .collect();
    (vars, polys, claims)
}

/// The hiding scheme on the same instance (`PCS_BENCH_HIDING=1`): each opening consumes its
/// commitment, so `open` commits in an untimed setup first.
fn hiding_case<C: FieldConfig>(
    c: &mut Criterion,
    k: usize,
    label: &str,
    params: WhirParams,
    batch: bool,
) where
    C::F: Ord,
    rand::distr::StandardUniform:
        rand::distr::Distribution<C::F> + rand::distr::Distribution<C::EF>,
{
    let pcs = HidingPcs::<C>::new(params).expect("entropy");
    let ds = DomainSeparator::new("zkinfer-pcs-bench", 1, C::ID, &params.to_bytes());
    let (vars, polys, claims) = instance::<C>(k, batch);
    let refs: Vec<&[C::F]> = polys.iter().map(|p| p.as_slice()).collect();
    let name = format!(
        "{}/{label}-hiding{}/2^{k}",
        C::ID,
        if batch { "-batch8" } else { "" }
    );
    let prove = |(com, data): (HidingCommitment, HidingProverData<C>)| {
        let mut t = ProverTranscript::<C::F>::new(&ds);
        pcs.write_commitment(&com, &mut t);
        pcs.open(&data, &claims, &mut t).expect("open");
        t.finish().bytes
    };
    let proof = prove(pcs.commit(&refs).expect("commit"));
    let verify = |bytes: &[u8]| {
        let mut t = VerifierTranscript::<C::F>::new(&ds, bytes);
        let c = pcs.read_commitment(&vars, &mut t).expect("read");
        pcs.verify(&c, &claims, &mut t).expect("verify");
        t.finish().expect("finish");
    };
    verify(&proof);
    eprintln!(
        "PCS {name}: proof {} bytes ({:.1} KiB), {} claims, stacked 2^{}",
        proof.len(),
        proof.len() as f64 / 1024.0,
        claims.len(),
        pcs.stacked_vars(&vars).unwrap_or(0)
    );
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("commit", |b| b.iter(|| pcs.commit(&refs).expect("commit")));
    g.bench_function("open", |b| {
        b.iter_batched(
            || pcs.commit(&refs).expect("commit"),
            prove,
            BatchSize::PerIteration,
        )
    });
    g.bench_function("verify", |b| b.iter(|| verify(&proof)));
    g.finish();
}

fn case<C: FieldConfig>(c: &mut Criterion, k: usize, label: &str, params: WhirParams, batch: bool) {
    let pcs = WhirPcs::<C>::new(params);
    let ds = DomainSeparator::new("zkinfer-pcs-bench", 1, C::ID, &params.to_bytes());
    let (vars, polys, claims) = instance::<C>(k, batch);
    let refs: Vec<&[C::F]> = polys.iter().map(|p| p.as_slice()).collect();
    let name = format!(
        "{}/{label}{}/2^{k}",
        C::ID,
        if batch { "-batch8" } else { "" }
    );

    let (com, data) = pcs.commit(&refs).expect("commit");
    // Each timed opening runs on a different transcript (a counter is observed first), so the
    // proof-of-work searches — geometric, with a large spread — average out instead of one
    // lucky or unlucky instance being timed over and over.
    let round = std::cell::Cell::new(0u64);
    let prove = || {
        let mut t = ProverTranscript::<C::F>::new(&ds);
        t.observe_bytes("bench.round", &round.get().to_le_bytes());
        round.set(round.get() + 1);
        pcs.write_commitment(&com, &mut t);
        pcs.open(&data, &claims, &mut t).expect("open");
        t.finish().bytes
    };
    let proof = prove();
    let verify = |bytes: &[u8]| {
        let mut t = VerifierTranscript::<C::F>::new(&ds, bytes);
        t.observe_bytes("bench.round", &0u64.to_le_bytes());
        let c = pcs.read_commitment(&vars, &mut t).expect("read");
        pcs.verify(&c, &claims, &mut t).expect("verify");
        t.finish().expect("finish");
    };
    verify(&proof);
    let bits = pcs
        .composed_security_bits(&vars, claims.len())
        .unwrap_or(f64::NAN);
    eprintln!(
        "PCS {name}: proof {} bytes ({:.1} KiB), {} claims, composed security {bits:.1} bits",
        proof.len(),
        proof.len() as f64 / 1024.0,
        claims.len()
    );

    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("commit", |b| b.iter(|| pcs.commit(&refs).expect("commit")));
    g.bench_function("open", |b| {
        b.iter_batched(|| (), |_| prove(), BatchSize::PerIteration)
    });
    g.bench_function("verify", |b| b.iter(|| verify(&proof)));
    g.finish();
}

fn benches(c: &mut Criterion) {
    let sizes: Vec<usize> = env_list("PCS_BENCH_SIZES", "18,20,22")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let which = env_list("PCS_BENCH_PARAMS", "proven");
    let batch = std::env::var("PCS_BENCH_BATCH").is_ok_and(|v| v == "1");
    let hiding = std::env::var("PCS_BENCH_HIDING").is_ok_and(|v| v == "1");
    let fields = match std::env::var("PCS_BENCH_FIELD").as_deref() {
        Ok("koalabear") => vec!["koalabear".to_string()],
        Ok("both") => vec!["goldilocks".to_string(), "koalabear".to_string()],
        _ => vec!["goldilocks".to_string()],
    };
    for &k in &sizes {
        for w in &which {
            let list: Vec<(&str, WhirParams)> = match w.as_str() {
                "conjectured" => vec![("conjectured", WhirParams::conjectured())],
                "old" => vec![("per-term-100", WhirParams::per_term_100())],
                "both" => vec![
                    ("proven", WhirParams::default()),
                    ("conjectured", WhirParams::conjectured()),
                ],
                _ => vec![("proven", WhirParams::default())],
            };
            for (label, mut params) in list {
                let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
                if let Some(pow) = var("PCS_BENCH_POW") {
                    params.pow_bits = pow;
                }
                if let Some(rate) = var("PCS_BENCH_RATE") {
                    params.rate_log = rate;
                }
                if let Some(fold) = var("PCS_BENCH_FOLD") {
                    params.fold = fold;
                }
                if let Some(step) = var("PCS_BENCH_STEP") {
                    params.round_rate_step = step;
                }
                for field in &fields {
                    match field.as_str() {
                        "koalabear" => {
                            case::<KoalaBearConfig>(c, k, label, params, false);
                            if batch {
                                case::<KoalaBearConfig>(c, k, label, params, true);
                            }
                        }
                        _ => {
                            case::<GoldilocksConfig>(c, k, label, params, false);
                            if hiding {
                                hiding_case::<GoldilocksConfig>(c, k, label, params, false);
                            }
                            if batch {
                                case::<GoldilocksConfig>(c, k, label, params, true);
                                if hiding {
                                    hiding_case::<GoldilocksConfig>(c, k, label, params, true);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

criterion_group!(pcs, benches);
criterion_main!(pcs);
