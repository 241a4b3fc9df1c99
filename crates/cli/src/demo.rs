//! The demonstration: an inner product `Σ_x a(x)·b(x)` proven by sumcheck, with the final
//! evaluations settled by the verifier itself, then checked for rejection of a wrong claim.

use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use zkinfer_field::p3_field::PrimeCharacteristicRing;
use zkinfer_field::{FieldConfig, GoldilocksConfig};
use zkinfer_sumcheck::{prove, verify, Composition, Mle};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

/// Options of `zkinfer demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// log2 of the vector length.
    #[arg(long, default_value_t = 20)]
    log_size: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

type F = <GoldilocksConfig as FieldConfig>::F;
type EF = <GoldilocksConfig as FieldConfig>::EF;

pub fn run(args: &DemoArgs) -> Result<()> {
    if args.log_size > 26 {
        bail!(
            "--log-size {} is too large for the demo (max 26)",
            args.log_size
        );
    }
    let k = args.log_size;
    let n = 1u64 << k;
    let a: Vec<F> = (0..n)
        .map(|i| F::from_u64(i.wrapping_mul(0x9e37_79b9) % 65_536))
        .collect();
    let b: Vec<F> = (0..n).map(|i| F::from_u64((i ^ 0x5a5a) % 256)).collect();
    let ds = DomainSeparator::new(
        "zkinfer-demo",
        1,
        GoldilocksConfig::ID,
        &(k as u64).to_le_bytes(),
    );

    let t0 = Instant::now();
    let claim = EF::from(a.iter().zip(&b).map(|(&x, &y)| x * y).sum::<F>());
    let mut pt = ProverTranscript::<F>::new(&ds);
    pt.observe_ext("claimed inner product", &[claim]);
    let comp = Composition::<EF>::product(2);
    let out = prove(claim, vec![Mle::Base(&a), Mle::Base(&b)], &comp, &mut pt);
    pt.write_ext("final evaluations", &out.evals);
    let proof = pt.finish();
    let prove_time = t0.elapsed();

    let t1 = Instant::now();
    let check = |claim: EF| -> Result<()> {
        let mut vt = VerifierTranscript::<F>::with_pattern(&ds, &proof.bytes, &proof.pattern);
        vt.observe_ext("claimed inner product", &[claim]);
        let reduced = verify(claim, k, 2, &mut vt)?;
        let evals: Vec<EF> = vt.read_ext("final evaluations", 2)?;
        // The demo's verifier knows a and b, so it settles the claim itself.
        if evals[0] != zkinfer_poly::evaluate(&a, &reduced.point)
            || evals[1] != zkinfer_poly::evaluate(&b, &reduced.point)
        {
            bail!("final evaluations do not match the vectors");
        }
        reduced.check(&comp, &evals)?;
        vt.finish()?;
        Ok(())
    };
    check(claim)?;
    let verify_time = t1.elapsed();
    let wrong_rejected = check(claim + EF::ONE).is_err();
    if !wrong_rejected {
        bail!("a wrong claim was accepted");
    }

    if args.json {
        let o = serde_json::json!({
            "statement": "inner product by sumcheck",
            "log_size": k,
            "prove_ms": prove_time.as_secs_f64() * 1e3,
            "verify_ms": verify_time.as_secs_f64() * 1e3,
            "proof_bytes": proof.bytes.len(),
            "verified": true,
            "wrong_claim_rejected": wrong_rejected,
        });
        println!("{o}");
    } else {
        println!("sumcheck: inner product of two 2^{k} vectors");
        println!("  prove   {:>9.2} ms", prove_time.as_secs_f64() * 1e3);
        println!(
            "  verify  {:>9.2} ms (includes the verifier evaluating both vectors itself)",
            verify_time.as_secs_f64() * 1e3
        );
        println!("  proof   {:>9} bytes", proof.bytes.len());
        println!("  verified: yes; a wrong claim is rejected: yes");
    }
    Ok(())
}
