//! Multilinear polynomial commitments for zkinfer.
//!
//! ```text
//! field → poly → transcript → [pcs] → sumcheck → lookup → layers → prover / verifier
//! ```
//!
//! [`MultilinearPcs`] commits to many multilinear polynomials of different sizes in **one**
//! commitment and opens any number of (polynomial, point, value) [`Claim`]s in **one** batched
//! proof. Polynomials are given by their 2^k evaluations over {0,1}^k in little-endian variable
//! order: index bit i is variable i, so `f(z) = Σ_x f[x]·Π_i (z_i x_i + (1−z_i)(1−x_i))`.
//!
//! [`WhirPcs`] implements it on Plonky3's `p3-whir` 0.8 (ePrint 2024/1586) with a Blake3 Merkle
//! tree:
//! - **Stacking** (p3-sumcheck's `SuffixProver` layout): polynomials are zero-padded to at least
//!   `fold` variables, sorted by size and laid out back to back in one stacked MLE `P` of 2^K
//!   entries, each in a slot aligned to its size, so `f_i(z) = P(sel_i, z)` for a boolean
//!   selector `sel_i`. One Reed–Solomon codeword of `P` is committed (one Merkle root).
//! - **Batching**: each claim `f_i(z_j) = v_j` becomes `P(sel_i, z_j) = v_j`; p3-whir combines
//!   all of them (plus its out-of-domain samples) with powers of a random α into the initial
//!   weighted-sumcheck claim of a single WHIR proof. Boolean selector coordinates cost nothing
//!   extra, so this is native and needs no batching sumcheck of our own (see docs/PCS.md).
//! - **Fiat–Shamir**: `write_commitment` observes the layout and writes the root; `open` /
//!   `verify` *observe* (absorb, do not write) the claims — polynomial indices, points and
//!   values — then draw a 32-byte seed from our transcript, seed p3's Blake3 challenger with it,
//!   re-bind the root, run WHIR, and write the postcard-encoded WHIR proof as one byte string.
//!   **The caller must already have put the values in the transcript** (e.g. they are the final
//!   message of its sumcheck) or they must be public; `open` does not write them.
//! - Proof-of-work grinding is deterministic (smallest witness), so proofs are byte-identical
//!   for any number of threads.
//!
//! # Soundness
//! [`WhirParams`] picks the per-term security target λ, the list-decoding bound, rate 2^-r, fold
//! and a grinding budget. p3-whir derives query counts and PoW bits so that every error term of
//! WHIR (initial α-batching of the claims, OOD samples, each round's folding sumcheck and STIR
//! queries, final round) is ≤ 2^-λ, and refuses configurations that cannot reach λ.
//! - Default [`WhirParams::default`]: λ = 100 under the **Johnson bound (proven)**, rate 1/2,
//!   fold 4, ≤ 18 PoW bits. The Johnson list size at rate 1/2 is ~2^4.3, so the α-batching
//!   term is ≈ 127 − 4.3 − log2(#claims) bits over |EF| ≈ 2^128 — ≥ 100 bits for up to ~2^22
//!   claims. Union-bounding all terms (p3's `prescribed_security`, reported by
//!   [`WhirPcs::composed_security_bits`]) gives 94.7 / 94.3 / 94.3 / 94.0 bits for the whole
//!   opening at 2^18 / 2^20 / 2^22 / 2^24 (measured figures and costs in docs/PCS.md).
//! - [`WhirParams::conjectured`]: λ = 100 under the **capacity bound (conjectured)** — half the
//!   queries. Its α-batching term is 127 − (K + 1 + log2 20) − log2(#claims) bits, which falls
//!   below 100 from K = 20 stacked variables (measured); p3-whir then refuses the opening (error
//!   [`PcsError::Config`]). Use it only for small commitments or with a lower λ.
//! - With Blake3 modelled as a random oracle, the non-interactive error adds the usual
//!   Fiat–Shamir loss (× the prover's hash queries) and Merkle collisions (Q²/2^256).
//! - KoalaBear + ext4 (|EF| ≈ 2^124) runs the same code with ~4 bits less on the batching term.
//!
//! Not claimed: 128 bits. Not provided yet: hiding (p3-whir's `HidingWhirPcs` takes one
//! polynomial and no stacking; a hiding variant would implement this trait with its own
//! `Commitment`/`ProverData` and an RNG held by the scheme).

mod challenger;
mod error;
mod params;
mod whir;

pub use challenger::{DetBlake3, WhirChallenger};
pub use error::PcsError;
pub use params::{Soundness, WhirParams};
pub use whir::{WhirCommitment, WhirMmcs, WhirPcs, WhirProverData, MAX_PROOF_BYTES, MAX_VARS};

use p3_field::{ExtensionField, PrimeField64};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

/// One evaluation claim: `polys[poly](point) = value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim<EF> {
    /// Index of the polynomial in the commitment.
    pub poly: usize,
    /// The point, little-endian (coordinate i is variable i); its length is that polynomial's
    /// number of variables.
    pub point: Vec<EF>,
    /// The claimed value.
    pub value: EF,
}

/// A multilinear polynomial commitment scheme: many polynomials of different sizes in one
/// commitment, many claims in one batched opening.
pub trait MultilinearPcs<F: PrimeField64, EF: ExtensionField<F>> {
    /// What the prover keeps after committing (e.g. stored in the compiled model artifact).
    type ProverData;
    /// The commitment: a Merkle root plus the layout (number of variables of each polynomial).
    type Commitment: Clone;

    /// Commits to `polys`, each 2^k_i evaluations in little-endian variable order.
    fn commit(&self, polys: &[&[F]]) -> Result<(Self::Commitment, Self::ProverData), PcsError>;

    /// Binds the commitment into the prover's transcript (layout observed, root written).
    fn write_commitment(&self, c: &Self::Commitment, t: &mut ProverTranscript<F>);

    /// Reads a commitment with the given (public) layout: `layout[i]` = number of variables of
    /// polynomial i.
    fn read_commitment(
        &self,
        layout: &[usize],
        t: &mut VerifierTranscript<'_, F>,
    ) -> Result<Self::Commitment, PcsError>;

    /// Proves all `claims` with one batched proof written to `t`. The claims (values included)
    /// are observed, not written: the caller must already have bound the values.
    ///
    /// Errors are prover misuse only (bad shapes, a claimed value that is not the evaluation).
    fn open(
        &self,
        data: &Self::ProverData,
        claims: &[Claim<EF>],
        t: &mut ProverTranscript<F>,
    ) -> Result<(), PcsError>;

    /// Verifies the batched proof of `claims` read from `t`.
    ///
    /// # Soundness
    /// On `Ok`, every claim holds for the committed polynomials except with the probability
    /// stated in the crate docs. Claims (points and values) must be fixed by the transcript
    /// before this call; the caller still checks the transcript's `finish`.
    fn verify(
        &self,
        c: &Self::Commitment,
        claims: &[Claim<EF>],
        t: &mut VerifierTranscript<'_, F>,
    ) -> Result<(), PcsError>;
}

#[cfg(test)]
mod tests;
