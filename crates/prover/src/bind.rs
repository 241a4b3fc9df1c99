//! Out-of-domain binding of the commitments, when they are written.
//!
//! A WHIR root commits to a word that, at rate ½ under the Johnson bound, may be close to up to
//! `L ≈ 2^4.3` codewords (p3's `list_size_bits`). p3-whir pins one of them down by its own
//! out-of-domain samples, but it draws those inside the opening — after every challenge of the
//! model proof — so a prover could pick the codeword after seeing α, β and the walk. Here each
//! commitment is bound as soon as it exists: a point `ζ` is drawn right after the root and
//! every committed polynomial's value at (its prefix of) `ζ` is fixed; those claims join the
//! commitment's batched opening.
//!
//! - **Witness**: `ζ` from the main transcript after the root, the values written to the proof
//!   before α, β ([`write`] / [`read`]).
//! - **Weights**: `ζ` derived from the root and layout alone ([`weight_point`]); the values are
//!   computed at `compile` and stored in the verifying key, so they are fixed before any
//!   proof's transcript starts (the vk is hashed into the statement).
//!
//! Soundness: two distinct candidate polynomial vectors differ in some polynomial `P_i`, and
//! `P_i(ζ_i) = P'_i(ζ_i)` with probability at most `n_i/|EF|` (Schwartz–Zippel); over the
//! `L²` pairs of the list, the opened polynomials are fixed except with probability
//! `L²·n/|EF| < 2^-110`, and the later soundness terms no longer carry the factor `L`.

use zkinfer_field::FieldConfig;
use zkinfer_pcs::Claim;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

use crate::error::Error;
use crate::{Config, EF, F};

const L_POINT: &str = "model.bind_point";
const L_VALUES: &str = "model.bind_values";

fn claims(layout: &[usize], zeta: &[EF], values: &[EF]) -> Vec<Claim<EF>> {
    layout
        .iter()
        .zip(values)
        .enumerate()
        .map(|(poly, (&nv, &value))| Claim {
            poly,
            point: zeta[..nv].to_vec(),
            value,
        })
        .collect()
}

fn max_vars(layout: &[usize]) -> usize {
    layout.iter().copied().max().unwrap_or(0)
}

/// The values of `polys` at the prefixes of `zeta`.
pub fn values(polys: &[&[F]], zeta: &[EF]) -> Vec<EF> {
    polys
        .iter()
        .map(|p| zkinfer_poly::evaluate(p, &zeta[..p.len().trailing_zeros() as usize]))
        .collect()
}

/// Prover, right after the witness root: draws `ζ`, writes each polynomial's value; returns
/// the claims for the witness opening.
pub fn write(polys: &[&[F]], t: &mut ProverTranscript<F>) -> Vec<Claim<EF>> {
    let layout: Vec<usize> = polys
        .iter()
        .map(|p| p.len().trailing_zeros() as usize)
        .collect();
    let zeta: Vec<EF> = t.sample_ext_vec(L_POINT, max_vars(&layout));
    let v = values(polys, &zeta);
    t.write_ext(L_VALUES, &v);
    claims(&layout, &zeta, &v)
}

/// Verifier: the same point, the values read from the proof.
pub fn read(layout: &[usize], t: &mut VerifierTranscript<'_, F>) -> Result<Vec<Claim<EF>>, Error> {
    let zeta: Vec<EF> = t.sample_ext_vec(L_POINT, max_vars(layout));
    let v: Vec<EF> = t
        .read_ext(L_VALUES, layout.len())
        .map_err(|e| Error::rejected("witness binding", e))?;
    Ok(claims(layout, &zeta, &v))
}

/// The weight commitment's binding point: a function of its root and layout only.
pub fn weight_point(root: &[u8; 32], layout: &[usize]) -> Vec<EF> {
    let mut t = ProverTranscript::<F>::new(&DomainSeparator::new(
        "zkinfer-weight-binding",
        1,
        Config::ID,
        &[],
    ));
    t.observe_bytes("weights.root", root);
    let lay: Vec<u8> = layout
        .iter()
        .flat_map(|&k| (k as u64).to_le_bytes())
        .collect();
    t.observe_bytes("weights.layout", &lay);
    t.sample_ext_vec(L_POINT, max_vars(layout))
}

/// The weight claims fixed by the verifying key's stored values (None when their number does
/// not match the layout).
pub fn weight_claims(root: &[u8; 32], layout: &[usize], values: &[EF]) -> Option<Vec<Claim<EF>>> {
    (values.len() == layout.len()).then(|| claims(layout, &weight_point(root, layout), values))
}
