//! Sumcheck for sums of products of multilinear polynomials.
//!
//! ```text
//! field → poly → transcript → [sumcheck] → pcs (batching) → lookup (GKR) → layers → prover / verifier
//! ```
//!
//! # Statement
//! For MLEs `f_0 … f_{k−1}` in `n` variables and a [`Composition`]
//! `g(y) = Σ_t c_t · Π_{i ∈ S_t} y_i` of degree `d = max_t |S_t|`, the prover claims
//! `H = Σ_{x ∈ {0,1}^n} g(f_0(x), …, f_{k−1}(x))`. The eq-weighted form
//! `Σ_x eq(r, x)·Π f_i(x)` is the case where one factor is the table of `eq(r, ·)`; a batch of
//! claims is one composition whose terms are scaled by powers of a random `α`.
//!
//! # Protocol (variable 0 first; see `zkinfer-poly` for the variable order)
//! Round `j` (`j = 0 … n−1`): the prover sends the round polynomial
//! `h_j(X) = Σ_{x'} g(f(r_0…r_{j−1}, X, x'))` of degree ≤ d, *compressed*: it sends
//! `h_j(0), h_j(2), …, h_j(d)`; the verifier recovers `h_j(1) = claim_j − h_j(0)` (which
//! enforces `h_j(0) + h_j(1) = claim_j` by construction), samples `r_j ∈ EF` and sets
//! `claim_{j+1} = h_j(r_j)` by Lagrange interpolation on the nodes `0 … d`. The verifier ends
//! with the [`SumcheckClaim`] `g(f(r)) = claim_n`, which the caller must settle (by evaluations
//! it computes itself, by PCS openings, or by a further protocol).
//!
//! # Soundness
//! If `H` is false, by Schwartz–Zippel each round's false claim survives with probability
//! ≤ d / |EF|; by a union bound over the `n` rounds the verifier accepts a false `H` with
//! probability ≤ n·d / |EF| — for Goldilocks-ext2 (|EF| ≈ 2^128), n = 30, d = 4: ≤ 2^-121.
//! Batching `m` claims by powers of `α` adds (m − 1)/|EF|. The claimed sum, `n` and `d` are
//! absorbed into the transcript before the first challenge.
//!
//! # Prover cost
//! Linear: round `j` touches `2^{n−j}` entries per MLE, so O(k·d·2^n) field operations in all.
//! Round 0 runs entirely in the base field when every input is base-field (the usual case:
//! witnesses are integers); per-term sums are accumulated unscaled and multiplied by the
//! term's extension coefficient once per round. Round polynomials are evaluated on p3's packed
//! types, W pairs per vector: `F::Packing` in the base-field round, the packed extension
//! (`ExtensionField::ExtensionPacking`) in later rounds; binding is scalar. Field arithmetic is exact, so proofs are byte-identical to a scalar prover's.
//!
//! # Zero knowledge
//! [`prove_masked`] / [`verify_masked`] (module `zk`) run the same rounds on `g + ρ·mask`
//! with a committed random mask (Libra style), so that the round messages reveal nothing
//! beyond the final evaluation; soundness and the simulation argument are in that module.

mod composition;
mod eq_batch;
mod error;
mod inner;
mod prover;
mod verifier;
mod zk;

pub use composition::{Composition, Term};
pub use eq_batch::{prove_eq_batch, EqTerm};
pub use error::SumcheckError;
pub use inner::prove_inner_product;
pub use prover::{prove, prove_batch, Instance, Mle, ProverOutput};
pub use verifier::{
    absorb_statement, interpolate_at, verify, verify_batch, BatchedClaim, SumcheckClaim,
};
pub use zk::{
    begin_single, mask_claims, mask_point, prove_batch_masked, prove_masked, verify_batch_masked,
    verify_masked, Mask, MaskRounds, MaskShape, MaskedClaim, MaskedOutput, MAX_MASKED_DEGREE,
    MAX_MASKED_VARS,
};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod zk_tests;
