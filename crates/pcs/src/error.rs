//! Typed errors: prover misuse (shape, claim-value and configuration variants) is kept apart from invalid
//! proofs (the `Proof*`/`Whir*` variants), and every variant says where it failed.

use thiserror::Error;
use zkinfer_transcript::TranscriptError;

/// Why a commitment, an opening or a verification failed.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum PcsError {
    // ---- the caller misused the API (never a property of proof bytes) ----
    /// `commit` was given no polynomials.
    #[error("nothing to commit: the polynomial list is empty")]
    EmptyCommitment,
    /// A committed polynomial's length is not a power of two (or exceeds the supported size).
    #[error("polynomial {index} has {len} evaluations, not a power of two ≤ 2^{max_vars}")]
    PolyShape {
        /// Position in the `polys` argument.
        index: usize,
        /// Its length.
        len: usize,
        /// Largest supported number of variables.
        max_vars: usize,
    },
    /// A claim names a polynomial that does not exist, or its point has the wrong length.
    #[error(
        "claim {index}: poly {poly} / point of {point_len} coordinates does not fit the layout"
    )]
    ClaimShape {
        /// Position in the `claims` argument.
        index: usize,
        /// The polynomial it names.
        poly: usize,
        /// Its point's length.
        point_len: usize,
    },
    /// The prover was asked to open a claim whose value is not the polynomial's value.
    #[error("claim {index}: the claimed value is not the committed polynomial's evaluation")]
    ClaimValue {
        /// Position in the `claims` argument.
        index: usize,
    },
    /// The parameters are infeasible for this size (p3-whir refused them).
    #[error("WHIR parameters rejected for 2^{num_vars} stacked evaluations: {reason}")]
    Config {
        /// Stacked number of variables.
        num_vars: usize,
        /// p3-whir's explanation.
        reason: String,
    },
    /// The operating system gave no randomness for a hiding commitment.
    #[error("no randomness for the hiding commitment: {reason}")]
    Entropy {
        /// Why.
        reason: String,
    },
    /// A hiding commitment's prover data were already consumed by an opening.
    #[error("this hiding commitment was already opened (each is opened once)")]
    AlreadyOpened,

    // ---- the proof is invalid ----
    /// Reading the transcript failed (truncated, non-canonical, too long).
    #[error("transcript: {0}")]
    Transcript(#[from] TranscriptError),
    /// The WHIR proof bytes do not decode to a proof, or are not in canonical form.
    #[error("WHIR proof bytes malformed: {reason}")]
    ProofDecode {
        /// What was wrong.
        reason: &'static str,
    },
    /// The claim-batching sumcheck (claims → one claim on the stacked polynomial) failed.
    #[error("claim batching rejected: {reason}")]
    BatchRejected {
        /// Which check failed.
        reason: String,
    },
    /// The WHIR verifier rejected the opening.
    #[error("WHIR opening rejected: {reason}")]
    WhirRejected {
        /// p3-whir's verifier error.
        reason: String,
    },
}
