//! [`WhirPcs`]: the [`MultilinearPcs`] implementation on p3-whir's stacked prescribed-point PCS.

use std::panic::{catch_unwind, AssertUnwindSafe};

use p3_blake3::Blake3;
use p3_commit::MultilinearPcs as P3Pcs;
use p3_dft::Radix2DFTSmallBatch;
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing, PrimeField64};
use p3_matrix::dense::RowMajorMatrix;
use p3_merkle_tree::MerkleTreeMmcs;
use p3_multilinear_util::point::Point;
use p3_sumcheck::layout::{observe_commitment, Layout, SuffixProver, Table};
use p3_sumcheck::{OpeningBatch, OpeningProtocol, PrescribedPointPcs, TableShape, TableSpec};
use p3_symmetric::{CompressionFunctionFromHasher, MerkleCap, SerializingHasher};
use p3_whir::{PcsProof, WhirConfig, WhirConfigError, WhirProof, WhirProver};
use zkinfer_field::FieldConfig;
use zkinfer_poly::eq_eval;
use zkinfer_sumcheck::EqTerm;
use zkinfer_transcript::{Duplex, ProverTranscript, VerifierTranscript};

use crate::challenger::{challenger_from_seed, WhirChallenger};
use crate::{Claim, MultilinearPcs, PcsError, WhirParams};

/// p3-whir's configuration for field configuration `C`.
type Config<C> = WhirConfig<
    <C as FieldConfig>::EF,
    <C as FieldConfig>::F,
    WhirChallenger<<C as FieldConfig>::F>,
>;

/// Blake3 Merkle tree over base-field rows (binary, 32-byte digests, cap height 0).
pub type WhirMmcs<F> = MerkleTreeMmcs<
    F,
    u8,
    SerializingHasher<Blake3>,
    CompressionFunctionFromHasher<Blake3, 2, 32>,
    2,
    32,
>;
type Dft<F> = Radix2DFTSmallBatch<F>;
type Lay<C> = SuffixProver<<C as FieldConfig>::F, <C as FieldConfig>::EF>;
type Inner<C> = WhirProver<
    <C as FieldConfig>::EF,
    <C as FieldConfig>::F,
    Dft<<C as FieldConfig>::F>,
    WhirMmcs<<C as FieldConfig>::F>,
    WhirChallenger<<C as FieldConfig>::F>,
    Lay<C>,
>;
type InnerData<C> = p3_whir::WhirProverData<
    <C as FieldConfig>::F,
    <C as FieldConfig>::EF,
    WhirMmcs<<C as FieldConfig>::F>,
    Lay<C>,
>;
type InnerProof<C> =
    WhirProof<<C as FieldConfig>::F, <C as FieldConfig>::EF, WhirMmcs<<C as FieldConfig>::F>>;

/// Largest number of variables of one committed polynomial (and of the stack).
pub const MAX_VARS: usize = 32;
/// Largest WHIR proof the verifier reads (honest proofs are ≤ ~200 KB at 2^24).
pub const MAX_PROOF_BYTES: usize = 8 << 20;

// Transcript labels.
const L_LAYOUT: &str = "pcs.layout";
const L_ROOT: &str = "pcs.root";
const L_POLYS: &str = "pcs.claim_polys";
const L_POINTS: &str = "pcs.claim_points";
const L_VALUES: &str = "pcs.claim_values";
const L_GAMMA: &str = "pcs.batch_gamma";
const L_STACKED: &str = "pcs.stacked_eval";
const L_SEED: &str = "pcs.whir_seed";
const L_PROOF: &str = "pcs.whir_proof";

/// A WHIR commitment: the Merkle root of the stacked codeword plus the public layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhirCommitment {
    /// Blake3 Merkle root.
    pub root: [u8; 32],
    /// Number of variables of each committed polynomial, in commit order.
    pub layout: Vec<usize>,
}

/// What the prover keeps from `commit`: the stacked polynomial `P` (held once, in p3's
/// layout), its codeword and Merkle tree.
pub struct WhirProverData<C: FieldConfig> {
    inner: InnerData<C>,
    commitment: WhirCommitment,
}

impl<C: FieldConfig> WhirProverData<C> {
    /// The commitment these data open.
    pub fn commitment(&self) -> &WhirCommitment {
        &self.commitment
    }

    /// The stacked polynomial `P` (2^K evaluations), for the claim-batching sumcheck.
    fn stacked(&self) -> &[C::F] {
        self.inner.table(0).poly(0).into_slice()
    }
}

/// Multilinear PCS on p3-whir: many polynomials stacked into one WHIR commitment, any number of
/// (polynomial, point) claims opened by one WHIR proof. See the crate docs for the protocol and
/// its security.
#[derive(Clone, Debug)]
pub struct WhirPcs<C: FieldConfig> {
    params: WhirParams,
    dft: Dft<C::F>,
    mmcs: WhirMmcs<C::F>,
}

impl<C: FieldConfig> WhirPcs<C>
where
    C::F: Ord,
{
    /// A PCS with the given parameters.
    pub fn new(params: WhirParams) -> Self {
        Self {
            params,
            dft: Dft::default(),
            mmcs: mmcs(),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &WhirParams {
        &self.params
    }

    fn stacked_vars(&self, layout: &[usize]) -> usize {
        stacked_vars(layout, self.params.fold)
    }

    /// p3's configuration for `num_vars` stacked variables: the query grinding budget starts at
    /// `pow_bits` and is raised to what the folding steps need (at most `max_pow_bits`).
    fn config(&self, num_vars: usize) -> Result<Config<C>, PcsError> {
        let cfg_err = |reason: String| PcsError::Config { num_vars, reason };
        let mut budget = self.params.pow_bits;
        loop {
            let protocol = self
                .params
                .protocol(num_vars, budget)
                .ok_or_else(|| cfg_err("invalid folding schedule".into()))?;
            match WhirConfig::new(num_vars, protocol) {
                Ok(config) => return Ok(config),
                Err(WhirConfigError::PowBitsExceedBudget { required, .. })
                    if required > budget && required <= self.params.max_pow_bits =>
                {
                    budget = required;
                }
                Err(e) => return Err(cfg_err(format!("{e:?}"))),
            }
        }
    }

    fn inner(&self, num_vars: usize) -> Result<Inner<C>, PcsError> {
        let config = self.config(num_vars)?;
        Ok(WhirProver::new(config, self.dft.clone(), self.mmcs.clone()))
    }

    /// The most proof-of-work bits any WHIR step grinds for a commitment with this layout.
    pub fn max_pow_bits(&self, layout: &[usize]) -> Result<usize, PcsError> {
        Ok(self.config(self.stacked_vars(layout))?.max_pow_bits())
    }

    /// The composed (union-bound) soundness of one opening of `num_claims` claims on a
    /// commitment with this layout, as computed by p3-whir's `prescribed_security`, in bits.
    /// Excludes hash collisions and the Fiat–Shamir query loss (see the crate docs).
    pub fn composed_security_bits(
        &self,
        layout: &[usize],
        num_claims: usize,
    ) -> Result<f64, PcsError> {
        let num_vars = self.stacked_vars(layout);
        let inner = self.inner(num_vars)?;
        let sec = inner
            .prescribed_security(&Self::protocol(num_vars))
            .ok_or_else(|| PcsError::Config {
                num_vars,
                reason: "no security report".into(),
            })?;
        // Union bound with the claim batching: γ (a polynomial of degree #claims − 1 in γ)
        // and the degree-2 sumcheck over K variables.
        let ef_bits = ((C::EF::DIMENSION as f64) * (C::F::ORDER_U64 as f64).log2()).floor();
        let batch = ((num_claims.max(1) - 1 + 2 * num_vars) as f64).log2() - ef_bits;
        let whir = -sec.error().bits();
        let total = 2f64.powf(whir) + 2f64.powf(batch);
        Ok(-total.log2())
    }

    fn check_claims(&self, layout: &[usize], claims: &[Claim<C::EF>]) -> Result<(), PcsError> {
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

    /// p3's opening protocol: one table (the stack `P`), one claim on it.
    fn protocol(num_vars: usize) -> OpeningProtocol {
        OpeningProtocol::new(vec![TableSpec::new(
            TableShape::new(num_vars, 1),
            vec![OpeningBatch::new(vec![0], vec![])],
        )])
    }

    /// p3's point for our little-endian `r` (p3 points are big-endian: coordinate 0 is the
    /// most significant index bit).
    fn p3_point(r: &[C::EF]) -> Point<C::EF> {
        Point::new(r.iter().rev().copied().collect())
    }

    /// Binds the claims and draws the batching challenge γ (both sides).
    fn observe_claims(&self, claims: &[Claim<C::EF>], t: &mut impl Duplex<C::F>) -> C::EF {
        let (polys, points, values) = encode_claims(claims);
        t.observe_bytes(L_POLYS, &polys);
        t.observe_ext(L_POINTS, &points);
        t.observe_ext(L_VALUES, &values);
        t.sample_ext(L_GAMMA)
    }

    fn challenger(seed: [u8; 32], root: [u8; 32]) -> WhirChallenger<C::F> {
        let mut ch = challenger_from_seed(seed);
        observe_commitment::<C::F, _, _>(&mut ch, MerkleCap::<C::F, [u8; 32]>::new(vec![root]));
        ch
    }

    /// [`MultilinearPcs::open`] consuming the prover data: no copy of the codeword and tree
    /// (use it for a commitment opened once, e.g. a proof's witness or a streamed weight group).
    pub fn open_owned(
        &self,
        data: WhirProverData<C>,
        claims: &[Claim<C::EF>],
        t: &mut ProverTranscript<C::F>,
    ) -> Result<(), PcsError> {
        self.open_with(data, claims, t, |d| d.inner)
    }

    /// [`MultilinearPcs::commit`] for polynomials of `2^layout[i]` entries that `fill(i, slot)`
    /// writes straight into their place in the stack (`slot` zeroed, of that length): the
    /// caller need not hold a second copy of them (a streamed weight group of 2^26 entries
    /// saves 512 MiB).
    pub fn commit_with(
        &self,
        layout: &[usize],
        mut fill: impl FnMut(usize, &mut [C::F]),
    ) -> Result<(WhirCommitment, WhirProverData<C>), PcsError> {
        check_layout(layout)?;
        let num_vars = check_stack(self.stacked_vars(layout))?;
        let inner = self.inner(num_vars)?;
        let mut stacked = vec![C::F::ZERO; 1 << num_vars];
        for (i, (&k, &o)) in layout.iter().zip(&stack_offsets(layout)).enumerate() {
            fill(i, &mut stacked[o..o + (1 << k)]);
        }
        let width = stacked.len();
        let table = Table::new(RowMajorMatrix::new(stacked, width));
        let witness = Lay::<C>::new_witness(vec![table], self.params.fold);
        debug_assert_eq!(witness.num_variables(), num_vars);
        // Commit only absorbs the root into this throwaway challenger; openings re-bind it.
        let mut ch = challenger_from_seed([0; 32]);
        let (cap, data) = P3Pcs::<C::EF, WhirChallenger<C::F>>::commit(&inner, witness, &mut ch)
            .map_err(|e| PcsError::Config {
                num_vars,
                reason: format!("{e:?}"),
            })?;
        let root = *cap.roots().first().ok_or(PcsError::Config {
            num_vars,
            reason: "empty Merkle cap".into(),
        })?;
        let commitment = WhirCommitment {
            root,
            layout: layout.to_vec(),
        };
        Ok((
            commitment.clone(),
            WhirProverData {
                inner: data,
                commitment,
            },
        ))
    }

    fn open_with<D: std::borrow::Borrow<WhirProverData<C>>>(
        &self,
        data: D,
        claims: &[Claim<C::EF>],
        t: &mut ProverTranscript<C::F>,
        take: impl FnOnce(D) -> InnerData<C>,
    ) -> Result<(), PcsError> {
        let layout = &data.borrow().commitment.layout.clone();
        self.check_claims(layout, claims)?;
        if claims.is_empty() {
            return Ok(());
        }
        let num_vars = self.stacked_vars(layout);
        let inner = self.inner(num_vars)?;
        let gamma = self.observe_claims(claims, t);
        // The batched weight W (see `batched_weight_at`): one scaled eq term per claim, never
        // materialised (a 2^26-entry stack would need 1 GiB for W alone).
        let offsets = stack_offsets(layout);
        let terms: Vec<EqTerm<C::EF>> = claims
            .iter()
            .zip(gamma.powers())
            .map(|(c, g)| sub_cube_term(g, &c.point, offsets[c.poly]))
            .collect();
        // Σ_x P(x)·W(x) = Σ_j γ^j·v_j → one claim P(r) = s.
        let target = batched_value(claims, gamma);
        let Some(out) =
            zkinfer_sumcheck::prove_eq_batch(target, data.borrow().stacked(), &terms, t)
        else {
            // Misuse: name the first claim whose value is not the evaluation.
            let index = claims
                .iter()
                .position(|c| {
                    let o = offsets[c.poly];
                    zkinfer_poly::evaluate(
                        &data.borrow().stacked()[o..o + (1 << c.point.len())],
                        &c.point,
                    ) != c.value
                })
                .unwrap_or(0);
            return Err(PcsError::ClaimValue { index });
        };
        let s_r = out.evals[0];
        t.write_ext(L_STACKED, &[s_r]);
        let seed = t.sample_seed(L_SEED);
        let mut ch = Self::challenger(seed, data.borrow().commitment.root);
        let proof = inner
            .open_at(
                take(data),
                &Self::protocol(num_vars),
                &[Self::p3_point(&out.point)],
                &mut ch,
            )
            .map_err(|e| PcsError::Config {
                num_vars,
                reason: format!("{e:?}"),
            })?;
        debug_assert!(proof
            .evals
            .first()
            .is_some_and(|e| e.current().first() == Some(&s_r)));
        // The values are the caller's claims: only the WHIR proof proper goes on the wire.
        let bytes = postcard::to_allocvec(&proof.whir).map_err(|_| PcsError::Config {
            num_vars,
            reason: "proof serialization failed".into(),
        })?;
        t.write_bytes(L_PROOF, &bytes);
        Ok(())
    }
}

/// The term `coeff·eq(point, x − offset)` with its trailing coordinates that are exactly 0 or
/// 1 moved into the offset: `eq(z ‖ b, x) = eq(z, x_low)·[x_high = b]` for Boolean `b`, so a
/// claim on one row of a table (an embedding lookup's) costs the claim batching that row's
/// entries, not the table's. The same weight, so the same messages.
fn sub_cube_term<EF: p3_field::Field>(coeff: EF, point: &[EF], offset: usize) -> EqTerm<EF> {
    let mut k = point.len();
    let mut offset = offset;
    while let Some(&z) = point.get(k.wrapping_sub(1)) {
        if z == EF::ONE {
            offset += 1 << (k - 1);
        } else if z != EF::ZERO {
            break;
        }
        k -= 1;
    }
    EqTerm {
        coeff,
        point: point[..k].to_vec(),
        offset,
    }
}

/// A layout's polynomials: at least one, none over [`MAX_VARS`] variables.
fn check_layout(layout: &[usize]) -> Result<(), PcsError> {
    if layout.is_empty() {
        return Err(PcsError::EmptyCommitment);
    }
    match layout.iter().position(|&k| k > MAX_VARS) {
        Some(index) => Err(PcsError::PolyShape {
            index,
            len: usize::MAX,
            max_vars: MAX_VARS,
        }),
        None => Ok(()),
    }
}

/// `num_vars` if a stack of that many variables is within [`MAX_VARS`].
pub(crate) fn check_stack(num_vars: usize) -> Result<usize, PcsError> {
    if num_vars > MAX_VARS {
        return Err(PcsError::PolyShape {
            index: 0,
            len: 1usize.checked_shl(num_vars as u32).unwrap_or(usize::MAX),
            max_vars: MAX_VARS,
        });
    }
    Ok(num_vars)
}

/// The Blake3 Merkle tree both schemes commit with.
pub(crate) fn mmcs<F: PrimeField64>() -> WhirMmcs<F> {
    WhirMmcs::new(
        SerializingHasher::new(Blake3),
        CompressionFunctionFromHasher::new(Blake3),
        0,
    )
}

/// `K`: the stack holds every polynomial, and at least one fold's worth of variables.
pub(crate) fn stacked_vars(layout: &[usize], fold: usize) -> usize {
    let total: u128 = layout
        .iter()
        .map(|&k| 1u128 << k.min(100))
        .fold(0u128, u128::saturating_add);
    let bits = (128 - total.saturating_sub(1).leading_zeros()) as usize;
    bits.max(fold)
}

pub(crate) fn encode_claims<EF: Clone>(claims: &[Claim<EF>]) -> (Vec<u8>, Vec<EF>, Vec<EF>) {
    let polys = claims
        .iter()
        .flat_map(|c| (c.poly as u64).to_le_bytes())
        .collect();
    let points = claims
        .iter()
        .flat_map(|c| c.point.iter().cloned())
        .collect();
    let values = claims.iter().map(|c| c.value.clone()).collect();
    (polys, points, values)
}

/// Where each polynomial starts in the stack: sorted by size (largest first, ties in commit
/// order) and laid back to back, so each starts at a multiple of its own size and
/// `f_i(z) = P(z, sel_i)` with the boolean selector `sel_i = offset_i / 2^{k_i}` on the high
/// `K − k_i` variables.
pub(crate) fn stack_offsets(layout: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..layout.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(layout[i]));
    let mut offsets = vec![0; layout.len()];
    let mut at = 0usize;
    for i in order {
        offsets[i] = at;
        at = at.saturating_add(1usize.checked_shl(layout[i] as u32).unwrap_or(usize::MAX));
    }
    offsets
}

/// `Σ_j γ^j·v_j`: the batched claim.
fn batched_value<EF: p3_field::Field>(claims: &[Claim<EF>], gamma: EF) -> EF {
    claims
        .iter()
        .zip(gamma.powers())
        .map(|(c, g)| g * c.value)
        .sum()
}

/// The verifier's `W(r) = Σ_j γ^j·eq(z_j, r_low)·eq(sel_j, r_high)` for the batched weight
/// `W(x) = Σ_j γ^j·eq(z_j, x_low)·[x_high = sel_j]`, in O(Σ_j K) operations.
fn batched_weight_at<EF: p3_field::Field>(
    claims: &[Claim<EF>],
    offsets: &[usize],
    gamma: EF,
    r: &[EF],
) -> EF {
    claims
        .iter()
        .zip(gamma.powers())
        .map(|(c, g)| {
            let k = c.point.len();
            let sel = offsets[c.poly] >> k;
            let high: EF = r[k..]
                .iter()
                .enumerate()
                .map(|(b, &ri)| {
                    if (sel >> b) & 1 == 1 {
                        ri
                    } else {
                        EF::ONE - ri
                    }
                })
                .product();
            g * eq_eval(&c.point, &r[..k]) * high
        })
        .sum()
}

pub(crate) fn encode_layout(layout: &[usize]) -> Vec<u8> {
    layout
        .iter()
        .flat_map(|&k| (k as u32).to_le_bytes())
        .collect()
}

impl<C: FieldConfig> MultilinearPcs<C::F, C::EF> for WhirPcs<C>
where
    C::F: Ord,
{
    type ProverData = WhirProverData<C>;
    type Commitment = WhirCommitment;

    fn commit(&self, polys: &[&[C::F]]) -> Result<(WhirCommitment, WhirProverData<C>), PcsError> {
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
        self.commit_with(&layout, |i, slot| slot.copy_from_slice(polys[i]))
    }

    fn write_commitment(&self, c: &WhirCommitment, t: &mut ProverTranscript<C::F>) {
        t.observe_bytes(L_LAYOUT, &encode_layout(&c.layout));
        t.write_digest(L_ROOT, &c.root);
    }

    fn read_commitment(
        &self,
        layout: &[usize],
        t: &mut VerifierTranscript<'_, C::F>,
    ) -> Result<WhirCommitment, PcsError> {
        check_layout(layout)?;
        t.observe_bytes(L_LAYOUT, &encode_layout(layout));
        let root = t.read_digest(L_ROOT)?;
        Ok(WhirCommitment {
            root,
            layout: layout.to_vec(),
        })
    }

    fn open(
        &self,
        data: &WhirProverData<C>,
        claims: &[Claim<C::EF>],
        t: &mut ProverTranscript<C::F>,
    ) -> Result<(), PcsError> {
        // p3's `open_at` consumes its data (it records claims into the layout): a borrowed
        // commitment is cloned (codeword and tree included); see [`WhirPcs::open_owned`].
        self.open_with(data, claims, t, |d| d.inner.clone())
    }

    fn verify(
        &self,
        c: &WhirCommitment,
        claims: &[Claim<C::EF>],
        t: &mut VerifierTranscript<'_, C::F>,
    ) -> Result<(), PcsError> {
        self.check_claims(&c.layout, claims)?;
        if claims.is_empty() {
            return Ok(());
        }
        let num_vars = self.stacked_vars(&c.layout);
        let inner = self.inner(num_vars)?;
        let gamma = self.observe_claims(claims, t);
        let sc = zkinfer_sumcheck::verify(batched_value(claims, gamma), num_vars, 2, t).map_err(
            |e| PcsError::BatchRejected {
                reason: e.to_string(),
            },
        )?;
        let s_r = t.read_ext(L_STACKED, 1)?[0];
        let w_r = batched_weight_at(claims, &stack_offsets(&c.layout), gamma, &sc.point);
        if s_r * w_r != sc.value {
            return Err(PcsError::BatchRejected {
                reason: "final check P(r)·W(r) failed".into(),
            });
        }
        let seed = t.sample_seed(L_SEED);
        let mut ch = Self::challenger(seed, c.root);
        let bytes = t.read_bytes(L_PROOF, MAX_PROOF_BYTES)?;
        let whir: InnerProof<C> =
            postcard::from_bytes(bytes).map_err(|_| PcsError::ProofDecode {
                reason: "not a postcard WHIR proof",
            })?;
        // One proof, one encoding: reject trailing bytes and non-canonical integers/elements.
        if postcard::to_allocvec(&whir).ok().as_deref() != Some(bytes) {
            return Err(PcsError::ProofDecode {
                reason: "non-canonical encoding",
            });
        }
        let evals = vec![OpeningBatch::new(vec![s_r], vec![])];
        let proof: PcsProof<C::F, C::EF, WhirMmcs<C::F>> = PcsProof { whir, evals };
        let cap = MerkleCap::new(vec![c.root]);
        // p3-whir checks proof shapes before indexing; the unwind guard is defence in depth so a
        // hostile proof can at worst be rejected, never crash the verifier.
        let result = catch_unwind(AssertUnwindSafe(|| {
            inner.verify_at(
                &cap,
                &proof,
                &Self::protocol(num_vars),
                &[Self::p3_point(&sc.point)],
                &mut ch,
            )
        }));
        match result {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(PcsError::WhirRejected {
                reason: format!("{e:?}"),
            }),
            Err(_) => Err(PcsError::WhirRejected {
                reason: "p3-whir verifier panicked".into(),
            }),
        }
    }
}
