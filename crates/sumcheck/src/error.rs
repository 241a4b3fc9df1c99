//! Why a sumcheck proof was rejected.

use thiserror::Error;
use zkinfer_transcript::TranscriptError;

/// A sumcheck rejection. `round` counts from 0 (variable 0).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SumcheckError {
    /// The round message could not be read.
    #[error("sumcheck round {round}: {source}")]
    Transcript {
        /// Round whose message was unreadable.
        round: usize,
        /// Underlying transcript error.
        source: TranscriptError,
    },
    /// The reduced claim does not match the evaluations the caller settled it with: some round
    /// polynomial (or the claimed sum) was false.
    #[error("sumcheck final check failed after {rounds} rounds: the round polynomials do not reduce to the claimed evaluations")]
    FinalCheck {
        /// Number of rounds run.
        rounds: usize,
    },
    /// The verifier was asked for a degree-0 sumcheck (a caller bug: compositions have degree ≥ 1).
    #[error("sumcheck of degree 0 requested")]
    ZeroDegree,
    /// A masked sumcheck with an unsupported shape (no variables, degree 0, or too large).
    #[error("masked sumcheck: unsupported shape ({vars} variables, degree {degree})")]
    MaskShape {
        /// Number of variables asked for.
        vars: usize,
        /// Degree asked for.
        degree: usize,
    },
    /// The mask value of a round cannot be mapped to a point of the mask table (some
    /// `1 + r^{2^j}` vanished: probability ≤ n·2^b/|EF|).
    #[error("masked sumcheck round {round}: challenge has no mask-table point")]
    MaskPoint {
        /// Round (variable) whose challenge failed.
        round: usize,
    },
    /// Batch of claims with no claims.
    #[error("sumcheck batch is empty")]
    EmptyBatch,
}
