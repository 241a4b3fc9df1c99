//! Matrix product `Y = X·W` (Gemm / MatMul; Conv via im2col wiring comes later).
//!
//! # Math
//! With `X` of shape `m × n` and `W` of shape `n × p` (all powers of two, row-major, so in
//! little-endian variable order the *column* index takes the low variables):
//! `Ỹ(r_k, r_i) = Σ_{j ∈ {0,1}^{log n}} X̃(j, r_i) · W̃(r_k, j)`.
//! Given a claim `Ỹ(r_k ‖ r_i) = v`, the prover fixes the row variables of `X` to `r_i` and
//! the column variables of `W` to `r_k` (linear time in |X| + |W|, not in the FLOP count) and
//! runs a degree-2 sumcheck over `j`, ending at `r_j`; it sends `X̃(r_j ‖ r_i)` and
//! `W̃(r_k ‖ r_j)`, which become the claims handed to the caller.
//!
//! # Soundness
//! The sumcheck contributes `2·log2(n) / |EF|`; the returned [`LinearClaims`] must be settled by
//! the caller (the activation claim by the previous layer, the weight claim by the PCS).

use thiserror::Error;
use zkinfer_field::p3_field::{ExtensionField, PrimeField64};
use zkinfer_poly::{fix_high, fix_low};
use zkinfer_sumcheck::{Composition, Mle, SumcheckError};
use zkinfer_transcript::{ProverTranscript, TranscriptError, VerifierTranscript};

/// Shapes `m × n` times `n × p`, as `log2` of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatMulShape {
    /// `log2 m` (rows of X and Y).
    pub log_m: usize,
    /// `log2 n` (the contracted dimension).
    pub log_n: usize,
    /// `log2 p` (columns of W and Y).
    pub log_p: usize,
}

/// Claims the linear layer reduces to.
#[must_use = "the input and weight claims must be settled"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinearClaims<EF> {
    /// Point `r_j ‖ r_i` and claimed `X̃` there.
    pub x_point: Vec<EF>,
    /// Claimed value of `X̃(x_point)`.
    pub x_value: EF,
    /// Point `r_k ‖ r_j` and claimed `W̃` there.
    pub w_point: Vec<EF>,
    /// Claimed value of `W̃(w_point)`.
    pub w_value: EF,
}

/// Why a linear-layer proof was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinearError {
    /// The inner sumcheck failed.
    #[error("linear layer sumcheck: {0}")]
    Sumcheck(#[from] SumcheckError),
    /// The final evaluations could not be read.
    #[error("linear layer final evaluations: {0}")]
    Transcript(#[from] TranscriptError),
    /// The output point has the wrong number of coordinates.
    #[error("linear layer: output point has {got} coordinates, shape needs {expected}")]
    PointShape {
        /// Expected length `log p + log m`.
        expected: usize,
        /// Received length.
        got: usize,
    },
}

/// Proves `Ỹ(y_point) = y_value` for `Y = X·W` and returns the claims on `X` and `W`.
///
/// # Panics
/// If the tables do not have the sizes `shape` says (prover misuse).
pub fn prove<F: PrimeField64, EF: ExtensionField<F>>(
    shape: MatMulShape,
    x: &[F],
    w: &[F],
    y_point: &[EF],
    y_value: EF,
    t: &mut ProverTranscript<F>,
) -> LinearClaims<EF> {
    assert_eq!(x.len(), 1 << (shape.log_m + shape.log_n), "X size");
    assert_eq!(w.len(), 1 << (shape.log_n + shape.log_p), "W size");
    assert_eq!(y_point.len(), shape.log_p + shape.log_m, "Y point");
    let (r_k, r_i) = y_point.split_at(shape.log_p);
    let x_row = fix_high(x, r_i); // X̃(·, r_i) over j
    let w_col = fix_low(w, r_k); // W̃(r_k, ·) over j
    let comp = Composition::product(2);
    let out = zkinfer_sumcheck::prove(y_value, vec![Mle::Ext(x_row), Mle::Ext(w_col)], &comp, t);
    t.write_ext("linear evals", &out.evals);
    claims(&out.point, r_i, r_k, out.evals[0], out.evals[1])
}

/// Verifies a linear-layer proof for the claim `Ỹ(y_point) = y_value`.
pub fn verify<F: PrimeField64, EF: ExtensionField<F>>(
    shape: MatMulShape,
    y_point: &[EF],
    y_value: EF,
    t: &mut VerifierTranscript<'_, F>,
) -> Result<LinearClaims<EF>, LinearError> {
    let expected = shape.log_p + shape.log_m;
    if y_point.len() != expected {
        return Err(LinearError::PointShape {
            expected,
            got: y_point.len(),
        });
    }
    let (r_k, r_i) = y_point.split_at(shape.log_p);
    let reduced = zkinfer_sumcheck::verify(y_value, shape.log_n, 2, t)?;
    let evals: Vec<EF> = t.read_ext("linear evals", 2)?;
    reduced.check(&Composition::product(2), &evals)?;
    Ok(claims(&reduced.point, r_i, r_k, evals[0], evals[1]))
}

fn claims<EF: Copy>(
    r_j: &[EF],
    r_i: &[EF],
    r_k: &[EF],
    x_value: EF,
    w_value: EF,
) -> LinearClaims<EF> {
    LinearClaims {
        x_point: r_j.iter().chain(r_i).copied().collect(),
        x_value,
        w_point: r_k.iter().chain(r_j).copied().collect(),
        w_value,
    }
}

#[cfg(test)]
mod tests;
