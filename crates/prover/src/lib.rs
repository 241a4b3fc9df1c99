//! # zkinfer-prover: proofs of quantized-model inference
//!
//! ```text
//! field → poly → transcript → pcs → sumcheck → lookup → [prover] ← model (QuantizedGraph, Trace)
//! ```
//!
//! [`compile`] commits every constant of a [`zkinfer_model::QuantizedGraph`] once (one WHIR
//! commitment per weight group of at most 2^25 padded entries, see `weights`) and yields a [`ProvingKey`] and a [`VerifyingKey`] (graph without weights +
//! commitment; its hash is the model commitment `C_M`). [`prove`] runs the integer inference
//! and proves it; [`verify`] checks a [`ModelProof`] with the verifying key alone.
//!
//! ## Statement
//! Public: `C_M`, the proof-system parameters (domain separator), the quantized inputs and
//! outputs. All are absorbed into the Fiat–Shamir transcript before any challenge.
//!
//! ## Protocol
//! 1. **Witness commitment** (one WHIR commitment): the remainder limbs of every
//!    requantization (`M·acc + 2^{s−1} = 2^s·y + r`, `r = Σ_j 2^{16j} r_j`), the outputs of
//!    table lookups, max and softmax nodes, the one-hot selectors proving long groups' maxima
//!    attained (`ops::attain`), and one multiplicity vector per table.
//! 2. **One LogUp-GKR argument** over all lookups of the proof, with α, β drawn after the
//!    commitment: every requantized output lies in the activation range (so `y` is the exact
//!    rounded quotient, no wrap-around), every limb in `[0, 2^16)` (top limb narrower), every
//!    `(x, y)` of a nonlinear op in its table. It reduces to point claims on the columns.
//! 3. **Walk** (see `walk` and `ops`): a random evaluation of each public output, then the
//!    nodes from last to first; claims on a node's output become claims on its inputs —
//!    through index maps (no proof bytes) for data movement and sums, through the linear
//!    requantization relation, and through sumchecks for Einsum / Conv / Mul and for the
//!    attainment of maxima (a product zero-check for groups of up to 64, a selector beyond, up
//!    to 2^20 per group or softmax row).
//! 4. **Settlement**: claims on public inputs are evaluated by the verifier; claims on
//!    committed tables (witness polys, constants) are reduced by one degree-2 sumcheck each to
//!    a point and opened in **batched WHIR openings**: one for the witness, one per weight
//!    group the walk reached (in group order, on one branch). The two branches run one
//!    after the other on forked transcripts (`ProverTranscript::fork`), each starting after
//!    every claim of all openings is absorbed; the verifier reads them in order. The weight
//!    groups may be re-committed in the background ([`ProvingKey::from_bytes_background`]:
//!    from the end of the walk on, one group ahead); each group's opening waits for it and
//!    checks its root against the verifying key.
//!
//! **Masked walk** ([`ProveOptions::masked`], a step toward zero knowledge, not
//! zero-knowledge yet): instead of the plain witness commitment the prover writes the mask
//! layout and one hiding commitment (`zkinfer_pcs::HidingPcs`) of one polynomial `S` holding
//! the witness polynomials, one Libra mask per walk sumcheck with at least one round (the
//! list comes from [`walk_shapes`], the verifier's walk run on stand-in messages, since the
//! walk's structure depends on shapes only), a settlement mask and a blinding block. Every
//! such sumcheck runs masked (`zkinfer_sumcheck::prove_masked`); after the walk one masked
//! settlement sumcheck reduces every witness claim and mask value to one point of `S`, and
//! one hiding opening proves it and the settlement mask's values (module `masks`). The
//! verifier takes the layout from the proof and checks that the `k`-th masked sumcheck's
//! shape matches entry `k` and that every mask was used.
//!
//! Requantization refuses to saturate: an activation outside its range (an input beyond the
//! calibration) is a prover error naming node and element, not a silently clamped proof.
//!
//! ## Soundness
//! Error ≤ Σ over sumchecks of `degree·vars/|EF|` + Σ over claim merges and output points of
//! `k/|EF|` + the LogUp-GKR error (`(rows + table rows)·(depth + 2)/|EF|` per batch, see
//! zkinfer-lookup) + (1 + number of weight groups opened) × the PCS error (zkinfer-pcs docs;
//! the openings' branches are forked from one state, so each opening's error counts once). With |EF| ≈ 2^128 and at most
//! ~2^30 rows, everything but the PCS term is below 2^-90; the PCS term dominates. Each
//! commitment is bound when written (`bind`: every polynomial's value at a point drawn right
//! after the root, or derived from the weight root and stored in the vk), so no term carries
//! the WHIR list-size factor; the binding adds `L²·n/|EF| < 2^-110`. A masked walk adds, per
//! masked sumcheck, `(1 + n·max(d, 2^b − 1))/|EF|` (zkinfer-sumcheck `zk`), the settlement's
//! batching `claims/|EF|`, and the hiding opening's error in place of the plain one. The committed weights
//! are proven to lie in their declared widths once, at compile (`range`, checked by
//! [`verify`] once per key).
//! Integer identities: `Plan::new` (run by prover and verifier on the graph alone) refuses any
//! node whose field relation could wrap around p (`zkinfer_model::quant::bounds`: both sides of
//! every relation bounded below p from the activation width, declared constant widths, shifts,
//! multipliers and tables; docs/PROVER.md, "Integer identities").
//!
//! ## Verifier cost
//! Weight tables of data-movement ops are computed explicitly: verification is linear in the
//! activation sizes (not the weights) plus the PCS verification. Succinct wiring
//! predicates for LLM-scale activations are future work.

mod bind;
mod error;
mod keys;
mod layout;
mod masks;
mod ops;
mod plan;
mod protocol;
mod range;
mod side;
mod walk;
mod weights;

pub use error::Error;
pub use keys::{compile, compile_grouped, compile_with, ProvingKey, VerifyingKey, FORMAT_VERSION};
pub use plan::Plan;
pub use protocol::{
    check_key, prove, prove_trace, prove_trace_timed, prove_trace_with, transcript_is_masked,
    verify, walk_shapes, ModelProof, ProveOptions, ProveTimings, PROOF_FORMAT_VERSION,
};
pub use side::SumcheckShape;
pub use weights::{WeightGroup, GROUP_VARS, GROUP_VARS_RANGE};

/// The field configuration of model proofs (a 64-bit field: bounds are checked below 2^62).
pub type Config = zkinfer_field::GoldilocksConfig;
/// Base field.
pub type F = zkinfer_field::Goldilocks;
/// Challenge field.
pub type EF = zkinfer_field::GoldilocksExt2;

#[cfg(test)]
mod argmax_tests;
#[cfg(test)]
mod long_rows_tests;
#[cfg(test)]
mod masked_tests;
#[cfg(test)]
mod onnx_ops_tests;
#[cfg(test)]
mod resource_tests;
#[cfg(test)]
mod soundness_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod weight_groups_tests;
