//! Fiat–Shamir transcript: the proof *is* what the prover's writer wrote.
//!
//! ```text
//! field → poly → [transcript] → sumcheck / pcs → lookup → layers → prover / verifier
//! ```
//!
//! A [`ProverTranscript`] absorbs every message into a Blake3 sponge and appends it to the proof
//! bytes; a [`VerifierTranscript`] reads the same bytes back, absorbing them identically, so both
//! sides derive the same challenges. Public values the verifier already knows (model
//! commitment, input, output, shapes) are *observed*: absorbed but not written.
//!
//! # Sponge
//! The state is a Blake3 keyed hasher. Each absorbed item is framed as
//! `kind ‖ len(label) ‖ label ‖ len(data) ‖ data`, so no two distinct message sequences hash
//! alike. A squeeze absorbs a squeeze frame, finalizes into an XOF stream, takes 32 bytes as the
//! next key (re-keying the hasher, which chains all history) and the following bytes as output.
//! The initial key is the [`DomainSeparator`]: a hash of protocol id, version, field
//! configuration and protocol parameters — a proof made under one statement or configuration
//! yields different challenges (and fails) under another.
//!
//! # Challenges
//! A base-field challenge is a 128-bit XOF output reduced mod p (statistical distance from
//! uniform ≤ p / 2^128 ≤ 2^-64); an extension challenge samples each basis coefficient that way.
//! Modelling Blake3 as a random oracle, the Fiat–Shamir transform of each public-coin protocol
//! in this workspace keeps its interactive (round-by-round) soundness error, multiplied by the
//! number of hash queries a cheating prover makes (the standard loss for round-by-round sound
//! protocols); the 256-bit chained state adds at most Q²/2^256 for Q queries.
//!
//! # Encoding
//! Base-field elements are written as canonical little-endian integers in the fewest whole bytes
//! holding p − 1 (8 for Goldilocks, 4 for KoalaBear); an extension element is its basis
//! coefficients in order. A non-canonical encoding (value ≥ p) is rejected, so every proof has
//! exactly one encoding. Byte strings carry a u32 length prefix. The reader checks lengths against
//! the bytes remaining *before* allocating, so a hostile proof cannot make it allocate more than
//! the proof's own size.
//!
//! # Drift detection
//! In debug builds the prover records the pattern of operations (kind, label, count). A verifier
//! built with [`VerifierTranscript::with_pattern`] compares each of its operations with that
//! record and panics at the first difference, naming both — so prover/verifier drift fails
//! loudly at the first wrong message instead of as a mysterious late rejection. Release builds
//! record nothing and the proof bytes are identical in both builds.

mod duplex;
mod envelope;
mod pattern;
mod prover;
mod sponge;
mod verifier;

pub use duplex::Duplex;
pub use envelope::{decode_envelope, encode_envelope, EnvelopeError, MAGIC};
pub use pattern::{Op, OpKind, Pattern};
pub use prover::{Proof, ProverTranscript};
pub use sponge::DomainSeparator;
pub use verifier::{TranscriptError, VerifierTranscript};

#[cfg(test)]
mod tests;
