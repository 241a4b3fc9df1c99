//! WHIR parameters and their canonical serialization (hashed into callers' domain separators).

use p3_whir::{FoldingFactor, ProtocolParameters, SecurityAssumption};
use serde::{Deserialize, Serialize};

/// Which Reed–Solomon list-decoding bound the query counts are derived from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Soundness {
    /// Johnson bound: proven (list decoding up to 1 − √ρ − η). More queries, larger proofs.
    Proven,
    /// Capacity bound (STIR Conjecture 5.6 / WHIR's conjecture): list decoding up to 1 − ρ − η.
    /// Fewer queries; soundness rests on a conjecture.
    Conjectured,
}

/// Parameters of [`crate::WhirPcs`].
///
/// Serialize them with [`WhirParams::to_bytes`] and hash the bytes into the domain separator of
/// every transcript that carries an opening, so a proof made under one parameter set never
/// verifies under another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhirParams {
    /// Target bits for *each* error term of WHIR. The whole opening is the union bound over all
    /// terms, reported by [`crate::WhirPcs::composed_security_bits`]; it is a few bits lower
    /// (≈ λ − log2 of the number of terms at the target), see the crate docs.
    pub security_bits: usize,
    /// Proven (Johnson) or conjectured (capacity) list-decoding bound.
    pub soundness: Soundness,
    /// log2 of the inverse starting rate (1 ⇒ rate 1/2).
    pub rate_log: usize,
    /// Variables folded per WHIR round.
    pub fold: usize,
    /// log2 of the inverse rate added by each WHIR round: the codeword committed after round
    /// i has rate 2^-(rate_log + (i+1)·step) (p3-whir's own default is `fold − 1`). A smaller
    /// step makes later codewords shorter (cheaper to encode while opening) but of higher rate
    /// (more queries there). Under the Johnson bound each round's proximity-gap error — and so
    /// its folding proof-of-work — grows by 2·step − fold bits per round (0 for step 2, fold 4).
    pub round_rate_step: usize,
    /// Query grinding budget: p3-whir grinds up to this many proof-of-work bits per step and
    /// buys the rest of each term's λ with queries (so the STIR query steps grind about this
    /// many bits). Smaller = less grinding, more queries (slightly larger proofs). When a
    /// folding step needs more than this (the proximity-gap terms grow about one bit per
    /// stacked variable), the budget is raised to exactly what it needs, up to
    /// [`WhirParams::max_pow_bits`]; the raise is a function of the size alone, so prover and
    /// verifier agree on it.
    pub pow_bits: usize,
    /// Ceiling for that raise: a size whose folding needs more is refused.
    pub max_pow_bits: usize,
}

impl Default for WhirParams {
    /// λ = 107 bits per term under the proven Johnson bound, rate 1/2, fold 4, round rate
    /// step 2, 15 query PoW bits (raised to the folding need, ≤ 23): **≥ 100.97 bits
    /// composed** (union bound over every term) for Goldilocks + ext2 at 2^4 … 2^26 stacked
    /// variables and up to 2^15 claims (≥ 100.98 up to 1024 claims). Folding needs 20 bits
    /// at 2^27, one more per variable, so the ceiling of 23 reaches 2^30. KoalaBear + ext4
    /// needs 4 more bits (23 at 2^26).
    fn default() -> Self {
        Self {
            security_bits: 107,
            soundness: Soundness::Proven,
            rate_log: 1,
            fold: 4,
            round_rate_step: 2,
            pow_bits: 15,
            max_pow_bits: 23,
        }
    }
}

impl WhirParams {
    /// The previous default: λ = 100 bits **per term** (Johnson bound, rate 1/2, fold 4,
    /// p3's round rate step 3, ≤ 18 PoW bits). Composed: only 94.0–94.7 bits at 2^16–2^24
    /// (99.2 at 2^10); refused at 2^26. ~14 % smaller proofs; for comparisons only.
    pub fn per_term_100() -> Self {
        Self {
            security_bits: 100,
            soundness: Soundness::Proven,
            rate_log: 1,
            fold: 4,
            round_rate_step: 3,
            pow_bits: 18,
            max_pow_bits: 18,
        }
    }

    /// The conjectured (capacity-bound) variant, λ = 100 per term: smaller, faster proofs, but
    /// below 100 bits composed and refused from 2^20 stacked variables; see the crate docs.
    pub fn conjectured() -> Self {
        Self {
            soundness: Soundness::Conjectured,
            pow_bits: 16,
            max_pow_bits: 16,
            ..Self::per_term_100()
        }
    }

    /// Cheap parameters for unit tests only (32 bits): never use in production.
    pub fn insecure_for_tests() -> Self {
        Self {
            security_bits: 32,
            soundness: Soundness::Conjectured,
            rate_log: 1,
            fold: 4,
            round_rate_step: 3,
            pow_bits: 0,
            max_pow_bits: 0,
        }
    }

    /// Canonical bytes:
    /// `"whir-v3" ‖ security ‖ soundness ‖ rate ‖ fold ‖ round rate step ‖ pow ‖ max pow`
    /// (u32 LE each).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"whir-v3".to_vec();
        let sound = match self.soundness {
            Soundness::Proven => 0u32,
            Soundness::Conjectured => 1u32,
        };
        for v in [
            self.security_bits as u32,
            sound,
            self.rate_log as u32,
            self.fold as u32,
            self.round_rate_step as u32,
            self.pow_bits as u32,
            self.max_pow_bits as u32,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    pub(crate) fn assumption(&self) -> SecurityAssumption {
        match self.soundness {
            Soundness::Proven => SecurityAssumption::JohnsonBound,
            Soundness::Conjectured => SecurityAssumption::CapacityBound,
        }
    }

    /// p3-whir's protocol parameters for a stacked polynomial of `num_vars` variables, with a
    /// grinding budget of `pow_bits`.
    pub(crate) fn protocol(&self, num_vars: usize, pow_bits: usize) -> Option<ProtocolParameters> {
        let folding = FoldingFactor::Constant(self.fold);
        let schedule = folding.compute_folding_schedule(num_vars).ok()?;
        // The codeword committed after each intermediate round: rate drops by `step` halvings.
        let rounds = schedule.len().saturating_sub(1);
        let rates = (1..=rounds)
            .map(|i| self.rate_log + i * self.round_rate_step)
            .collect();
        Some(ProtocolParameters {
            starting_log_inv_rate: self.rate_log,
            round_log_inv_rates: rates,
            folding_factor: folding,
            soundness_type: self.assumption(),
            security_level: self.security_bits,
            pow_bits,
        })
    }
}
