//! Why a lookup proof was rejected ([`LookupError`]) and how the prover was misused
//! ([`ProverError`]). The two are kept apart: the first is about proof bytes, the second about
//! the caller's witness.

use thiserror::Error;
use zkinfer_sumcheck::SumcheckError;
use zkinfer_transcript::TranscriptError;

/// A rejected lookup proof. `layer k` is the GKR step from the `2^k`-node layer of the fraction
/// trees to the `2^{k+1}`-node layer (its sumcheck has `k` rounds); `tree` indexes lookups first,
/// then tables (see the crate docs).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupError {
    /// A message could not be read.
    #[error("lookup proof: reading `{what}`: {source}")]
    Transcript {
        /// Which message.
        what: &'static str,
        /// Underlying transcript error.
        source: TranscriptError,
    },
    /// A root denominator is zero: the fractional sum is undefined.
    #[error("lookup tree {tree}: root denominator is zero")]
    ZeroDenominator {
        /// Tree index.
        tree: usize,
    },
    /// Σ witness fractions ≠ Σ table fractions for a table: some looked-up row is not in it
    /// (or the multiplicities are wrong).
    #[error("lookup table {table}: witness and table fractional sums differ")]
    RootMismatch {
        /// Table index.
        table: usize,
    },
    /// A layer's sumcheck failed to verify.
    #[error("lookup GKR layer {layer}: {source}")]
    LayerSumcheck {
        /// GKR layer.
        layer: usize,
        /// Underlying sumcheck error.
        source: SumcheckError,
    },
    /// The evaluations sent after a layer's sumcheck do not match its reduced claim.
    #[error("lookup GKR layer {layer}: layer evaluations do not match the sumcheck claim")]
    LayerCheck {
        /// GKR layer.
        layer: usize,
    },
    /// A tree's leaf claim does not match its columns (witness: `p = 1`,
    /// `q = β − Σ α^c col_c`; table: `q = β − Σ α^c t_c`).
    #[error("lookup tree {tree}: leaf claim does not match the column evaluations")]
    LeafCheck {
        /// Tree index.
        tree: usize,
    },
    /// The shape given to the verifier is malformed (a caller bug, not a proof defect).
    #[error("lookup shape: {reason}")]
    BadShape {
        /// What is wrong.
        reason: String,
    },
}

/// The lookup prover was misused: the witness does not satisfy the statement, or the inputs
/// are malformed. Never caused by proof bytes.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProverError {
    /// A lookup names a table that does not exist.
    #[error("lookup {lookup}: no table {table}")]
    UnknownTable {
        /// Lookup index.
        lookup: usize,
        /// Table index requested.
        table: usize,
    },
    /// A lookup has a different number of columns than its table.
    #[error("lookup {lookup}: {got} columns, table {table} has {expected}")]
    ColumnCount {
        /// Lookup index.
        lookup: usize,
        /// Table index.
        table: usize,
        /// Table's column count.
        expected: usize,
        /// Columns given.
        got: usize,
    },
    /// Columns of differing lengths, or a length that is not a power of two (pad with a row
    /// that is in the table).
    #[error("lookup {lookup}: columns must share one power-of-two length")]
    RowCount {
        /// Lookup index.
        lookup: usize,
    },
    /// A witness row is not in its table.
    #[error("lookup {lookup}: row {row} is not in table {table}")]
    NotInTable {
        /// Table index.
        table: usize,
        /// Lookup index.
        lookup: usize,
        /// Row index in the lookup's columns.
        row: usize,
    },
    /// The multiplicity vectors do not match the tables' sizes.
    #[error("multiplicities for table {table} have the wrong length")]
    MultiplicityShape {
        /// Table index.
        table: usize,
    },
    /// The masks given do not match the masked layers (count, or a shape other than
    /// `(k, 3)` for layer `k`).
    #[error(
        "{got} layer masks given, {expected} masked layers of the shapes `masked_layers` states"
    )]
    MaskShape {
        /// Masked layers.
        expected: usize,
        /// Masks given.
        got: usize,
    },
}
