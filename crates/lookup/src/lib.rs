//! LogUp-GKR lookup arguments: every row of some witness columns lies in a table.
//!
//! ```text
//! field → poly → transcript → sumcheck / pcs → [lookup] → layers → prover / verifier
//! ```
//!
//! # Statement and math
//! For a table `t` (columns `t_c`, `T` rows) and lookups `w` (columns `col_c`, `N` rows in all)
//! into it, with multiplicities `m_j` = how often row `j` is looked up, the prover shows
//! `Σ_i 1/(β − w_i) = Σ_j m_j/(β − t_j)`, where `w_i = Σ_c α^c·col_c[i]`,
//! `t_j = Σ_c α^c·t_c[j]` (multi-column rows by random linear combination) and `α, β ∈ EF` are
//! sampled **after** the multiplicities are committed (the caller writes that commitment to the
//! transcript before [`LookupProver::prove`] / [`verify`]). Only `m` is committed; the inverses
//! are never materialized in a commitment.
//!
//! Each side is a binary tree of fractions `(p, q)`: witness leaves `(1, β − w_i)`, table
//! leaves `(m_j, β − t_j)`, parent `p = p_L·q_R + p_R·q_L`, `q = q_L·q_R`. The prover sends
//! every root; the verifier checks each root `q ≠ 0` and, per table, `Σ_w p_w/q_w = p_t/q_t` by
//! cross-multiplication. GKR then walks all trees from the root down. At layer `k` (from the
//! `2^k`-node layer to its children) the claims `p(r), q(r)`, `r ∈ EF^k`, of every tree deeper
//! than `k` are batched with powers of a fresh `λ` into one degree-3 sumcheck
//! `Σ_x eq(r,x)·Σ_t λ^{2t}[p_t(x,0)q_t(x,1) + p_t(x,1)q_t(x,0)] + λ^{2t+1}q_t(x,0)q_t(x,1)`
//! (verified by zkinfer-sumcheck; proven by a dedicated, message-identical layer prover, see
//! `layer.rs`). The prover sends `p_t(r',0), p_t(r',1), q_t(r',0), q_t(r',1)` (only the `q`s
//! for witness leaves, whose `p ≡ 1`), the verifier checks them against the reduced claim,
//! samples `μ`, and continues at `(r', μ)` with `p(r',μ) = (1−μ)p(r',0) + μ·p(r',1)`. A tree
//! whose leaves are reached drops out with its leaf claim; trees of all depths share one
//! point per layer. **Variable order:** the child bit is the *top* variable (children of `x`
//! are `x` and `x + 2^k`), so leaf points are in the columns' natural little-endian order.
//!
//! At the leaves the prover sends each witness column's MLE at the leaf point; the verifier
//! checks `q = β − Σ α^c·col_c(ρ)` and `p = 1`, evaluates each table's columns itself when
//! [`Table::evaluate_mle`] can (ranges, identity: O(log T); public tables: O(T)) or reads
//! them otherwise, and returns [`LookupClaims`]: column claims, multiplicity claims `m(ρ)` and
//! committed-table column claims, all for the caller to settle.
//!
//! Trees are ordered lookups first (tree `i` = lookup `i`), then tables (tree `L + j` = table
//! `j`); errors name layers and trees in that numbering. Witness columns must have a
//! power-of-two length: pad with a row that is in the table (it is then counted in `m`).
//!
//! # Soundness
//! With `N` looked-up rows and `T` table rows in all, `c` columns at most, and maximum depth
//! `D`: the rational identity is false for all but `≤ (N + T)` values of `β` per false
//! statement, and a row collision under the `α` combination has probability `≤ (c−1)·(N+T)/|EF|`,
//! so the LogUp step errs with probability `≲ c·(N + T)/|EF|`. Layer `k`'s sumcheck errs with
//! probability `≤ 3k/|EF|`, its `λ` batching `≤ 2·#trees/|EF|` and its line reduction `≤ 1/|EF|`,
//! so GKR adds `≤ Σ_{k<D} (3k + 2·#trees + 1)/|EF|`. For Goldilocks-ext2 (|EF| ≈ 2^128),
//! N + T = 2^24, D = 24: below 2^-100 — plus the errors of the caller's openings that settle
//! the returned claims. The rows looked up in one table must number fewer than the field's
//! characteristic (else `char F` copies of a false fraction cancel); [`verify`] rejects such a
//! shape (`BadShape`) — a real limit only for KoalaBear (2^31 − 2^24 rows per table).

mod error;
mod fraction;
mod layer;
mod prover;
mod shape;
mod table;
mod verifier;

pub use error::{LookupError, ProverError};
pub use prover::LookupProver;
pub use shape::{LayerMask, LookupClaims, LookupShape, LookupSpec, PointClaims, MAX_VARS};
pub use table::{IdentityTable, PublicTable, RangeTable, SignedRangeTable, Table};
pub use verifier::{verify, verify_masked};

#[cfg(test)]
mod tests;
