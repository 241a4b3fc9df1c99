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
    /// Target bits for *each* error term of WHIR (union-bound composition is reported by
    /// [`crate::WhirPcs::composed_security_bits`]).
    pub security_bits: usize,
    /// Proven (Johnson) or conjectured (capacity) list-decoding bound.
    pub soundness: Soundness,
    /// log2 of the inverse starting rate (1 ⇒ rate 1/2).
    pub rate_log: usize,
    /// Variables folded per WHIR round.
    pub fold: usize,
    /// Grinding budget: p3-whir grinds up to this many proof-of-work bits per step and buys
    /// the rest of each term's λ with queries. Smaller = less grinding, more queries (larger
    /// proofs); it must cover what the size needs (18 bits at 2^24 under the Johnson bound).
    pub pow_bits: usize,
}

impl Default for WhirParams {
    /// 100 bits per term under the proven Johnson bound, rate 1/2, fold 4, ≤ 18 PoW bits.
    fn default() -> Self {
        Self {
            security_bits: 100,
            soundness: Soundness::Proven,
            rate_log: 1,
            fold: 4,
            pow_bits: 18,
        }
    }
}

impl WhirParams {
    /// The conjectured (capacity-bound) variant: smaller, faster proofs; see the crate docs.
    pub fn conjectured() -> Self {
        Self {
            soundness: Soundness::Conjectured,
            pow_bits: 16,
            ..Self::default()
        }
    }

    /// Cheap parameters for unit tests only (32 bits): never use in production.
    pub fn insecure_for_tests() -> Self {
        Self {
            security_bits: 32,
            soundness: Soundness::Conjectured,
            rate_log: 1,
            fold: 4,
            pow_bits: 0,
        }
    }

    /// Canonical bytes: `"whir-v1" ‖ security ‖ soundness ‖ rate ‖ fold ‖ pow` (u32 LE each).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"whir-v1".to_vec();
        let sound = match self.soundness {
            Soundness::Proven => 0u32,
            Soundness::Conjectured => 1u32,
        };
        for v in [
            self.security_bits as u32,
            sound,
            self.rate_log as u32,
            self.fold as u32,
            self.pow_bits as u32,
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

    /// p3-whir's protocol parameters for a stacked polynomial of `num_vars` variables.
    pub(crate) fn protocol(&self, num_vars: usize) -> Option<ProtocolParameters> {
        let folding = FoldingFactor::Constant(self.fold);
        let schedule = folding.compute_folding_schedule(num_vars).ok()?;
        // Each intermediate round's code rate drops by (fold − 1) halvings, as in p3's examples.
        let mut rates = Vec::with_capacity(schedule.len().saturating_sub(1));
        let mut rate = self.rate_log;
        for &f in schedule.iter().take(schedule.len().saturating_sub(1)) {
            rate += f - 1;
            rates.push(rate);
        }
        Some(ProtocolParameters {
            starting_log_inv_rate: self.rate_log,
            round_log_inv_rates: rates,
            folding_factor: folding,
            soundness_type: self.assumption(),
            security_level: self.security_bits,
            pow_bits: self.pow_bits,
        })
    }
}
