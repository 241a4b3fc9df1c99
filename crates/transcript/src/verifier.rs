//! The verifier's side: reads what the prover wrote and absorbs it identically.

use std::marker::PhantomData;

use thiserror::Error;
use zkinfer_field::p3_field::{BasedVectorSpace, PrimeField64};

use crate::pattern::{OpKind, Pattern, PatternCheck};
use crate::sponge::{kind, DomainSeparator, Sponge};

/// Why reading a proof failed. Each variant names the message (label) being read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TranscriptError {
    /// The proof ended before the message was complete.
    #[error("proof truncated while reading `{label}`: needed {needed} bytes, {remaining} left")]
    UnexpectedEnd {
        /// Message label.
        label: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes left in the proof.
        remaining: usize,
    },
    /// A field element was encoded as an integer ≥ p.
    #[error("non-canonical field element in `{label}`")]
    NonCanonical {
        /// Message label.
        label: &'static str,
    },
    /// A byte string was longer than its caller allows.
    #[error("byte string `{label}` has length {len}, more than the allowed {max}")]
    TooLong {
        /// Message label.
        label: &'static str,
        /// Claimed length.
        len: usize,
        /// Maximum the caller accepts.
        max: usize,
    },
    /// Bytes were left over after the verifier finished.
    #[error("{count} unread bytes after the end of the proof")]
    TrailingBytes {
        /// Count of unread bytes.
        count: usize,
    },
}

/// Verifier-side transcript over base field `F`, reading a proof's bytes.
#[derive(Clone)]
pub struct VerifierTranscript<'a, F> {
    sponge: Sponge,
    bytes: &'a [u8],
    pos: usize,
    check: PatternCheck,
    scratch: Vec<u8>,
    _f: PhantomData<F>,
}

impl<'a, F: PrimeField64> VerifierTranscript<'a, F> {
    /// Starts reading `bytes` under a domain separator.
    pub fn new(domain: &DomainSeparator, bytes: &'a [u8]) -> Self {
        Self {
            sponge: Sponge::new(domain),
            bytes,
            pos: 0,
            check: PatternCheck::default(),
            scratch: Vec::new(),
            _f: PhantomData,
        }
    }

    /// Like [`Self::new`], but in debug builds panics at the first operation that differs from
    /// the prover's recorded `pattern` (a development aid for prover/verifier drift).
    pub fn with_pattern(domain: &DomainSeparator, bytes: &'a [u8], pattern: &Pattern) -> Self {
        let mut t = Self::new(domain, bytes);
        t.check = PatternCheck::new(pattern.clone());
        t
    }

    fn take(&mut self, label: &'static str, n: usize) -> Result<&'a [u8], TranscriptError> {
        let remaining = self.bytes.len() - self.pos;
        if n > remaining {
            return Err(TranscriptError::UnexpectedEnd {
                label,
                needed: n,
                remaining,
            });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn decode_base(
        label: &'static str,
        raw: &[u8],
        out: &mut Vec<F>,
    ) -> Result<(), TranscriptError> {
        let w = zkinfer_field::canonical_bytes::<F>();
        for chunk in raw.chunks_exact(w) {
            let mut le = [0u8; 8];
            le[..w].copy_from_slice(chunk);
            let v = u64::from_le_bytes(le);
            if v >= F::ORDER_U64 {
                return Err(TranscriptError::NonCanonical { label });
            }
            out.push(F::from_int(v));
        }
        Ok(())
    }

    fn elem_bytes(label: &'static str, n: usize, per: usize) -> Result<usize, TranscriptError> {
        n.checked_mul(per).ok_or(TranscriptError::UnexpectedEnd {
            label,
            needed: usize::MAX,
            remaining: 0,
        })
    }

    /// Absorbs a public byte string, mirroring [`crate::ProverTranscript::observe_bytes`].
    pub fn observe_bytes(&mut self, label: &'static str, data: &[u8]) {
        self.check.check(OpKind::Observe, label, Some(data.len()));
        self.sponge.absorb(kind::OBSERVE, label, data);
    }

    /// Absorbs public base-field elements.
    pub fn observe_base(&mut self, label: &'static str, values: &[F]) {
        self.scratch.clear();
        crate::sponge::encode_base(values, &mut self.scratch);
        self.check
            .check(OpKind::Observe, label, Some(self.scratch.len()));
        self.sponge.absorb(kind::OBSERVE, label, &self.scratch);
    }

    /// Absorbs public extension-field elements.
    pub fn observe_ext<EF: BasedVectorSpace<F>>(&mut self, label: &'static str, values: &[EF]) {
        self.scratch.clear();
        crate::sponge::encode_ext(values, &mut self.scratch);
        self.check
            .check(OpKind::Observe, label, Some(self.scratch.len()));
        self.sponge.absorb(kind::OBSERVE, label, &self.scratch);
    }

    /// Reads `n` base-field elements.
    pub fn read_base(&mut self, label: &'static str, n: usize) -> Result<Vec<F>, TranscriptError> {
        self.check.check(OpKind::WriteBase, label, Some(n));
        let w = zkinfer_field::canonical_bytes::<F>();
        let raw = self.take(label, Self::elem_bytes(label, n, w)?)?;
        let mut out = Vec::with_capacity(n);
        Self::decode_base(label, raw, &mut out)?;
        self.sponge.absorb(kind::WRITE, label, raw);
        Ok(out)
    }

    /// Reads `n` extension-field elements.
    pub fn read_ext<EF: BasedVectorSpace<F>>(
        &mut self,
        label: &'static str,
        n: usize,
    ) -> Result<Vec<EF>, TranscriptError> {
        self.check.check(OpKind::WriteExt, label, Some(n));
        let w = zkinfer_field::canonical_bytes::<F>() * EF::DIMENSION;
        let raw = self.take(label, Self::elem_bytes(label, n, w)?)?;
        let mut coeffs = Vec::with_capacity(n * EF::DIMENSION);
        Self::decode_base(label, raw, &mut coeffs)?;
        self.sponge.absorb(kind::WRITE, label, raw);
        Ok(coeffs
            .chunks_exact(EF::DIMENSION)
            .map(|c| EF::from_basis_coefficients_fn(|i| c[i]))
            .collect())
    }

    /// Reads one extension-field element.
    pub fn read_ext_one<EF: BasedVectorSpace<F>>(
        &mut self,
        label: &'static str,
    ) -> Result<EF, TranscriptError> {
        let mut v = self.read_ext::<EF>(label, 1)?;
        v.pop().ok_or(TranscriptError::UnexpectedEnd {
            label,
            needed: 1,
            remaining: 0,
        })
    }

    /// Reads a length-prefixed byte string of at most `max` bytes.
    pub fn read_bytes(
        &mut self,
        label: &'static str,
        max: usize,
    ) -> Result<&'a [u8], TranscriptError> {
        let len_raw = self.take(label, 4)?;
        let len = u32::from_le_bytes([len_raw[0], len_raw[1], len_raw[2], len_raw[3]]) as usize;
        if len > max {
            return Err(TranscriptError::TooLong { label, len, max });
        }
        self.check.check(OpKind::WriteBytes, label, Some(len));
        let data = self.take(label, len)?;
        self.sponge.absorb(kind::WRITE, label, data);
        Ok(data)
    }

    /// Reads a 32-byte digest.
    pub fn read_digest(&mut self, label: &'static str) -> Result<[u8; 32], TranscriptError> {
        self.check.check(OpKind::WriteBytes, label, Some(32));
        let raw = self.take(label, 32)?;
        let mut d = [0u8; 32];
        d.copy_from_slice(raw);
        self.sponge.absorb(kind::WRITE, label, raw);
        Ok(d)
    }

    /// Samples a base-field challenge.
    pub fn sample_base(&mut self, label: &'static str) -> F {
        self.check.check(OpKind::Sample, label, Some(1));
        self.sponge.squeeze_base(label)
    }

    /// Samples an extension-field challenge.
    pub fn sample_ext<EF: BasedVectorSpace<F>>(&mut self, label: &'static str) -> EF {
        self.check.check(OpKind::Sample, label, Some(1));
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

    /// Samples 32 bytes.
    pub fn sample_seed(&mut self, label: &'static str) -> [u8; 32] {
        self.check.check(OpKind::Sample, label, Some(32));
        let mut out = [0u8; 32];
        self.sponge.squeeze(label, &mut out);
        out
    }

    /// The verifier's side of [`crate::ProverTranscript::fork`]: one branch per label. The
    /// branches are read one after the other: the first starts at this transcript's position,
    /// and each later one must be moved past its predecessor's bytes with [`Self::follow`]
    /// before it reads.
    pub fn fork(&self, labels: &[&'static str]) -> Vec<Self> {
        labels
            .iter()
            .map(|l| Self {
                sponge: self.sponge.branch(l),
                bytes: self.bytes,
                pos: self.pos,
                check: self.check.clone(),
                scratch: Vec::new(),
                _f: PhantomData,
            })
            .collect()
    }

    /// Starts this branch where the branch `prev` (read to its end) stopped.
    pub fn follow(&mut self, prev: &Self) {
        self.pos = prev.pos;
        self.check = prev.check.clone();
    }

    /// Mirrors [`crate::ProverTranscript::join`]: continues after the last branch (each read
    /// in order, see [`Self::follow`]) and absorbs the branches' final states.
    pub fn join(&mut self, label: &'static str, branches: Vec<Self>) {
        if let Some(last) = branches.last() {
            self.pos = last.pos;
            self.check = last.check.clone();
        }
        self.sponge
            .join(label, branches.into_iter().map(|b| b.sponge));
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Ends reading; trailing bytes are an error (they would make encodings non-unique).
    pub fn finish(self) -> Result<(), TranscriptError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(TranscriptError::TrailingBytes { count }),
        }
    }
}
