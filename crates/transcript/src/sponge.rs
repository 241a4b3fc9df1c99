//! The Blake3 sponge shared by both transcript sides.

use zkinfer_field::p3_field::{BasedVectorSpace, PrimeField64};

/// 32-byte domain separator: the initial sponge key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainSeparator(pub [u8; 32]);

impl DomainSeparator {
    /// Derives the separator from a protocol id, a version, the field configuration id and any
    /// protocol parameters (serialized by the caller; e.g. PCS rates, security level).
    pub fn new(protocol: &str, version: u32, config_id: &str, params: &[u8]) -> Self {
        let mut h = blake3::Hasher::new_derive_key("zkinfer transcript domain separator v1");
        for part in [protocol.as_bytes(), config_id.as_bytes(), params] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.update(&version.to_le_bytes());
        Self(*h.finalize().as_bytes())
    }
}

/// Frame kinds; part of the hashed framing so an observed value never collides with a written
/// one, nor a squeeze with an absorb.
pub(crate) mod kind {
    pub const OBSERVE: u8 = 1;
    pub const WRITE: u8 = 2;
    pub const SQUEEZE: u8 = 3;
    pub const FORK: u8 = 4;
    pub const JOIN: u8 = 5;
}

#[derive(Clone)]
pub(crate) struct Sponge {
    hasher: blake3::Hasher,
}

impl Sponge {
    pub(crate) fn new(domain: &DomainSeparator) -> Self {
        Self {
            hasher: blake3::Hasher::new_keyed(&domain.0),
        }
    }

    pub(crate) fn absorb(&mut self, kind: u8, label: &str, data: &[u8]) {
        let h = &mut self.hasher;
        h.update(&[kind]);
        h.update(&(label.len() as u32).to_le_bytes());
        h.update(label.as_bytes());
        h.update(&(data.len() as u64).to_le_bytes());
        h.update(data);
    }

    pub(crate) fn squeeze(&mut self, label: &str, out: &mut [u8]) {
        self.absorb(kind::SQUEEZE, label, &(out.len() as u64).to_le_bytes());
        let mut xof = self.hasher.finalize_xof();
        let mut key = [0u8; 32];
        xof.fill(&mut key);
        xof.fill(out);
        self.hasher = blake3::Hasher::new_keyed(&key);
    }

    /// A branch's starting state: this state with the branch label absorbed.
    pub(crate) fn branch(&self, label: &str) -> Self {
        let mut b = self.clone();
        b.absorb(kind::FORK, label, &[]);
        b
    }

    /// Binds finished branches (their final states, in order) into this state.
    pub(crate) fn join(&mut self, label: &str, branches: impl IntoIterator<Item = Sponge>) {
        for mut b in branches {
            let mut digest = [0u8; 32];
            b.squeeze(label, &mut digest);
            self.absorb(kind::JOIN, label, &digest);
        }
    }

    pub(crate) fn squeeze_base<F: PrimeField64>(&mut self, label: &str) -> F {
        let mut buf = [0u8; 16];
        self.squeeze(label, &mut buf);
        F::from_int(u128::from_le_bytes(buf))
    }

    pub(crate) fn squeeze_ext<F: PrimeField64, EF: BasedVectorSpace<F>>(
        &mut self,
        label: &str,
    ) -> EF {
        let mut buf = vec![0u8; 16 * EF::DIMENSION];
        self.squeeze(label, &mut buf);
        EF::from_basis_coefficients_fn(|i| {
            let mut limb = [0u8; 16];
            limb.copy_from_slice(&buf[16 * i..16 * (i + 1)]);
            F::from_int(u128::from_le_bytes(limb))
        })
    }
}

/// Appends the canonical encoding of base-field elements.
pub(crate) fn encode_base<F: PrimeField64>(values: &[F], out: &mut Vec<u8>) {
    let w = zkinfer_field::canonical_bytes::<F>();
    out.reserve(values.len() * w);
    for v in values {
        out.extend_from_slice(&v.as_canonical_u64().to_le_bytes()[..w]);
    }
}

/// Appends the canonical encoding of extension elements (basis coefficients in order).
pub(crate) fn encode_ext<F: PrimeField64, EF: BasedVectorSpace<F>>(
    values: &[EF],
    out: &mut Vec<u8>,
) {
    for v in values {
        encode_base(v.as_basis_coefficients_slice(), out);
    }
}
