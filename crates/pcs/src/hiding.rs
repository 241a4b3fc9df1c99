//! [`HidingPcs`]: a **hiding** [`MultilinearPcs`] on p3-whir's HVZK-WHIR (ePrint 2026/391).
//!
//! # Protocol
//! Stacking exactly as [`crate::WhirPcs`] (same offsets: polynomial `i` with `k_i` variables
//! occupies a slot aligned to its size, so `f_i(z) = P(z, sel_i)`), committed with p3's
//! `HidingWhirPcs`: a randomized interleaved Reed–Solomon encoding of the stack `P`, one
//! Merkle root. An opening does **not** run [`crate::WhirPcs`]'s own claim-batching sumcheck
//! (its round messages and its final `P(r)` would be linear forms of `P` in the clear); every
//! claim `f_i(z_j) = v_j` goes to HVZK-WHIR as the point claim `P(z_j, sel_i) = v_j`, and
//! HVZK-WHIR batches them inside its masked pipeline (masked sumchecks, blinded out-of-domain
//! answers, query openings within the encodings' randomness budget, a one-time-padded final
//! message).
//!
//! # Zero knowledge
//! Honest-verifier zero knowledge (ePrint 2026/391, as implemented by p3-whir 0.8): the root
//! and the opening proof can be simulated from the claims `(i, z_j, v_j)` alone. So an
//! opening reveals the claimed values — which the caller's protocol has already put in the
//! statement — and nothing else about the committed polynomials. The simulator argument
//! needs the prover's randomness to be unpredictable: [`HidingPcs::new`] seeds from the
//! operating system; [`HidingPcs::with_seed`] exists for reproducible tests only. Fiat–Shamir
//! challenges come from the transcript (Blake3 as a random oracle), which also makes the
//! non-interactive proof zero-knowledge against any verifier in the random-oracle model.
//!
//! # Soundness
//! HVZK-WHIR targets [`WhirParams::security_bits`] per error term as plain WHIR does, plus a
//! union bound over its `2·rounds + 2` mask oracles (the mask spot checks are sized for
//! `λ + log2(2·rounds + 2)` bits). p3-whir reports the terms of its hiding base case as
//! *conditional* (`hiding_base_case_security_report`) and does not certify the composed
//! figure; [`HidingPcs::base_case_report`] exposes that report. The initial batching of `N`
//! point claims costs `≈ (N − 1)·K / |EF|` and p3-whir refuses openings whose batching term
//! falls below λ ([`PcsError::Config`]). Not claimed: a composed figure for the hiding
//! variant (see docs/ZK.md).
//!
//! # Cost
//! One commitment per call as for [`crate::WhirPcs`]; the encoding carries extra randomness
//! rows and every round commits a mask oracle, so commit and open are slower and proofs larger
//! (measured in `benches/pcs.rs`, docs/PCS.md). p3's hiding prover data cannot be cloned: a
//! commitment is opened **once** ([`PcsError::AlreadyOpened`] otherwise), which is how the
//! protocol uses every commitment.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use p3_commit::MultilinearPcs as P3Pcs;
use p3_dft::Radix2DFTSmallBatch;
use p3_field::PrimeCharacteristicRing;
use p3_multilinear_util::point::Point;
use p3_multilinear_util::poly::Poly;
use p3_symmetric::MerkleCap;
use p3_whir::{
    FoldingFactor, HidingBaseCaseSecurityReport, HidingWhirPcs, HidingWhirProverData,
    ProtocolParameters, WhirConfigError, ZkConfigError, ZkParameters, ZkWhirConfig, ZkWhirProof,
};
use rand::distr::{Distribution, StandardUniform};
use rand::rngs::{StdRng, SysRng};
use rand::SeedableRng;
use zkinfer_field::FieldConfig;
use zkinfer_transcript::{Duplex, ProverTranscript, VerifierTranscript};

use crate::challenger::{challenger_from_seed, WhirChallenger};
use crate::whir::{encode_claims, encode_layout, stack_offsets, stacked_vars};
use crate::{Claim, MultilinearPcs, PcsError, WhirMmcs, WhirParams, MAX_PROOF_BYTES, MAX_VARS};

type Dft<F> = Radix2DFTSmallBatch<F>;
type Zk<C> = HidingWhirPcs<
    <C as FieldConfig>::EF,
    <C as FieldConfig>::F,
    Dft<<C as FieldConfig>::F>,
    WhirMmcs<<C as FieldConfig>::F>,
    WhirChallenger<<C as FieldConfig>::F>,
    StdRng,
>;
type ZkData<C> = HidingWhirProverData<
    <C as FieldConfig>::F,
    <C as FieldConfig>::EF,
    WhirMmcs<<C as FieldConfig>::F>,
>;
type ZkConfig<C> = ZkWhirConfig<
    <C as FieldConfig>::EF,
    <C as FieldConfig>::F,
    WhirChallenger<<C as FieldConfig>::F>,
>;
pub(crate) type ZkProof<C> =
    ZkWhirProof<<C as FieldConfig>::F, <C as FieldConfig>::EF, WhirMmcs<<C as FieldConfig>::F>>;

// Transcript labels (distinct from the non-hiding scheme's: a proof of one never parses as
// the other's).
const L_LAYOUT: &str = "hpcs.layout";
const L_ROOT: &str = "hpcs.root";
const L_POLYS: &str = "hpcs.claim_polys";
const L_POINTS: &str = "hpcs.claim_points";
const L_VALUES: &str = "hpcs.claim_values";
const L_SEED: &str = "hpcs.whir_seed";
const L_PROOF: &str = "hpcs.whir_proof";

/// Mask code message length of HVZK-WHIR's masked sumchecks (p3's minimum is 3; its
/// benchmarks use 3 and 16). Each round polynomial of WHIR's sumcheck has degree 2.
const ELL_ZK: usize = 4;
/// Log inverse rate of the mask codewords (8× expansion). A lower rate means fewer spot checks
/// of the masks for the same security: on nanoGPT's masked proof, rate 1/2 (p3's minimum)
/// gave 1,210 KB, 1/4 1,000 KB, 1/8 961 KB, 1/16 937 KB with a slower opening (docs/ZK.md).
const MASK_LOG_INV_RATE: usize = 3;

/// Extra halvings of the starting rate: the randomized encoding's randomness rows must fit in
/// the codeword's slack, which rate 1/2 does not leave (p3 refuses it).
const HIDING_EXTRA_RATE_LOG: usize = 1;

/// The proof's wire encoding: fixed-width integers (bincode, little-endian), so a proof's
/// length is a function of the statement only — postcard's varints would make it depend on
/// the (random-looking) values. Decoding is capped at [`MAX_PROOF_BYTES`] and refuses trailing
/// bytes.
pub(crate) fn wire() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .with_limit(MAX_PROOF_BYTES as u64)
        .reject_trailing_bytes()
}

/// A hiding commitment: the Merkle root of the randomized stacked codeword plus the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HidingCommitment {
    /// Blake3 Merkle root.
    pub root: [u8; 32],
    /// Number of variables of each committed polynomial, in commit order.
    pub layout: Vec<usize>,
}

/// What the prover keeps from `commit`; consumed by the (single) opening.
pub struct HidingProverData<C: FieldConfig> {
    inner: Mutex<Option<ZkData<C>>>,
    commitment: HidingCommitment,
}

impl<C: FieldConfig> HidingProverData<C> {
    /// The commitment these data open.
    pub fn commitment(&self) -> &HidingCommitment {
        &self.commitment
    }
}

/// Hiding multilinear PCS (see the module docs).
pub struct HidingPcs<C: FieldConfig> {
    params: WhirParams,
    dft: Dft<C::F>,
    mmcs: WhirMmcs<C::F>,
    /// Source of every commitment's and opening's hiding randomness.
    rng: Mutex<StdRng>,
}

impl<C: FieldConfig> HidingPcs<C>
where
    C::F: Ord,
    StandardUniform: Distribution<C::F> + Distribution<C::EF>,
{
    /// A hiding PCS whose randomness is seeded from the operating system.
    pub fn new(params: WhirParams) -> Result<Self, PcsError> {
        let rng = StdRng::try_from_rng(&mut SysRng).map_err(|e| PcsError::Entropy {
            reason: e.to_string(),
        })?;
        Ok(Self::with_rng(params, rng))
    }

    /// A hiding PCS with a fixed seed: reproducible, and **not hiding** against anyone who
    /// knows the seed. Tests only.
    pub fn with_seed(params: WhirParams, seed: u64) -> Self {
        Self::with_rng(params, StdRng::seed_from_u64(seed))
    }

    fn with_rng(params: WhirParams, rng: StdRng) -> Self {
        Self {
            params,
            dft: Dft::default(),
            mmcs: crate::whir::mmcs(),
            rng: Mutex::new(rng),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &WhirParams {
        &self.params
    }

    /// p3's hiding configuration for `num_vars` stacked variables; the grinding budget is
    /// raised from `pow_bits` to what the folding steps need, as for [`crate::WhirPcs`].
    fn config(&self, num_vars: usize) -> Result<ZkConfig<C>, PcsError> {
        let cfg_err = |reason: String| PcsError::Config { num_vars, reason };
        let mut budget = self.params.pow_bits;
        loop {
            let p = self
                .params
                .protocol(num_vars, budget)
                .ok_or_else(|| cfg_err("invalid folding schedule".into()))?;
            // Every codeword one rate halving below the plain scheme's (same per-round steps).
            let protocol = ProtocolParameters {
                starting_log_inv_rate: p.starting_log_inv_rate + HIDING_EXTRA_RATE_LOG,
                round_log_inv_rates: p
                    .round_log_inv_rates
                    .iter()
                    .map(|r| r + HIDING_EXTRA_RATE_LOG)
                    .collect(),
                folding_factor: FoldingFactor::Constant(self.params.fold),
                ..p
            };
            let zk = ZkParameters {
                ell_zk: ELL_ZK,
                mask_log_inv_rate: MASK_LOG_INV_RATE,
            };
            match ZkWhirConfig::new(num_vars, protocol, zk) {
                Ok(c) => return Ok(c),
                Err(ZkConfigError::Whir(WhirConfigError::PowBitsExceedBudget {
                    required, ..
                })) if required > budget && required <= self.params.max_pow_bits => {
                    budget = required;
                }
                Err(e) => return Err(cfg_err(format!("{e:?}"))),
            }
        }
    }

    /// `K` for a layout: the plain stack's, raised until the randomized encoding's randomness
    /// fits the first codewords' slack (small stacks are zero-padded; the padding is committed
    /// and hidden like the rest).
    pub fn stacked_vars(&self, layout: &[usize]) -> Result<usize, PcsError> {
        let mut k = stacked_vars(layout, self.params.fold);
        loop {
            match self.config(k) {
                Ok(_) => return Ok(k),
                Err(e) if k < MAX_VARS && is_slack_error(&e) => k += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// The most claims one opening of a commitment with this layout may batch: HVZK-WHIR
    /// combines them with powers of one challenge, and p3 refuses a batch whose term falls
    /// below λ (the plain scheme's own batching sumcheck has no such limit). Callers with more
    /// claims must merge them first (e.g. by a sumcheck on the claims' sum), which is how
    /// the walk will use it.
    pub fn max_claims(&self, layout: &[usize]) -> Result<usize, PcsError> {
        let config = self.config(self.stacked_vars(layout)?)?;
        let ok = |n: usize| config.inner().validate_initial_claims(n).is_ok();
        if !ok(1) {
            return Ok(0);
        }
        let (mut lo, mut hi) = (1usize, 1usize << 40);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if ok(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(lo)
    }

    fn scheme(&self, num_vars: usize) -> Result<Zk<C>, PcsError> {
        let config = self.config(num_vars)?;
        let rng = {
            let mut master = self.rng.lock().map_err(|_| PcsError::Entropy {
                reason: "randomness source poisoned".into(),
            })?;
            StdRng::from_rng(&mut *master)
        };
        Ok(HidingWhirPcs::new(
            config,
            self.dft.clone(),
            self.mmcs.clone(),
            rng,
        ))
    }

    /// p3-whir's diagnostic report of the hiding base case for a commitment with this layout.
    pub fn base_case_report(
        &self,
        layout: &[usize],
    ) -> Result<HidingBaseCaseSecurityReport, PcsError> {
        Ok(self
            .config(self.stacked_vars(layout)?)?
            .hiding_base_case_security_report())
    }

    fn check_claims(layout: &[usize], claims: &[Claim<C::EF>]) -> Result<(), PcsError> {
        for (index, c) in claims.iter().enumerate() {
            if layout.get(c.poly) != Some(&c.point.len()) {
                return Err(PcsError::ClaimShape {
                    index,
                    poly: c.poly,
                    point_len: c.point.len(),
                });
            }
        }
        Ok(())
    }

    /// The stacked points `(z_j, sel_i)` in p3's big-endian order.
    fn stacked_points(
        layout: &[usize],
        claims: &[Claim<C::EF>],
        num_vars: usize,
    ) -> Vec<Point<C::EF>> {
        let offsets = stack_offsets(layout);
        claims
            .iter()
            .map(|c| {
                let k = c.point.len();
                let sel = offsets[c.poly] >> k;
                let mut le: Vec<C::EF> = c.point.clone();
                le.extend((0..num_vars - k).map(|b| {
                    if (sel >> b) & 1 == 1 {
                        C::EF::ONE
                    } else {
                        C::EF::ZERO
                    }
                }));
                le.reverse();
                Point::new(le)
            })
            .collect()
    }

    /// Binds the claims and draws the seed of p3's challenger (both sides).
    fn observe_claims(claims: &[Claim<C::EF>], t: &mut impl Duplex<C::F>) -> [u8; 32] {
        let (polys, points, values) = encode_claims(claims);
        t.observe_bytes(L_POLYS, &polys);
        t.observe_ext(L_POINTS, &points);
        t.observe_ext(L_VALUES, &values);
        t.sample_seed(L_SEED)
    }
}

fn is_slack_error(e: &PcsError) -> bool {
    matches!(e, PcsError::Config { reason, .. } if reason.starts_with("RandomnessExceedsSlack"))
}

impl<C: FieldConfig> MultilinearPcs<C::F, C::EF> for HidingPcs<C>
where
    C::F: Ord,
    StandardUniform: Distribution<C::F> + Distribution<C::EF>,
{
    type ProverData = HidingProverData<C>;
    type Commitment = HidingCommitment;

    fn commit(
        &self,
        polys: &[&[C::F]],
    ) -> Result<(HidingCommitment, HidingProverData<C>), PcsError> {
        if polys.is_empty() {
            return Err(PcsError::EmptyCommitment);
        }
        let mut layout = Vec::with_capacity(polys.len());
        for (index, p) in polys.iter().enumerate() {
            if !p.len().is_power_of_two() || p.len() > 1 << MAX_VARS {
                return Err(PcsError::PolyShape {
                    index,
                    len: p.len(),
                    max_vars: MAX_VARS,
                });
            }
            layout.push(p.len().trailing_zeros() as usize);
        }
        let num_vars = crate::whir::check_stack(self.stacked_vars(&layout)?)?;
        let scheme = self.scheme(num_vars)?;
        let mut stacked = vec![C::F::ZERO; 1 << num_vars];
        for (p, &o) in polys.iter().zip(&stack_offsets(&layout)) {
            stacked[o..o + p.len()].copy_from_slice(p);
        }
        // Commit only absorbs the root into this throwaway challenger; the opening re-binds it.
        let mut ch = challenger_from_seed([0; 32]);
        let (cap, data) =
            scheme
                .commit(Poly::new(stacked), &mut ch)
                .map_err(|e| PcsError::Config {
                    num_vars,
                    reason: format!("{e:?}"),
                })?;
        let root = *cap.roots().first().ok_or(PcsError::Config {
            num_vars,
            reason: "empty Merkle cap".into(),
        })?;
        let commitment = HidingCommitment { root, layout };
        Ok((
            commitment.clone(),
            HidingProverData {
                inner: Mutex::new(Some(data)),
                commitment,
            },
        ))
    }

    fn write_commitment(&self, c: &HidingCommitment, t: &mut ProverTranscript<C::F>) {
        t.observe_bytes(L_LAYOUT, &encode_layout(&c.layout));
        t.write_digest(L_ROOT, &c.root);
    }

    fn read_commitment(
        &self,
        layout: &[usize],
        t: &mut VerifierTranscript<'_, C::F>,
    ) -> Result<HidingCommitment, PcsError> {
        if layout.is_empty() {
            return Err(PcsError::EmptyCommitment);
        }
        if let Some(index) = layout.iter().position(|&k| k > MAX_VARS) {
            return Err(PcsError::PolyShape {
                index,
                len: usize::MAX,
                max_vars: MAX_VARS,
            });
        }
        t.observe_bytes(L_LAYOUT, &encode_layout(layout));
        let root = t.read_digest(L_ROOT)?;
        Ok(HidingCommitment {
            root,
            layout: layout.to_vec(),
        })
    }

    fn open(
        &self,
        data: &HidingProverData<C>,
        claims: &[Claim<C::EF>],
        t: &mut ProverTranscript<C::F>,
    ) -> Result<(), PcsError> {
        let layout = &data.commitment.layout;
        Self::check_claims(layout, claims)?;
        if claims.is_empty() {
            return Ok(());
        }
        let num_vars = self.stacked_vars(layout)?;
        let mut slot = data.inner.lock().map_err(|_| PcsError::AlreadyOpened)?;
        let points = Self::stacked_points(layout, claims, num_vars);
        let inner = slot.take().ok_or(PcsError::AlreadyOpened)?;
        drop(slot);
        let scheme = self.scheme(num_vars)?;
        // The proof goes into a throwaway transcript first: the misuse check below needs the
        // evaluations p3-whir computes (one pass over the stack per claim; computing them here
        // as well would double that), and nothing may be written before it passes.
        let mut scratch = t.clone();
        let seed = Self::observe_claims(claims, &mut scratch);
        let mut ch = challenger_from_seed(seed);
        scheme.observe_commitment(&MerkleCap::new(vec![data.commitment.root]), &mut ch);
        let mut proof = scheme
            .open(inner, points, &mut ch)
            .map_err(|e| PcsError::Config {
                num_vars,
                reason: format!("{e:?}"),
            })?;
        // Misuse check: every claimed value must be the evaluation (the data is consumed either
        // way: one commitment, one opening).
        if let Some(index) = proof
            .evals
            .iter()
            .zip(claims)
            .position(|(e, c)| *e != c.value)
        {
            return Err(PcsError::ClaimValue { index });
        }
        *t = scratch;
        // The values are the caller's claims: only the proof proper goes on the wire.
        proof.evals.clear();
        let bytes = bincode::Options::serialize(wire(), &proof).map_err(|_| PcsError::Config {
            num_vars,
            reason: "proof serialization failed".into(),
        })?;
        t.write_bytes(L_PROOF, &bytes);
        Ok(())
    }

    fn verify(
        &self,
        c: &HidingCommitment,
        claims: &[Claim<C::EF>],
        t: &mut VerifierTranscript<'_, C::F>,
    ) -> Result<(), PcsError> {
        Self::check_claims(&c.layout, claims)?;
        if claims.is_empty() {
            return Ok(());
        }
        let num_vars = self.stacked_vars(&c.layout)?;
        let scheme = self.scheme(num_vars)?;
        let seed = Self::observe_claims(claims, t);
        let mut ch = challenger_from_seed(seed);
        let bytes = t.read_bytes(L_PROOF, MAX_PROOF_BYTES)?;
        let mut proof: ZkProof<C> =
            bincode::Options::deserialize(wire(), bytes).map_err(|_| PcsError::ProofDecode {
                reason: "not an HVZK-WHIR proof",
            })?;
        // One proof, one encoding: reject trailing bytes and non-canonical encodings, and a
        // proof that carries values (they come from the claims).
        if !proof.evals.is_empty()
            || bincode::Options::serialize(wire(), &proof).ok().as_deref() != Some(bytes)
        {
            return Err(PcsError::ProofDecode {
                reason: "non-canonical encoding",
            });
        }
        proof.evals = claims.iter().map(|c| c.value).collect();
        let points = Self::stacked_points(&c.layout, claims, num_vars);
        let cap = MerkleCap::new(vec![c.root]);
        // p3-whir checks shapes before indexing; the unwind guard is defence in depth so a
        // hostile proof can at worst be rejected, never crash the verifier.
        let result = catch_unwind(AssertUnwindSafe(|| {
            P3Pcs::<C::EF, WhirChallenger<C::F>>::verify(&scheme, &cap, &proof, &mut ch, points)
        }));
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(PcsError::WhirRejected {
                reason: format!("{e:?}"),
            }),
            Err(_) => Err(PcsError::WhirRejected {
                reason: "p3-whir hiding verifier panicked".into(),
            }),
        }
    }
}

impl<C: FieldConfig> std::fmt::Debug for HidingPcs<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HidingPcs")
            .field("params", &self.params)
            .finish()
    }
}
