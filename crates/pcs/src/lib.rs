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
//! **Claim: with [`WhirParams::default`], one opening (any number of claims up to 2^16, any
//! layout of 2^4 … 2^26 stacked variables, Goldilocks + ext2) is sound except with
//! probability ≤ 2^-100.97** (2^-100.98 up to 1024 claims), proven under the Johnson bound,
//! counting proof-of-work, before the Fiat–Shamir and hash terms below. Justification:
//! - WHIR's soundness error is at most the **sum** of its error terms (union bound): the
//!   initial α-batching of the claims and OOD samples ((N − 1)·L/|EF|), each round's OOD
//!   samples, for every folded variable a proximity-gap term (DKT26 Thm 5.12 line bound at
//!   the Johnson radius δ = 1 − √ρ − √ρ/20, minus p3's extra 1-bit reserve) and a sumcheck
//!   term (L/|EF|), each round's STIR queries ((1 − δ)^t) and query combination, and the final
//!   round. A term with b bits of grinding counts 2^-b times its algebraic error.
//! - p3-whir derives query counts and PoW so that *each* term is ≤ 2^-λ, and refuses
//!   configurations that cannot (a PoW need above the budget, or α-batching below λ). Its
//!   `prescribed_security` then sums all terms with the same formulas (|EF| rounded *down* to
//!   2^127 / 2^123); [`WhirPcs::composed_security_bits`] reports that sum. About 25 terms sit
//!   near λ at 2^24 (20 folded variables' proximity gaps, 5 query phases), so the composed
//!   figure is ≈ λ − 6: λ = 100 gave only 94.0–94.7 bits ([`WhirParams::per_term_100`]).
//! - Default: **λ = 107 per term**, Johnson bound, rate 1/2, fold 4, round rate step 2
//!   (later codewords at rates 2^-3, 2^-5, …), a 15-bit query grinding budget raised to what
//!   folding needs (16 at 2^23 … 19 at 2^26; ceiling 23). Composed (measured with the former
//!   flat 19 bits; the test asserts ≥ 100.98 with the current budget) (Goldilocks, tested
//!   for 1, 64 and 1024 claims and for one- and four-polynomial layouts): 103.3 at 2^10,
//!   102.1–102.3 at 2^11–2^14, 101.7 at 2^15–2^18, 101.3 at 2^19–2^22, 101.0 at 2^23–2^26.
//!   λ = 106 is not enough (99.998 at 2^23). The rate step 2 (p3's default is fold − 1 = 3)
//!   keeps the folding PoW flat across rounds; with step 3, λ = 107 would need 27 grinding
//!   bits at 2^26. Above 2^26 the first fold needs 20 PoW bits and more; past the ceiling
//!   `max_pow_bits` a size is refused with a [`PcsError::Config`].
//! - Claims: the N claims are first batched into one claim on the stacked polynomial by
//!   powers of a challenge γ and one degree-2 sumcheck over its K variables, adding
//!   (N − 1 + 2K)/|EF| to WHIR's error (which then sees a single claim): 2^16 claims compose
//!   to ≥ 100.97 bits, 2^20 to ≥ 100.95 (asserted).
//! - KoalaBear + ext4 (|EF| ≥ 2^123): every field-bound term is 4 bits weaker, so folding needs
//!   4 more PoW bits: the default raises the budget up to 23 bits and reaches ≥ 100.98 bits
//!   composed up to 2^26 stacked variables (a ceiling of 19 refuses from 2^23); 2^16 claims
//!   still compose to ≥ 100.97 bits.
//! - [`WhirParams::conjectured`]: λ = 100 per term under the **capacity bound (conjectured)** —
//!   half the queries, but below 100 bits composed, and its α-batching term
//!   127 − (K + 1 + log2 20) − log2(#claims) falls below 100 from K = 20 stacked variables;
//!   p3-whir then refuses the opening. Use it only for small commitments or experiments.
//! - Not in the figure: with Blake3 modelled as a random oracle, the non-interactive error
//!   adds the usual Fiat–Shamir loss (× the prover's hash queries) and Merkle collisions
//!   (Q²/2^256).
//!
//! Not claimed: 128 bits.
//!
//! # Hiding
//! [`HidingPcs`] implements the same trait on p3-whir's HVZK-WHIR (`HidingWhirPcs`): same
//! stacking, a randomized encoding, and the claims handed to HVZK-WHIR as point claims on the
//! stack (no batching sumcheck of our own, whose messages would leak). An opening reveals the
//! claimed values and nothing else (honest-verifier zero knowledge; module docs of
//! `hiding.rs`). It is not yet used by the prover (issue 14, docs/ZK.md).

mod challenger;
mod error;
mod hiding;
mod params;
mod whir;

pub use challenger::{DetBlake3, WhirChallenger};
pub use error::PcsError;
pub use hiding::{HidingCommitment, HidingPcs, HidingProverData};
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
mod hiding_tests;
#[cfg(test)]
mod masked_tests;
#[cfg(test)]
mod tests;
