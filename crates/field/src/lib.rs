//! Field configurations for zkinfer.
//!
//! Position in the workspace graph:
//! ```text
//! field  →  poly  →  transcript  →  sumcheck / pcs  →  lookup  →  layers  →  prover / verifier
//! ```
//!
//! Every protocol crate is generic over a base field `F` (where witnesses live: quantized
//! integers embedded as signed residues) and an extension `EF` of `F` (where verifier
//! challenges live, so that Schwartz–Zippel bounds are over |EF| ≈ 2^124..2^128 rather than
//! |F|). A [`FieldConfig`] names one such pair plus a stable identifier that is hashed into
//! every transcript's domain separator, so a proof made under one configuration can never
//! verify under another.
//!
//! Two configurations ship:
//! - [`GoldilocksConfig`]: p = 2^64 − 2^32 + 1, challenges in the degree-2 binomial extension
//!   (|EF| ≈ 2^128). The default: its 64-bit range holds the accumulations of 12–16-bit
//!   quantized LLM layers.
//! - [`KoalaBearConfig`]: p = 2^31 − 2^24 + 1, challenges in the degree-4 extension
//!   (|EF| ≈ 2^124). Far faster packed base-field arithmetic; usable where every proven bound
//!   fits 30 bits.
//!
//! Integers are embedded as *signed residues*: `v ∈ (−p/2, p/2)` maps to `v mod p`.
//! [`to_signed`] inverts that map; callers must separately prove (by range checks) that
//! a value lies in the range where the map is injective.

use p3_field::extension::BinomialExtensionField;
use p3_field::{ExtensionField, PrimeField64, TwoAdicField};

pub use p3_field;
pub use p3_goldilocks::Goldilocks;
pub use p3_koala_bear::KoalaBear;

/// Degree-2 extension of Goldilocks (challenge field of [`GoldilocksConfig`]).
pub type GoldilocksExt2 = BinomialExtensionField<Goldilocks, 2>;
/// Degree-4 extension of KoalaBear (challenge field of [`KoalaBearConfig`]).
pub type KoalaBearExt4 = BinomialExtensionField<KoalaBear, 4>;

/// A base field with its challenge extension.
pub trait FieldConfig: Clone + Copy + Default + Send + Sync + std::fmt::Debug + 'static {
    /// Base field: witnesses and committed values.
    type F: PrimeField64 + TwoAdicField;
    /// Extension field: verifier challenges and everything derived from them.
    type EF: ExtensionField<Self::F> + TwoAdicField;
    /// Stable identifier, hashed into domain separators. Never change an existing one.
    const ID: &'static str;
}

/// Goldilocks with its degree-2 extension (the default).
#[derive(Clone, Copy, Default, Debug)]
pub struct GoldilocksConfig;

impl FieldConfig for GoldilocksConfig {
    type F = Goldilocks;
    type EF = GoldilocksExt2;
    const ID: &'static str = "goldilocks-ext2";
}

/// KoalaBear with its degree-4 extension.
#[derive(Clone, Copy, Default, Debug)]
pub struct KoalaBearConfig;

impl FieldConfig for KoalaBearConfig {
    type F = KoalaBear;
    type EF = KoalaBearExt4;
    const ID: &'static str = "koalabear-ext4";
}

/// Embeds a signed integer as a residue mod p.
#[inline]
pub fn from_signed<F: PrimeField64>(v: i64) -> F {
    // QuotientMap<i64> reduces any i64 correctly (negative values to p - |v|).
    F::from_int(v)
}

/// Inverse of [`from_signed`] on the range (−p/2, p/2): canonical residues above p/2 are read
/// as negative. Only meaningful for values proven to lie in that range.
#[inline]
pub fn to_signed<F: PrimeField64>(x: F) -> i64 {
    let c = x.as_canonical_u64();
    let p = F::ORDER_U64;
    if c > p / 2 {
        -((p - c) as i64)
    } else {
        c as i64
    }
}

/// Number of bytes a canonical base-field element occupies in a proof: the smallest number of
/// whole bytes holding `p − 1`.
#[inline]
pub fn canonical_bytes<F: PrimeField64>() -> usize {
    let bits = 64 - (F::ORDER_U64 - 1).leading_zeros() as usize;
    bits.div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_roundtrip<C: FieldConfig>() {
        let half = (C::F::ORDER_U64 / 2) as i64;
        for v in [0i64, 1, -1, 123_456, -123_456, half, -half] {
            assert_eq!(
                to_signed(from_signed::<C::F>(v)),
                v,
                "value {v} in {}",
                C::ID
            );
        }
    }

    #[test]
    fn signed_embedding_roundtrips() {
        signed_roundtrip::<GoldilocksConfig>();
        signed_roundtrip::<KoalaBearConfig>();
    }

    #[test]
    fn canonical_widths() {
        assert_eq!(canonical_bytes::<Goldilocks>(), 8);
        assert_eq!(canonical_bytes::<KoalaBear>(), 4);
    }
}
