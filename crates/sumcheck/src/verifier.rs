//! The verifier: the specification of the protocol.

use zkinfer_field::p3_field::{ExtensionField, Field, PrimeField64};
use zkinfer_transcript::{Duplex, VerifierTranscript};

use crate::composition::Composition;
use crate::error::SumcheckError;

/// The claim a sumcheck reduces to: `g(f_0(point), …) = value`.
///
/// # Soundness
/// Accepting the sumcheck proves nothing until the caller checks `value` against
/// evaluations of the input MLEs at `point` that it trusts (computes itself, or obtains from a
/// PCS opening or a further sub-protocol) — see [`SumcheckClaim::check`].
#[must_use = "a sumcheck claim must be settled by the caller"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SumcheckClaim<EF> {
    /// The challenge point `r_0 … r_{n−1}`.
    pub point: Vec<EF>,
    /// The value `g(f(point))` must take.
    pub value: EF,
}

impl<EF: Field> SumcheckClaim<EF> {
    /// Settles the claim with `g` and trusted MLE evaluations at `self.point`.
    pub fn check(&self, comp: &Composition<EF>, evals: &[EF]) -> Result<(), SumcheckError> {
        if evals.len() == comp.num_mles() && comp.evaluate(evals) == self.value {
            Ok(())
        } else {
            Err(SumcheckError::FinalCheck {
                rounds: self.point.len(),
            })
        }
    }
}

/// A batched claim: `Σ_k coeffs[k]·g_k(f_k(point)) = claim.value`.
#[must_use = "a sumcheck claim must be settled by the caller"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchedClaim<EF> {
    /// The reduced claim on the combined composition.
    pub claim: SumcheckClaim<EF>,
    /// Batching coefficients `α^k`.
    pub coeffs: Vec<EF>,
}

impl<EF: Field> BatchedClaim<EF> {
    /// Settles the claim with each instance's composition and trusted evaluations.
    pub fn check(&self, comps: &[Composition<EF>], evals: &[Vec<EF>]) -> Result<(), SumcheckError> {
        let rounds = self.claim.point.len();
        if comps.len() != self.coeffs.len() || evals.len() != comps.len() {
            return Err(SumcheckError::FinalCheck { rounds });
        }
        let mut acc = EF::ZERO;
        for ((c, e), &a) in comps.iter().zip(evals).zip(&self.coeffs) {
            if e.len() != c.num_mles() {
                return Err(SumcheckError::FinalCheck { rounds });
            }
            acc += a * c.evaluate(e);
        }
        if acc == self.claim.value {
            Ok(())
        } else {
            Err(SumcheckError::FinalCheck { rounds })
        }
    }
}

/// Absorbs a sumcheck statement (shape, then claims) — shared by both sides and by
/// dedicated provers elsewhere that must write exactly what [`crate::prove`] writes.
pub fn absorb_statement<F: PrimeField64, EF: ExtensionField<F>>(
    t: &mut impl Duplex<F>,
    claims: &[EF],
    n: usize,
    degree: usize,
) {
    let mut shape = [0u8; 16];
    shape[..8].copy_from_slice(&(n as u64).to_le_bytes());
    shape[8..].copy_from_slice(&(degree as u64).to_le_bytes());
    t.observe_bytes("sumcheck shape", &shape);
    t.observe_ext("sumcheck claims", claims);
}

/// Verifies a sumcheck of `n` variables and degree `degree` for `claim`.
pub fn verify<F, EF>(
    claim: EF,
    n: usize,
    degree: usize,
    transcript: &mut VerifierTranscript<'_, F>,
) -> Result<SumcheckClaim<EF>, SumcheckError>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    absorb_statement(transcript, &[claim], n, degree);
    rounds(claim, n, degree, transcript)
}

/// Verifies a batch of claims over `n` variables (see [`crate::prove_batch`]); `degree` is the
/// largest degree among the instances.
pub fn verify_batch<F, EF>(
    claims: &[EF],
    n: usize,
    degree: usize,
    transcript: &mut VerifierTranscript<'_, F>,
) -> Result<BatchedClaim<EF>, SumcheckError>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    if claims.is_empty() {
        return Err(SumcheckError::EmptyBatch);
    }
    let (claim, coeffs) = batch_prelude(transcript, claims, n, degree);
    Ok(BatchedClaim {
        claim: rounds(claim, n, degree, transcript)?,
        coeffs,
    })
}

/// Absorbs a batch statement, samples `α` and returns `(Σ_k α^k·claim_k, [α^k])` — the
/// same on both sides.
pub(crate) fn batch_prelude<F: PrimeField64, EF: ExtensionField<F>>(
    t: &mut impl Duplex<F>,
    claims: &[EF],
    n: usize,
    degree: usize,
) -> (EF, Vec<EF>) {
    absorb_statement(t, claims, n, degree);
    let alpha: EF = t.sample_ext("sumcheck batch alpha");
    let coeffs: Vec<EF> = alpha.powers().take(claims.len()).collect();
    let claim = claims.iter().zip(&coeffs).map(|(&c, &a)| c * a).sum();
    (claim, coeffs)
}

pub(crate) fn rounds<F, EF>(
    mut claim: EF,
    n: usize,
    degree: usize,
    transcript: &mut VerifierTranscript<'_, F>,
) -> Result<SumcheckClaim<EF>, SumcheckError>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    if degree == 0 {
        return Err(SumcheckError::ZeroDegree);
    }
    let mut point = Vec::with_capacity(n.min(64));
    let mut h = vec![EF::ZERO; degree + 1];
    for round in 0..n {
        let msg: Vec<EF> = transcript
            .read_ext("sumcheck round", degree)
            .map_err(|source| SumcheckError::Transcript { round, source })?;
        // msg = h(0), h(2), …, h(d); h(1) follows from the claim.
        h[0] = msg[0];
        h[1] = claim - msg[0];
        h[2..].copy_from_slice(&msg[1..]);
        let r: EF = transcript.sample_ext("sumcheck challenge");
        claim = interpolate_at(&h, r);
        point.push(r);
    }
    Ok(SumcheckClaim {
        point,
        value: claim,
    })
}

/// Evaluates at `x` the polynomial of degree < `ys.len()` taking value `ys[i]` at `i`
/// (Lagrange on the integer nodes `0 … d`).
pub fn interpolate_at<EF: Field>(ys: &[EF], x: EF) -> EF {
    let d = ys.len();
    let nodes: Vec<EF> = (0..d).map(|i| EF::from_usize(i)).collect();
    let mut acc = EF::ZERO;
    for i in 0..d {
        let mut num = EF::ONE;
        let mut den = EF::ONE;
        for j in 0..d {
            if j != i {
                num *= x - nodes[j];
                den *= nodes[i] - nodes[j];
            }
        }
        // The nodes are distinct small integers, far below the characteristic: den ≠ 0.
        acc += ys[i] * num * den.inverse();
    }
    acc
}
