//! The demonstration statement, proven with every protocol of the core:
//!
//! *"The committed vectors `a` and `b` (2^k entries each) have inner product `H`, and every
//! entry of `a` is a 16-bit unsigned integer."*
//!
//! 1. One WHIR commitment holds `a`, `b` and the multiplicities `m` of `a` in the range table
//!    `[0, 2^16)` (committed before any lookup challenge).
//! 2. Sumcheck reduces `Σ_x a(x)·b(x) = H` to claims `a(r)`, `b(r)`.
//! 3. LogUp-GKR reduces "a ⊂ [0, 2^16)" to claims `a(ρ)` and `m(ρ')`; the verifier evaluates the
//!    range table itself.
//! 4. One batched PCS opening settles all four claims.
//!
//! The verifier never sees `a`, `b` or `m`, only the commitment, `H` and the proof.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use zkinfer_field::p3_field::PrimeCharacteristicRing;
use zkinfer_field::{FieldConfig, GoldilocksConfig};
use zkinfer_lookup::{LookupProver, LookupShape, LookupSpec, RangeTable, Table};
use zkinfer_pcs::{Claim, MultilinearPcs, WhirParams, WhirPcs};
use zkinfer_sumcheck::{Composition, Mle};
use zkinfer_transcript::{
    decode_envelope, encode_envelope, DomainSeparator, ProverTranscript, VerifierTranscript,
};

type C = GoldilocksConfig;
type F = <C as FieldConfig>::F;
type EF = <C as FieldConfig>::EF;

const RANGE_BITS: usize = 16;
const KIND: [u8; 4] = *b"DEMO";
const VERSION: u16 = 1;

/// Options of `zkinfer demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// log2 of the vector length (4..=24).
    #[arg(long, default_value_t = 20)]
    log_size: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

struct Timings {
    commit: Duration,
    prove: Duration,
    verify: Duration,
}

fn domain(k: usize, params: &WhirParams) -> DomainSeparator {
    let mut p = (k as u64).to_le_bytes().to_vec();
    p.extend_from_slice(&params.to_bytes());
    DomainSeparator::new("zkinfer-demo", 1, C::ID, &p)
}

/// Proves the statement; returns the proof file and the public inner product.
fn prove(
    k: usize,
    pcs: &WhirPcs<C>,
    ds: &DomainSeparator,
    t: &mut Timings,
) -> Result<(Vec<u8>, EF)> {
    let n = 1u64 << k;
    let a: Vec<F> = (0..n)
        .map(|i| F::from_u64(i.wrapping_mul(0x9e37_79b9) % (1 << RANGE_BITS)))
        .collect();
    let b: Vec<F> = (0..n).map(|i| F::from_u64((i ^ 0x5a5a) % 1000)).collect();
    let range = RangeTable { bits: RANGE_BITS };
    let mut lookups = LookupProver::<F, EF>::new(vec![&range as &dyn Table<F, EF>]);
    lookups
        .add_lookup(0, vec![&a])
        .map_err(|e| anyhow!("{e}"))?;
    let m = lookups.multiplicities().map_err(|e| anyhow!("{e}"))?;

    let t0 = Instant::now();
    let (commitment, data) = pcs.commit(&[&a, &b, &m[0]])?;
    t.commit = t0.elapsed();

    let t1 = Instant::now();
    let h = EF::from(a.iter().zip(&b).map(|(&x, &y)| x * y).sum::<F>());
    let mut pt = ProverTranscript::<F>::new(ds);
    pcs.write_commitment(&commitment, &mut pt);
    pt.observe_ext("inner product", &[h]);
    let comp = Composition::<EF>::product(2);
    let sc = zkinfer_sumcheck::prove(h, vec![Mle::Base(&a), Mle::Base(&b)], &comp, &mut pt);
    pt.write_ext("a(r), b(r)", &sc.evals);
    let lc = lookups.prove(&m, &mut pt).map_err(|e| anyhow!("{e}"))?;
    let claims = vec![
        Claim {
            poly: 0,
            point: sc.point.clone(),
            value: sc.evals[0],
        },
        Claim {
            poly: 1,
            point: sc.point,
            value: sc.evals[1],
        },
        Claim {
            poly: 0,
            point: lc.witness[0].point.clone(),
            value: lc.witness[0].values[0],
        },
        Claim {
            poly: 2,
            point: lc.multiplicities[0].point.clone(),
            value: lc.multiplicities[0].values[0],
        },
    ];
    pcs.open(&data, &claims, &mut pt)?;
    t.prove = t1.elapsed();
    Ok((encode_envelope(KIND, VERSION, &pt.finish().bytes), h))
}

/// The verifier: commitment layout, `H` and `k` are public; everything else is read.
fn verify(k: usize, h: EF, file: &[u8], pcs: &WhirPcs<C>, ds: &DomainSeparator) -> Result<()> {
    let body = decode_envelope(file, KIND, VERSION)?;
    let mut vt = VerifierTranscript::<F>::new(ds, body);
    let commitment = pcs
        .read_commitment(&[k, k, RANGE_BITS], &mut vt)
        .context("commitment")?;
    vt.observe_ext("inner product", &[h]);
    let comp = Composition::<EF>::product(2);
    let reduced = zkinfer_sumcheck::verify(h, k, 2, &mut vt).context("inner-product sumcheck")?;
    let evals: Vec<EF> = vt
        .read_ext("a(r), b(r)", 2)
        .context("sumcheck evaluations")?;
    reduced
        .check(&comp, &evals)
        .context("inner-product sumcheck")?;
    let range = RangeTable { bits: RANGE_BITS };
    let shape = LookupShape {
        tables: vec![&range as &dyn Table<F, EF>],
        lookups: vec![LookupSpec {
            table: 0,
            num_vars: k,
        }],
    };
    let lc = zkinfer_lookup::verify(&shape, &mut vt).context("range lookup")?;
    let (w, mult) = (lc.witness.first(), lc.multiplicities.first());
    let (Some(w), Some(mult)) = (w, mult) else {
        bail!("lookup returned no claims")
    };
    let (Some(&wv), Some(&mv)) = (w.values.first(), mult.values.first()) else {
        bail!("lookup claim without value")
    };
    let claims = vec![
        Claim {
            poly: 0,
            point: reduced.point.clone(),
            value: evals[0],
        },
        Claim {
            poly: 1,
            point: reduced.point,
            value: evals[1],
        },
        Claim {
            poly: 0,
            point: w.point.clone(),
            value: wv,
        },
        Claim {
            poly: 2,
            point: mult.point.clone(),
            value: mv,
        },
    ];
    pcs.verify(&commitment, &claims, &mut vt)
        .context("PCS opening")?;
    vt.finish().context("end of proof")?;
    Ok(())
}

pub fn run(args: &DemoArgs) -> Result<()> {
    let k = args.log_size;
    if !(4..=24).contains(&k) {
        bail!("--log-size {k} is out of range (4..=24)");
    }
    let params = WhirParams::default();
    let pcs = WhirPcs::<C>::new(params);
    let ds = domain(k, &params);
    let mut t = Timings {
        commit: Duration::ZERO,
        prove: Duration::ZERO,
        verify: Duration::ZERO,
    };
    let (proof, h) = prove(k, &pcs, &ds, &mut t)?;

    let t2 = Instant::now();
    verify(k, h, &proof, &pcs, &ds)?;
    t.verify = t2.elapsed();

    // The same proof must fail for another public value, and when any byte is flipped.
    let wrong_claim_rejected = verify(k, h + EF::ONE, &proof, &pcs, &ds).is_err();
    let mut tampered = proof.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0x10;
    let tampered_rejected = verify(k, h, &tampered, &pcs, &ds).is_err();
    if !wrong_claim_rejected || !tampered_rejected {
        bail!("soundness self-check failed: a wrong statement or a tampered proof was accepted");
    }

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    if args.json {
        let o = serde_json::json!({
            "statement": "committed a, b: <a,b> = H and a in [0, 2^16)",
            "log_size": k,
            "pcs_security_bits": pcs.composed_security_bits(&[k, k, RANGE_BITS], 4).ok(),
            "commit_ms": ms(t.commit),
            "prove_ms": ms(t.prove),
            "verify_ms": ms(t.verify),
            "proof_bytes": proof.len(),
            "verified": true,
            "wrong_statement_rejected": wrong_claim_rejected,
            "tampered_proof_rejected": tampered_rejected,
        });
        println!("{o}");
    } else {
        println!(
            "statement: committed a, b (2^{k} entries each) have <a, b> = H, and a ⊂ [0, 2^16)"
        );
        println!(
            "  commit  {:>9.1} ms   (a, b and the multiplicities of a, one WHIR commitment)",
            ms(t.commit)
        );
        println!(
            "  prove   {:>9.1} ms   (sumcheck + LogUp-GKR + one batched opening)",
            ms(t.prove)
        );
        println!("  verify  {:>9.1} ms", ms(t.verify));
        println!("  proof   {:>9} bytes", proof.len());
        println!("  verified: yes; wrong H rejected: yes; flipped proof byte rejected: yes");
    }
    Ok(())
}
