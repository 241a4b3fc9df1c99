//! Masked sumcheck: the round messages reveal nothing beyond the final evaluation (Libra's
//! masking, with per-variable mask values that may be opened one by one).
//!
//! # Statement
//! As in [`crate::prove`]: `H = Σ_{x ∈ {0,1}^n} comp(f(x))`, degree `d`.
//!
//! # The mask
//! Before the sumcheck the prover commits, with a *hiding* PCS (the caller's job), to
//! `g(x) = Σ_{l<n} s_l(x_l)` with `s_l(X) = Σ_{k≤d} a_{l,k}·X^k` and every `a_{l,k}` uniform
//! in `EF` — constant terms included, which is what lets each `s_l(r_l)` be opened on its own
//! (below). The coefficients are stored as one base-field table ([`Mask::table`]) of
//! `2^{b+e+m}` entries, `b = ⌈log2(d+1)⌉`, `e = log2 [EF:F]`, `m = ⌈log2 n⌉`: entry
//! `k + 2^b·(c + 2^e·l)` is basis coordinate `c` of `a_{l,k}` (unused slots zero). With
//! `t ↦ t/(1+t)` applied to the powers `r^{2^j}` and `X^{2^j}` of the power basis,
//! `s_l(r) = Π_j (1 + r^{2^j}) · Π_i (1 + X^{2^i}) · Â(z(r), w, bits(l))` — one multilinear
//! point evaluation of the committed table per variable ([`mask_claims`]).
//!
//! # Protocol
//! 1. The statement is absorbed as in the plain sumcheck; the prover writes
//!    `G = Σ_x g(x) = 2^{n−1}·Σ_l (s_l(0) + s_l(1))`.
//! 2. The verifier samples `ρ ∈ EF`.
//! 3. The plain rounds run on `comp(f) + ρ·g` with claim `H + ρ·G`; round `j`'s mask part is
//!    `2^{n−j−1}·(Σ_{l<j} s_l(r_l) + s_j(X)) + 2^{n−j−2}·Σ_{l>j} (s_l(0) + s_l(1))`.
//! 4. The prover writes `v_l = s_l(r_l)` for every `l`. The verifier's reduced claim is
//!    `comp(f(r)) = e − ρ·Σ_l v_l` (`e` the last round's value), plus `n` mask claims settled
//!    by one opening of the hiding mask commitment.
//!
//! # Soundness
//! `g` is bound before `ρ`: if `H` is false, `Σ(comp(f) + ρg) = H + ρG` for at most one `ρ`
//! (1/|EF|). The rounds are a sumcheck of a polynomial of individual degree ≤ `2^b − 1`
//! (a dishonest table may fill the unused slots), so `n·max(d, 2^b − 1)/|EF|` more, plus the
//! soundness error of the mask commitment's opening. Completeness fails only if some
//! `1 + r_l^{2^j}` vanishes (probability ≤ `n·2^b/|EF|`); the verifier then rejects with
//! [`SumcheckError::MaskPoint`].
//!
//! # Zero knowledge (given `comp(f(r))`)
//! The view is `G`, `ρ`, the round messages, `r`, and the `v_l`. As functions of the mask,
//! round `l` reveals `y_{l,k} = f_l[k] + ρ·2^{n−l−1}·a_{l,k}` for `k = 1 … d` (`f_l[k]`: the
//! coefficients of the unmasked round polynomial; the constant term follows from the running
//! claim), and `v_l = a_{l,0} + Σ_{k≥1} a_{l,k}·r_l^k`. These `n(d+1)` forms are triangular in
//! the `n(d+1)` coefficients, so they are jointly uniform for any `f`. `G` is the one
//! remaining form; the difference between its value for two witnesses telescopes to
//! `2^{n−1}·ρ^{-1}·(2·Δcomp(f(r)) − 2^{1−n}·ΔH)`, which is zero when the sum `H` and the final
//! value `comp(f(r))` agree. So a simulator holding `H` and `comp(f(r))` reproduces the
//! distribution exactly; `zk_tests::equal_views_*` checks the bijection between masks on
//! concrete instances. Hiding `comp(f(r))` itself is the job of the blinded evaluations
//! (docs/ZK.md step 4), and the mask values must be opened by a hiding PCS, which reveals only
//! the claimed values.

use std::marker::PhantomData;

use zkinfer_field::p3_field::{BasedVectorSpace, ExtensionField, Field, PrimeField64};
use zkinfer_poly::{bind_low, bind_low_in_place};
use zkinfer_transcript::{ProverTranscript, VerifierTranscript};

use crate::composition::Composition;
use crate::error::SumcheckError;
use crate::prover::{open_batch, round_message, Batch, Instance, Mle};
use crate::verifier::{batch_prelude, interpolate_at, rounds, SumcheckClaim};

/// Largest number of variables of a masked sumcheck (powers `2^{n−1}` stay in a `u64`).
pub const MAX_MASKED_VARS: usize = 60;

/// Largest round-polynomial degree of a masked sumcheck (the walk's comparisons reach 65).
pub const MAX_MASKED_DEGREE: usize = 1024;

/// The shape of a mask: number of sumcheck variables and round-polynomial degree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaskShape {
    vars: usize,
    degree: usize,
}

impl MaskShape {
    /// A shape for `vars` variables and degree `degree`; both must be ≥ 1 (a sumcheck without
    /// rounds reveals its claim and has nothing to mask) and `vars ≤ MAX_MASKED_VARS`.
    pub fn new(vars: usize, degree: usize) -> Result<Self, SumcheckError> {
        if vars == 0 || degree == 0 || vars > MAX_MASKED_VARS || degree > MAX_MASKED_DEGREE {
            return Err(SumcheckError::MaskShape { vars, degree });
        }
        Ok(Self { vars, degree })
    }

    /// Number of sumcheck variables.
    pub fn vars(&self) -> usize {
        self.vars
    }

    /// Round-polynomial degree.
    pub fn degree(&self) -> usize {
        self.degree
    }

    fn coeff_bits(&self) -> usize {
        (self.degree + 1).next_power_of_two().trailing_zeros() as usize
    }

    fn row_bits(&self) -> usize {
        self.vars.next_power_of_two().trailing_zeros() as usize
    }

    /// Number of variables of the committed table for extension `EF` of `F`.
    pub fn table_vars<F: Field, EF: BasedVectorSpace<F>>(&self) -> usize {
        self.coeff_bits() + ext_bits::<F, EF>() + self.row_bits()
    }
}

fn ext_bits<F: Field, EF: BasedVectorSpace<F>>() -> usize {
    let dim = EF::DIMENSION;
    assert!(
        dim.is_power_of_two(),
        "masked sumcheck: extension degree must be a power of two"
    );
    dim.trailing_zeros() as usize
}

/// A mask `g(x) = Σ_l s_l(x_l)` as the base-field table the caller commits (hiding).
#[derive(Clone, Debug)]
pub struct Mask<F, EF> {
    shape: MaskShape,
    table: Vec<F>,
    _ext: PhantomData<EF>,
}

impl<F: Field, EF: ExtensionField<F>> Mask<F, EF> {
    /// A mask whose used coefficients are drawn from `sample` (which must be uniform and
    /// secret for zero knowledge: a CSPRNG, never the transcript).
    pub fn sample(shape: MaskShape, mut sample: impl FnMut() -> F) -> Self {
        let mut table = F::zero_vec(1 << shape.table_vars::<F, EF>());
        for l in 0..shape.vars {
            for c in 0..EF::DIMENSION {
                for k in 0..=shape.degree {
                    table[index::<F, EF>(&shape, l, c, k)] = sample();
                }
            }
        }
        Self {
            shape,
            table,
            _ext: PhantomData,
        }
    }

    /// A mask from a given table (a table of `2^{table_vars}` entries; unused slots should be
    /// zero, or the round polynomials exceed the degree and the proof fails).
    ///
    /// # Panics
    /// If the table has the wrong length (caller misuse).
    pub fn from_table(shape: MaskShape, table: Vec<F>) -> Self {
        assert_eq!(
            table.len(),
            1 << shape.table_vars::<F, EF>(),
            "mask table size"
        );
        Self {
            shape,
            table,
            _ext: PhantomData,
        }
    }

    /// The shape.
    pub fn shape(&self) -> MaskShape {
        self.shape
    }

    /// The table to commit.
    pub fn table(&self) -> &[F] {
        &self.table
    }

    /// Coefficient `a_{l,k}`.
    pub fn coeff(&self, l: usize, k: usize) -> EF {
        EF::from_basis_coefficients_fn(|c| self.table[index::<F, EF>(&self.shape, l, c, k)])
    }

    /// Sets `a_{l,k}` (tests build the simulator's bijection with it).
    #[cfg(test)]
    pub(crate) fn set_coeff(&mut self, l: usize, k: usize, value: EF) {
        for (c, &v) in value.as_basis_coefficients_slice().iter().enumerate() {
            self.table[index::<F, EF>(&self.shape, l, c, k)] = v;
        }
    }

    /// `s_l(x)`.
    pub fn eval_var(&self, l: usize, x: EF) -> EF {
        let top = (1usize << self.shape.coeff_bits()) - 1;
        (0..=top)
            .rev()
            .fold(EF::ZERO, |acc, k| acc * x + self.coeff(l, k))
    }
}

fn index<F: Field, EF: BasedVectorSpace<F>>(s: &MaskShape, l: usize, c: usize, k: usize) -> usize {
    k + (c + (l << ext_bits::<F, EF>())) * (1 << s.coeff_bits())
}

/// The point of the mask table at which `s_l(r)` is opened, and the scale: `s_l(r) =
/// scale·Â(point)`. `None` when some `1 + r^{2^j}` is zero (negligible; see the module docs).
pub fn mask_point<F: Field, EF: ExtensionField<F>>(
    shape: &MaskShape,
    l: usize,
    r: EF,
) -> Option<(Vec<EF>, EF)> {
    let mut point = Vec::with_capacity(shape.table_vars::<F, EF>());
    let mut scale = EF::ONE;
    let mut lift = |t: EF, point: &mut Vec<EF>| -> Option<()> {
        let s = EF::ONE + t;
        let inv = s.try_inverse()?;
        scale *= s;
        point.push(t * inv);
        Some(())
    };
    let mut t = r;
    for _ in 0..shape.coeff_bits() {
        lift(t, &mut point)?;
        t = t.square();
    }
    let mut x = EF::from_basis_coefficients_fn(|i| if i == 1 { F::ONE } else { F::ZERO });
    for _ in 0..ext_bits::<F, EF>() {
        lift(x, &mut point)?;
        x = x.square();
    }
    for bit in 0..shape.row_bits() {
        point.push(if (l >> bit) & 1 == 1 {
            EF::ONE
        } else {
            EF::ZERO
        });
    }
    Some((point, scale))
}

/// The `n` claims `Â(point_l) = v_l / scale_l` on the mask table that settle `v_l = s_l(r_l)`.
pub fn mask_claims<F: Field, EF: ExtensionField<F>>(
    shape: &MaskShape,
    point: &[EF],
    mask_values: &[EF],
) -> Result<Vec<(Vec<EF>, EF)>, SumcheckError> {
    if point.len() != shape.vars || mask_values.len() != shape.vars {
        return Err(SumcheckError::MaskShape {
            vars: point.len(),
            degree: shape.degree,
        });
    }
    point
        .iter()
        .zip(mask_values)
        .enumerate()
        .map(|(l, (&r, &v))| {
            let (p, scale) =
                mask_point::<F, EF>(shape, l, r).ok_or(SumcheckError::MaskPoint { round: l })?;
            // scale ≠ 0: it is a product of the non-zero factors checked in `mask_point`.
            Ok((p, v * scale.inverse()))
        })
        .collect()
}

/// What the masked prover ends with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskedOutput<EF> {
    /// `r_0 … r_{n−1}`.
    pub point: Vec<EF>,
    /// `f_i(r)` for every input MLE, in input order (what the caller settles next).
    pub evals: Vec<EF>,
    /// Batching coefficients (`[1]` for a single claim).
    pub coeffs: Vec<EF>,
    /// `v_l = s_l(r_l)`, written to the transcript; settled by [`mask_claims`].
    pub mask_values: Vec<EF>,
    /// The combining challenge `ρ` (public: it is a transcript challenge).
    pub rho: EF,
}

/// The verifier's reduced claims.
#[must_use = "a sumcheck claim must be settled by the caller"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskedClaim<EF> {
    /// `comp(f(point)) = value`, the mask's share already removed.
    pub claim: SumcheckClaim<EF>,
    /// Batching coefficients (`[1]` for a single claim).
    pub coeffs: Vec<EF>,
    /// The `v_l` the prover sent; the caller settles them with [`mask_claims`] against the
    /// mask commitment.
    pub mask_values: Vec<EF>,
}

/// Proves `claim = Σ_x comp(f(x))` masked by `mask` (committed by the caller beforehand).
///
/// # Panics
/// On caller misuse: as [`crate::prove`], or a mask whose shape is not `(n, comp.degree())`.
pub fn prove_masked<F, EF>(
    claim: EF,
    mles: Vec<Mle<'_, F, EF>>,
    comp: &Composition<EF>,
    mask: &Mask<F, EF>,
    transcript: &mut ProverTranscript<F>,
) -> MaskedOutput<EF>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    prove_batch_masked(vec![(claim, mles, comp.clone())], mask, transcript)
}

/// The masked form of [`crate::prove_batch`] (same prelude: `α` is sampled even for one
/// instance, whose coefficient is then 1).
///
/// # Panics
/// As [`crate::prove_batch`], or a mask of the wrong shape.
pub fn prove_batch_masked<F, EF>(
    instances: Vec<Instance<'_, F, EF>>,
    mask: &Mask<F, EF>,
    transcript: &mut ProverTranscript<F>,
) -> MaskedOutput<EF>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    let Batch {
        n,
        degree,
        comp,
        claim,
        mut mles,
        coeffs,
    } = open_batch(instances, transcript);
    assert_eq!(
        mask.shape(),
        MaskShape { vars: n, degree },
        "sumcheck: mask shape"
    );
    let mut rounds_mask = MaskRounds::begin(mask, transcript);
    let rho = rounds_mask.rho();
    let d = degree;
    let mut running = claim + rho * rounds_mask.sum();
    let mut point = Vec::with_capacity(n);
    for _ in 0..n {
        let mut h = round_message(&mles, &comp);
        rounds_mask.add_to_round(&mut h);
        // h(1) is not summed: it is fixed by the claim, exactly as the verifier derives it.
        h[1] = running - h[0];
        let mut msg = Vec::with_capacity(d);
        msg.push(h[0]);
        msg.extend_from_slice(&h[2..]);
        transcript.write_ext("sumcheck round", &msg);
        let r: EF = transcript.sample_ext("sumcheck challenge");
        running = interpolate_at(&h, r);
        for m in mles.iter_mut() {
            match m {
                Mle::Base(v) => *m = Mle::Ext(bind_low(v, r)),
                Mle::Ext(v) => bind_low_in_place(v, r),
            }
        }
        rounds_mask.bind(r);
        point.push(r);
    }
    let mask_values = rounds_mask.finish(transcript);
    let evals = mles.iter().map(|m| m.get(0)).collect();
    MaskedOutput {
        point,
        evals,
        coeffs,
        mask_values,
        rho,
    }
}

/// Verifies a masked sumcheck of one claim (see [`prove_masked`]).
pub fn verify_masked<F, EF>(
    claim: EF,
    shape: &MaskShape,
    transcript: &mut VerifierTranscript<'_, F>,
) -> Result<MaskedClaim<EF>, SumcheckError>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    verify_batch_masked(&[claim], shape, transcript)
}

/// Verifies a masked batch (see [`prove_batch_masked`]); `shape.degree()` is the largest
/// degree among the instances.
pub fn verify_batch_masked<F, EF>(
    claims: &[EF],
    shape: &MaskShape,
    transcript: &mut VerifierTranscript<'_, F>,
) -> Result<MaskedClaim<EF>, SumcheckError>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    if claims.is_empty() {
        return Err(SumcheckError::EmptyBatch);
    }
    let (n, degree) = (shape.vars, shape.degree);
    let (claim, coeffs) = batch_prelude(transcript, claims, n, degree);
    let g_sum: EF = transcript
        .read_ext_one("sumcheck mask sum")
        .map_err(|source| SumcheckError::Transcript { round: 0, source })?;
    let rho: EF = transcript.sample_ext("sumcheck mask rho");
    let reduced = rounds(claim + rho * g_sum, n, degree, transcript)?;
    let mask_values: Vec<EF> = transcript
        .read_ext("sumcheck mask values", n)
        .map_err(|source| SumcheckError::Transcript { round: n, source })?;
    let mask_total: EF = mask_values.iter().copied().sum();
    Ok(MaskedClaim {
        claim: SumcheckClaim {
            point: reduced.point,
            value: reduced.value - rho * mask_total,
        },
        coeffs,
        mask_values,
    })
}

/// The mask's share of a masked sumcheck's prover messages, for provers that compute the
/// unmasked round polynomial their own way (the LogUp-GKR layer prover): [`MaskRounds::begin`]
/// writes `G` and samples `ρ` (after the caller absorbed the statement, see
/// [`begin_single`]); each round, [`MaskRounds::add_to_round`] adds `ρ·m_j(t)` to the values
/// `h(0), h(1), …` of the round polynomial and [`MaskRounds::bind`] records `s_j(r_j)`;
/// [`MaskRounds::finish`] writes the `v_l`. The caller still derives `h(1)` from the masked
/// running claim `H + ρ·G` (or, equivalently, from the unmasked claim before adding).
pub struct MaskRounds<'m, F, EF> {
    mask: &'m Mask<F, EF>,
    suffix: Vec<EF>,
    rho: EF,
    past: EF,
    values: Vec<EF>,
}

impl<'m, F: PrimeField64, EF: ExtensionField<F>> MaskRounds<'m, F, EF> {
    /// Writes `G = Σ_x g(x)` and samples `ρ`.
    pub fn begin(mask: &'m Mask<F, EF>, transcript: &mut ProverTranscript<F>) -> Self {
        let n = mask.shape().vars;
        // s_l(0) + s_l(1) per variable, and the suffix sums the round messages need.
        let mut suffix = vec![EF::ZERO; n + 1];
        for l in (0..n).rev() {
            suffix[l] = suffix[l + 1] + mask.eval_var(l, EF::ZERO) + mask.eval_var(l, EF::ONE);
        }
        let g_sum = pow2::<EF>(n - 1) * suffix[0];
        transcript.write_ext("sumcheck mask sum", &[g_sum]);
        let rho: EF = transcript.sample_ext("sumcheck mask rho");
        Self {
            mask,
            suffix,
            rho,
            past: EF::ZERO,
            values: Vec::with_capacity(n),
        }
    }

    /// `ρ`.
    pub fn rho(&self) -> EF {
        self.rho
    }

    /// `G`.
    pub fn sum(&self) -> EF {
        pow2::<EF>(self.mask.shape().vars - 1) * self.suffix[0]
    }

    /// Adds `ρ·m_j(t)` to `h[t]` for every `t`, `j` the current round.
    ///
    /// # Panics
    /// After all `n` rounds were bound (caller misuse).
    pub fn add_to_round(&self, h: &mut [EF]) {
        let n = self.mask.shape().vars;
        let j = self.values.len();
        assert!(j < n, "sumcheck: mask round past the last variable");
        let outer = pow2::<EF>(n - j - 1);
        let rest = if j + 1 < n {
            pow2::<EF>(n - j - 2) * self.suffix[j + 1]
        } else {
            EF::ZERO
        };
        for (t, ht) in h.iter_mut().enumerate() {
            let m = outer * (self.past + self.mask.eval_var(j, EF::from_usize(t))) + rest;
            *ht += self.rho * m;
        }
    }

    /// Records the round's challenge `r_j`.
    pub fn bind(&mut self, r: EF) {
        let v = self.mask.eval_var(self.values.len(), r);
        self.past += v;
        self.values.push(v);
    }

    /// Writes and returns `v_l = s_l(r_l)`.
    ///
    /// # Panics
    /// If fewer than `n` rounds were bound (caller misuse).
    pub fn finish(self, transcript: &mut ProverTranscript<F>) -> Vec<EF> {
        assert_eq!(
            self.values.len(),
            self.mask.shape().vars,
            "sumcheck: mask rounds unfinished"
        );
        transcript.write_ext("sumcheck mask values", &self.values);
        self.values
    }
}

/// The prelude of a masked sumcheck of one claim, as [`verify_masked`] reads it (statement,
/// the batching challenge of a batch of one, `G`, `ρ`), for provers that run the rounds
/// themselves with [`MaskRounds`].
///
/// # Panics
/// If the mask's shape is not `(n, degree)` (caller misuse).
pub fn begin_single<'m, F: PrimeField64, EF: ExtensionField<F>>(
    claim: EF,
    n: usize,
    degree: usize,
    mask: &'m Mask<F, EF>,
    transcript: &mut ProverTranscript<F>,
) -> MaskRounds<'m, F, EF> {
    assert_eq!(
        mask.shape(),
        MaskShape { vars: n, degree },
        "sumcheck: mask shape"
    );
    // A batch of one: its coefficient is 1 whatever α is.
    let _ = batch_prelude::<F, EF>(transcript, &[claim], n, degree);
    MaskRounds::begin(mask, transcript)
}

fn pow2<EF: Field>(e: usize) -> EF {
    // e < MAX_MASKED_VARS < 64 (checked by MaskShape::new).
    EF::from_u64(1u64 << e)
}
