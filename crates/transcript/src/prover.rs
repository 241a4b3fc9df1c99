//! The prover's side: absorbs and writes.

use std::marker::PhantomData;

use zkinfer_field::p3_field::{BasedVectorSpace, PrimeField64};

use crate::pattern::{OpKind, Pattern};
use crate::sponge::{encode_base, encode_ext, kind, DomainSeparator, Sponge};

/// A finished proof: the bytes written, plus (debug builds only) the operation pattern.
#[derive(Clone, Debug, Default)]
pub struct Proof {
    /// The proof bytes; all a verifier needs.
    pub bytes: Vec<u8>,
    /// The prover's operation record (empty in release builds).
    pub pattern: Pattern,
}

/// Prover-side transcript over base field `F`.
#[derive(Clone)]
pub struct ProverTranscript<F> {
    sponge: Sponge,
    bytes: Vec<u8>,
    pattern: Pattern,
    scratch: Vec<u8>,
    _f: PhantomData<F>,
}

impl<F: PrimeField64> ProverTranscript<F> {
    /// Starts a transcript under a domain separator.
    pub fn new(domain: &DomainSeparator) -> Self {
        Self {
            sponge: Sponge::new(domain),
            bytes: Vec::new(),
            pattern: Pattern::default(),
            scratch: Vec::new(),
            _f: PhantomData,
        }
    }

    /// Absorbs a public byte string (not written to the proof).
    pub fn observe_bytes(&mut self, label: &'static str, data: &[u8]) {
        self.pattern.record(OpKind::Observe, label, data.len());
        self.sponge.absorb(kind::OBSERVE, label, data);
    }

    /// Absorbs public base-field elements (not written).
    pub fn observe_base(&mut self, label: &'static str, values: &[F]) {
        self.scratch.clear();
        encode_base(values, &mut self.scratch);
        self.pattern
            .record(OpKind::Observe, label, self.scratch.len());
        self.sponge.absorb(kind::OBSERVE, label, &self.scratch);
    }

    /// Absorbs public extension-field elements (not written).
    pub fn observe_ext<EF: BasedVectorSpace<F>>(&mut self, label: &'static str, values: &[EF]) {
        self.scratch.clear();
        encode_ext(values, &mut self.scratch);
        self.pattern
            .record(OpKind::Observe, label, self.scratch.len());
        self.sponge.absorb(kind::OBSERVE, label, &self.scratch);
    }

    /// Writes base-field elements to the proof.
    pub fn write_base(&mut self, label: &'static str, values: &[F]) {
        let start = self.bytes.len();
        encode_base(values, &mut self.bytes);
        self.pattern.record(OpKind::WriteBase, label, values.len());
        self.sponge.absorb(kind::WRITE, label, &self.bytes[start..]);
    }

    /// Writes extension-field elements to the proof.
    pub fn write_ext<EF: BasedVectorSpace<F>>(&mut self, label: &'static str, values: &[EF]) {
        let start = self.bytes.len();
        encode_ext(values, &mut self.bytes);
        self.pattern.record(OpKind::WriteExt, label, values.len());
        self.sponge.absorb(kind::WRITE, label, &self.bytes[start..]);
    }

    /// Writes a length-prefixed byte string to the proof.
    ///
    /// # Panics
    /// If `data` is 4 GiB or longer (a prover-side misuse).
    pub fn write_bytes(&mut self, label: &'static str, data: &[u8]) {
        let len = u32::try_from(data.len()).expect("transcript byte string exceeds u32::MAX");
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(data);
        self.pattern.record(OpKind::WriteBytes, label, data.len());
        self.sponge.absorb(kind::WRITE, label, data);
    }

    /// Writes a 32-byte digest (e.g. a Merkle root) to the proof.
    pub fn write_digest(&mut self, label: &'static str, digest: &[u8; 32]) {
        self.bytes.extend_from_slice(digest);
        self.pattern.record(OpKind::WriteBytes, label, 32);
        self.sponge.absorb(kind::WRITE, label, digest);
    }

    /// Samples a uniform base-field challenge.
    pub fn sample_base(&mut self, label: &'static str) -> F {
        self.pattern.record(OpKind::Sample, label, 1);
        self.sponge.squeeze_base(label)
    }

    /// Samples a uniform extension-field challenge.
    pub fn sample_ext<EF: BasedVectorSpace<F>>(&mut self, label: &'static str) -> EF {
        self.pattern.record(OpKind::Sample, label, 1);
        self.sponge.squeeze_ext(label)
    }

    /// Samples `n` extension-field challenges.
    pub fn sample_ext_vec<EF: BasedVectorSpace<F>>(
        &mut self,
        label: &'static str,
        n: usize,
    ) -> Vec<EF> {
        (0..n).map(|_| self.sample_ext(label)).collect()
    }

    /// Samples 32 uniform bytes (e.g. to seed a sub-protocol's own challenger).
    pub fn sample_seed(&mut self, label: &'static str) -> [u8; 32] {
        self.pattern.record(OpKind::Sample, label, 32);
        let mut out = [0u8; 32];
        self.sponge.squeeze(label, &mut out);
        out
    }

    /// Independent branches, one per label, each starting from this transcript's state with
    /// its label absorbed and no bytes: sub-protocols whose statements are already bound here
    /// (e.g. openings of two commitments) can then run concurrently. Their challenges depend on
    /// everything absorbed before the fork and on their own messages only.
    /// [`Self::join`] appends their bytes in label order; a verifier mirrors this with
    /// [`crate::VerifierTranscript::fork`].
    pub fn fork(&self, labels: &[&'static str]) -> Vec<Self> {
        labels
            .iter()
            .map(|l| Self {
                sponge: self.sponge.branch(l),
                bytes: Vec::new(),
                pattern: Pattern::default(),
                scratch: Vec::new(),
                _f: PhantomData,
            })
            .collect()
    }

    /// Ends the branches of a [`Self::fork`] (in fork order): their bytes follow this
    /// transcript's, and their final states are absorbed so later challenges depend on them.
    pub fn join(&mut self, label: &'static str, branches: Vec<Self>) {
        let mut sponges = Vec::with_capacity(branches.len());
        for b in branches {
            self.bytes.extend_from_slice(&b.bytes);
            self.pattern.0.extend(b.pattern.0);
            sponges.push(b.sponge);
        }
        self.sponge.join(label, sponges);
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True if nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Ends the transcript, returning the proof.
    pub fn finish(self) -> Proof {
        Proof {
            bytes: self.bytes,
            pattern: self.pattern,
        }
    }
}
