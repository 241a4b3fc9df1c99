//! The operations both transcript sides share, so that statement absorption and challenge
//! derivation are written once and used by prover and verifier alike.

use zkinfer_field::p3_field::{BasedVectorSpace, PrimeField64};

use crate::{ProverTranscript, VerifierTranscript};

/// Absorbing public values and sampling challenges: identical on both sides.
pub trait Duplex<F: PrimeField64> {
    /// Absorbs a public byte string.
    fn observe_bytes(&mut self, label: &'static str, data: &[u8]);
    /// Absorbs public extension-field elements.
    fn observe_ext<EF: BasedVectorSpace<F>>(&mut self, label: &'static str, values: &[EF]);
    /// Samples an extension-field challenge.
    fn sample_ext<EF: BasedVectorSpace<F>>(&mut self, label: &'static str) -> EF;
    /// Samples 32 bytes.
    fn sample_seed(&mut self, label: &'static str) -> [u8; 32];
}

impl<F: PrimeField64> Duplex<F> for ProverTranscript<F> {
    fn observe_bytes(&mut self, label: &'static str, data: &[u8]) {
        ProverTranscript::observe_bytes(self, label, data);
    }
    fn observe_ext<EF: BasedVectorSpace<F>>(&mut self, label: &'static str, values: &[EF]) {
        ProverTranscript::observe_ext(self, label, values);
    }
    fn sample_ext<EF: BasedVectorSpace<F>>(&mut self, label: &'static str) -> EF {
        ProverTranscript::sample_ext(self, label)
    }
    fn sample_seed(&mut self, label: &'static str) -> [u8; 32] {
        ProverTranscript::sample_seed(self, label)
    }
}

impl<F: PrimeField64> Duplex<F> for VerifierTranscript<'_, F> {
    fn observe_bytes(&mut self, label: &'static str, data: &[u8]) {
        VerifierTranscript::observe_bytes(self, label, data);
    }
    fn observe_ext<EF: BasedVectorSpace<F>>(&mut self, label: &'static str, values: &[EF]) {
        VerifierTranscript::observe_ext(self, label, values);
    }
    fn sample_ext<EF: BasedVectorSpace<F>>(&mut self, label: &'static str) -> EF {
        VerifierTranscript::sample_ext(self, label)
    }
    fn sample_seed(&mut self, label: &'static str) -> [u8; 32] {
        VerifierTranscript::sample_seed(self, label)
    }
}
