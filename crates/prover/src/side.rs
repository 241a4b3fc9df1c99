//! One protocol description, two sides: the walk in [`crate::walk`] is written once against
//! [`Side`]; the prover computes and writes each message, the verifier reads it. What the
//! verifier does with a message is therefore exactly what the prover committed to.

use zkinfer_sumcheck::{Composition, Mask, Mle};
use zkinfer_transcript::{DomainSeparator, Duplex, ProverTranscript, VerifierTranscript};

use crate::error::Error;
use crate::masks::{MaskUse, Stacked};
use crate::{EF, F};

/// A side of the protocol.
pub trait Side {
    /// The transcript type.
    type T: Duplex<F>;
    /// True on the prover.
    const PROVER: bool;
    /// The transcript (for public values and challenges).
    fn t(&mut self) -> &mut Self::T;
    /// The stage name used in errors.
    fn stage(&self) -> &str;
    /// Sets the stage name.
    fn set_stage(&mut self, s: String);
    /// A prover message of `n` extension elements: computed by `f` and written (prover) or
    /// read (verifier).
    fn msg(
        &mut self,
        label: &'static str,
        n: usize,
        f: impl FnOnce() -> Vec<EF>,
    ) -> Result<Vec<EF>, Error>;
    /// A sumcheck of `claim = Σ_x comp(f(x))` over `n` variables. The first `known` MLEs are
    /// ones the verifier can evaluate itself (`known_at`); the prover sends the others'
    /// evaluations. Returns the point and all evaluations.
    fn sumcheck<'a>(
        &mut self,
        claim: EF,
        n: usize,
        comp: &Composition<EF>,
        known: usize,
        mles: impl FnOnce() -> Vec<Mle<'a, F, EF>>,
        known_at: impl FnOnce(&[EF]) -> Vec<EF>,
    ) -> Result<(Vec<EF>, Vec<EF>), Error>;
    /// Masked walk: takes what the mask settlement needs (`None` for a plain walk).
    fn take_stacked(&mut self) -> Option<Stacked> {
        None
    }
    /// A check only the verifier performs (the honest prover satisfies it by construction).
    fn check(&self, ok: bool, what: &str) -> Result<(), Error> {
        if Self::PROVER || ok {
            Ok(())
        } else {
            Err(Error::rejected(self.stage(), what))
        }
    }
}

/// The prover's masks: all masks (walk masks, then the settlement mask), their use, and the
/// stacked polynomial `S` (crate `masks`).
pub type ProverMasks = (Vec<Mask<F, EF>>, MaskUse, Vec<F>);

/// The prover side.
pub struct ProverSide {
    /// Transcript written so far.
    pub t: ProverTranscript<F>,
    stage: String,
    /// Masked walk: the masks (walk masks, then the settlement mask), their use, and the
    /// stacked walk masks `M` (all committed before the walk).
    pub masks: Option<ProverMasks>,
}

impl ProverSide {
    /// A prover side on a fresh transcript.
    pub fn new(t: ProverTranscript<F>) -> Self {
        Self {
            t,
            stage: String::new(),
            masks: None,
        }
    }
}

impl Side for ProverSide {
    type T = ProverTranscript<F>;
    const PROVER: bool = true;
    fn take_stacked(&mut self) -> Option<Stacked> {
        let (_, used, m) = self.masks.as_mut()?;
        Some(Stacked {
            claims: std::mem::take(&mut used.stacked),
            stack: used.stack.clone(),
            base: used.base,
            table: std::mem::take(m),
        })
    }
    fn t(&mut self) -> &mut Self::T {
        &mut self.t
    }
    fn stage(&self) -> &str {
        &self.stage
    }
    fn set_stage(&mut self, s: String) {
        self.stage = s;
    }
    fn msg(
        &mut self,
        label: &'static str,
        n: usize,
        f: impl FnOnce() -> Vec<EF>,
    ) -> Result<Vec<EF>, Error> {
        let v = f();
        if v.len() != n {
            return Err(Error::Prover(format!(
                "{}: message `{label}` has {} elements, expected {n}",
                self.stage,
                v.len()
            )));
        }
        self.t.write_ext(label, &v);
        Ok(v)
    }
    fn sumcheck<'a>(
        &mut self,
        claim: EF,
        n: usize,
        comp: &Composition<EF>,
        known: usize,
        mles: impl FnOnce() -> Vec<Mle<'a, F, EF>>,
        _known_at: impl FnOnce(&[EF]) -> Vec<EF>,
    ) -> Result<(Vec<EF>, Vec<EF>), Error> {
        if let (Some((tables, used, _)), true) = (&mut self.masks, n > 0) {
            let stage = &self.stage;
            let fail = |e: String| Error::Prover(format!("{stage}: {e}"));
            let (k, shape) = used.take(n, comp.degree()).map_err(fail)?;
            let mask = tables
                .get(k)
                .filter(|m| m.shape() == shape)
                .ok_or_else(|| fail(format!("mask {k} has another shape")))?;
            let out = zkinfer_sumcheck::prove_masked(claim, mles(), comp, mask, &mut self.t);
            if out.point.len() != n {
                return Err(fail(format!(
                    "masked sumcheck over {} variables, expected {n}",
                    out.point.len()
                )));
            }
            used.settle(k, &shape, &out.point, &out.mask_values)
                .map_err(fail)?;
            self.t
                .write_ext("model.sumcheck_evals", &out.evals[known..]);
            return Ok((out.point, out.evals));
        }
        let out = zkinfer_sumcheck::prove(claim, mles(), comp, &mut self.t);
        if out.point.len() != n {
            return Err(Error::Prover(format!(
                "{}: sumcheck over {} variables, expected {n}",
                self.stage,
                out.point.len()
            )));
        }
        self.t
            .write_ext("model.sumcheck_evals", &out.evals[known..]);
        Ok((out.point, out.evals))
    }
}

/// The verifier side.
pub struct VerifierSide<'a> {
    /// Transcript being read.
    pub t: VerifierTranscript<'a, F>,
    stage: String,
    /// Every sumcheck run so far, in order.
    pub shapes: Vec<SumcheckShape>,
    /// Masked walk: the committed mask layout and the claims on it.
    pub masks: Option<MaskUse>,
}

impl<'a> VerifierSide<'a> {
    /// A verifier side reading `t`.
    pub fn new(t: VerifierTranscript<'a, F>) -> Self {
        Self {
            t,
            stage: String::new(),
            shapes: Vec::new(),
            masks: None,
        }
    }
}

impl<'b> Side for VerifierSide<'b> {
    type T = VerifierTranscript<'b, F>;
    const PROVER: bool = false;
    fn take_stacked(&mut self) -> Option<Stacked> {
        let used = self.masks.as_mut()?;
        Some(Stacked {
            claims: std::mem::take(&mut used.stacked),
            stack: used.stack.clone(),
            base: used.base,
            table: Vec::new(),
        })
    }
    fn t(&mut self) -> &mut Self::T {
        &mut self.t
    }
    fn stage(&self) -> &str {
        &self.stage
    }
    fn set_stage(&mut self, s: String) {
        self.stage = s;
    }
    fn msg(
        &mut self,
        label: &'static str,
        n: usize,
        _f: impl FnOnce() -> Vec<EF>,
    ) -> Result<Vec<EF>, Error> {
        self.t
            .read_ext(label, n)
            .map_err(|e| Error::rejected(&self.stage, e))
    }
    fn sumcheck<'a>(
        &mut self,
        claim: EF,
        n: usize,
        comp: &Composition<EF>,
        known: usize,
        _mles: impl FnOnce() -> Vec<Mle<'a, F, EF>>,
        known_at: impl FnOnce(&[EF]) -> Vec<EF>,
    ) -> Result<(Vec<EF>, Vec<EF>), Error> {
        self.shapes.push(SumcheckShape {
            vars: n,
            degree: comp.degree(),
        });
        let stage = &self.stage;
        let rej = |e: &dyn std::fmt::Display| Error::rejected(stage, e);
        // Masked: the mask share is removed from the claim, the mask values settled later.
        let claim = match (&mut self.masks, n > 0) {
            (Some(used), true) => {
                let (k, shape) = used.take(n, comp.degree()).map_err(|e| rej(&e))?;
                let red = zkinfer_sumcheck::verify_masked(claim, &shape, &mut self.t)
                    .map_err(|e| rej(&e))?;
                used.settle(k, &shape, &red.claim.point, &red.mask_values)
                    .map_err(|e| rej(&e))?;
                red.claim
            }
            _ => zkinfer_sumcheck::verify(claim, n, comp.degree(), &mut self.t)
                .map_err(|e| rej(&e))?,
        };
        let sent: Vec<EF> = self
            .t
            .read_ext("model.sumcheck_evals", comp.num_mles() - known)
            .map_err(|e| rej(&e))?;
        let mut evals = known_at(&claim.point);
        evals.extend(sent);
        claim.check(comp, &evals).map_err(|e| rej(&e))?;
        Ok((claim.point, evals))
    }
}

/// The shape of one sumcheck of the walk: what its mask must cover in zero-knowledge mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SumcheckShape {
    /// Number of variables (rounds).
    pub vars: usize,
    /// Degree of the round polynomials.
    pub degree: usize,
}

/// A side that runs the verifier's code path without a proof, to learn the shape of every
/// sumcheck the walk will run before any of them is proven: a zero-knowledge proof commits
/// one mask per sumcheck before the walk starts. Messages and sumcheck evaluations are
/// pseudo-random stand-ins and every check passes; the walk's structure (which sumchecks run,
/// over how many variables, of which degree) depends on the verifying key's shapes and the
/// public statement's sizes only, never on values, so the stand-ins yield the same shapes as
/// a real proof (tested against the verifier's record of real proofs).
pub struct ShapeSide {
    t: ProverTranscript<F>,
    stage: String,
    /// Every sumcheck run so far, in order.
    pub shapes: Vec<SumcheckShape>,
}

impl ShapeSide {
    /// A shape side with its own throwaway transcript.
    pub fn new() -> Self {
        Self {
            t: ProverTranscript::new(&DomainSeparator::new("zkinfer-shape-pass", 1, "", &[])),
            stage: String::new(),
            shapes: Vec::new(),
        }
    }

    fn stand_ins(&mut self, n: usize) -> Vec<EF> {
        (0..n)
            .map(|_| self.t.sample_ext("shape.stand_in"))
            .collect()
    }
}

impl Default for ShapeSide {
    fn default() -> Self {
        Self::new()
    }
}

impl Side for ShapeSide {
    type T = ProverTranscript<F>;
    const PROVER: bool = false;
    fn t(&mut self) -> &mut Self::T {
        &mut self.t
    }
    fn stage(&self) -> &str {
        &self.stage
    }
    fn set_stage(&mut self, s: String) {
        self.stage = s;
    }
    fn msg(
        &mut self,
        _label: &'static str,
        n: usize,
        _f: impl FnOnce() -> Vec<EF>,
    ) -> Result<Vec<EF>, Error> {
        Ok(self.stand_ins(n))
    }
    fn sumcheck<'a>(
        &mut self,
        _claim: EF,
        n: usize,
        comp: &Composition<EF>,
        known: usize,
        _mles: impl FnOnce() -> Vec<Mle<'a, F, EF>>,
        known_at: impl FnOnce(&[EF]) -> Vec<EF>,
    ) -> Result<(Vec<EF>, Vec<EF>), Error> {
        self.shapes.push(SumcheckShape {
            vars: n,
            degree: comp.degree(),
        });
        let point = self.stand_ins(n);
        let mut evals = known_at(&point);
        evals.truncate(known);
        let rest = comp.num_mles().saturating_sub(evals.len());
        evals.extend(self.stand_ins(rest));
        Ok((point, evals))
    }
    fn check(&self, _ok: bool, _what: &str) -> Result<(), Error> {
        Ok(())
    }
}
