//! The prover: linear-time, variables bound in place, round 0 in the base field.

use p3_maybe_rayon::prelude::*;
use zkinfer_field::p3_field::{
    ExtensionField, Field, PackedFieldExtension, PackedValue, PrimeCharacteristicRing, PrimeField64,
};
use zkinfer_poly::{bind_low, bind_low_in_place};
use zkinfer_transcript::ProverTranscript;

use crate::composition::Composition;
use crate::verifier::absorb_statement;

/// One input polynomial: a base-field table (borrowed; never copied) or an extension table
/// (owned; bound in place).
#[derive(Clone, Debug)]
pub enum Mle<'a, F, EF> {
    /// Base-field evaluations, e.g. a witness column.
    Base(&'a [F]),
    /// Extension-field evaluations, e.g. an eq table or a partially bound tensor.
    Ext(Vec<EF>),
}

impl<F: Field, EF: ExtensionField<F>> Mle<'_, F, EF> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Mle::Base(v) => v.len(),
            Mle::Ext(v) => v.len(),
        }
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> EF {
        match self {
            Mle::Base(v) => EF::from(v[i]),
            Mle::Ext(v) => v[i],
        }
    }
}

/// One claim of a batch: `(claimed sum, input MLEs, composition)`.
pub type Instance<'a, F, EF> = (EF, Vec<Mle<'a, F, EF>>, Composition<EF>);

/// What the prover ends with: the challenge point and each MLE's value there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProverOutput<EF> {
    /// `r_0 … r_{n−1}` (variable 0 first).
    pub point: Vec<EF>,
    /// `f_i(r)` for every input MLE, in input order.
    pub evals: Vec<EF>,
    /// Batching coefficients (`[1]` for a single claim).
    pub coeffs: Vec<EF>,
}

/// Proves `claim = Σ_x comp(f(x))`. Absorbs the claim, `n` and the degree itself.
///
/// # Panics
/// On caller misuse: MLE tables of different or non-power-of-two lengths, or a count that
/// differs from `comp.num_mles()`. A false `claim` is not detected here; the verifier rejects.
pub fn prove<F, EF>(
    claim: EF,
    mles: Vec<Mle<'_, F, EF>>,
    comp: &Composition<EF>,
    transcript: &mut ProverTranscript<F>,
) -> ProverOutput<EF>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    assert_eq!(
        mles.len(),
        comp.num_mles(),
        "sumcheck: MLE count != composition arity"
    );
    let n = zkinfer_poly::num_vars(mles.first().map_or(1, Mle::len));
    assert!(
        mles.iter().all(|m| m.len() == 1 << n),
        "sumcheck: MLE sizes differ"
    );
    // A base table times an extension table (the walk's collapses): the dedicated prover,
    // same messages, one pass per round. A false claim falls through (it writes nothing).
    let mut mles = mles;
    if comp.is_plain_product(2) {
        if let [Mle::Base(_), Mle::Ext(_)] | [Mle::Ext(_), Mle::Base(_)] = mles.as_slice() {
            let base_first = matches!(mles[0], Mle::Base(_));
            let (f, w) = match (mles.pop(), mles.pop()) {
                (Some(Mle::Ext(w)), Some(Mle::Base(f)))
                | (Some(Mle::Base(f)), Some(Mle::Ext(w))) => (f, w),
                _ => unreachable!("matched above"),
            };
            match crate::inner::prove_or_return(claim, f, w, transcript) {
                Ok(mut out) => {
                    if !base_first {
                        out.evals.swap(0, 1);
                    }
                    return out;
                }
                Err(w) if base_first => mles = vec![Mle::Base(f), Mle::Ext(w)],
                Err(w) => mles = vec![Mle::Ext(w), Mle::Base(f)],
            }
        }
    }
    absorb_statement(transcript, &[claim], n, comp.degree());
    let (point, evals) = run(claim, mles, comp, transcript);
    ProverOutput {
        point,
        evals,
        coeffs: vec![EF::ONE],
    }
}

/// Proves several claims over the same number of variables at once: samples `α` after
/// absorbing every claim and proves `Σ_k α^k·claim_k = Σ_x Σ_k α^k·comp_k(f_k(x))`.
/// `evals` in the output concatenates every instance's MLE evaluations in order.
///
/// # Panics
/// If `instances` is empty or the instances differ in number of variables.
pub fn prove_batch<'a, F, EF>(
    instances: Vec<Instance<'a, F, EF>>,
    transcript: &mut ProverTranscript<F>,
) -> ProverOutput<EF>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    let Batch {
        comp,
        claim,
        mles,
        coeffs,
        ..
    } = open_batch(instances, transcript);
    let (point, evals) = run(claim, mles, &comp, transcript);
    ProverOutput {
        point,
        evals,
        coeffs,
    }
}

/// A batch after its prelude: combined composition and claim, every MLE, the coefficients.
pub(crate) struct Batch<'a, F, EF> {
    pub(crate) n: usize,
    pub(crate) degree: usize,
    pub(crate) comp: Composition<EF>,
    pub(crate) claim: EF,
    pub(crate) mles: Vec<Mle<'a, F, EF>>,
    pub(crate) coeffs: Vec<EF>,
}

/// The batch prelude shared by the plain and masked provers: absorbs the statement, samples
/// `α`, combines the compositions and claims with its powers.
pub(crate) fn open_batch<'a, F, EF>(
    instances: Vec<Instance<'a, F, EF>>,
    transcript: &mut ProverTranscript<F>,
) -> Batch<'a, F, EF>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    assert!(!instances.is_empty(), "sumcheck: empty batch");
    let n = zkinfer_poly::num_vars(instances[0].1.first().map_or(1, Mle::len));
    let claims: Vec<EF> = instances.iter().map(|i| i.0).collect();
    let degree = instances.iter().map(|i| i.2.degree()).max().unwrap_or(1);
    let (claim, coeffs) = crate::verifier::batch_prelude(transcript, &claims, n, degree);
    let comps: Vec<Composition<EF>> = instances.iter().map(|i| i.2.clone()).collect();
    let comp = Composition::combine(&comps, &coeffs);
    let mut mles = Vec::new();
    for (_, m, _) in instances {
        assert!(
            m.iter().all(|t| t.len() == 1 << n),
            "sumcheck: batch sizes differ"
        );
        mles.extend(m);
    }
    Batch {
        n,
        degree,
        comp,
        claim,
        mles,
        coeffs,
    }
}

fn run<F, EF>(
    mut claim: EF,
    mut mles: Vec<Mle<'_, F, EF>>,
    comp: &Composition<EF>,
    transcript: &mut ProverTranscript<F>,
) -> (Vec<EF>, Vec<EF>)
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    let d = comp.degree();
    let n = zkinfer_poly::num_vars(mles.first().map_or(1, Mle::len));
    let mut point = Vec::with_capacity(n);
    for _round in 0..n {
        let mut h = round_message(&mles, comp);
        // h(1) is not summed: it is fixed by the claim, exactly as the verifier derives it.
        h[1] = claim - h[0];
        let mut msg = Vec::with_capacity(d);
        msg.push(h[0]);
        msg.extend_from_slice(&h[2..]);
        transcript.write_ext("sumcheck round", &msg);
        let r: EF = transcript.sample_ext("sumcheck challenge");
        claim = crate::verifier::interpolate_at(&h, r);
        for m in mles.iter_mut() {
            match m {
                Mle::Base(v) => *m = Mle::Ext(bind_low(v, r)),
                Mle::Ext(v) => bind_low_in_place(v, r),
            }
        }
        point.push(r);
    }
    let evals = mles.iter().map(|m| m.get(0)).collect();
    (point, evals)
}

/// `h(0), _, h(2), …, h(d)` for the current round (slot 1 is filled by the caller). The only place round messages are formed
/// (the zero-knowledge mask will be added here).
pub(crate) fn round_message<F, EF>(mles: &[Mle<'_, F, EF>], comp: &Composition<EF>) -> Vec<EF>
where
    F: Field,
    EF: ExtensionField<F>,
{
    let d = comp.degree();
    let pairs = mles[0].len() / 2;
    let factors: Vec<&[usize]> = comp.terms().iter().map(|t| t.factors.as_slice()).collect();
    let all_base: Option<Vec<&[F]>> = mles
        .iter()
        .map(|m| match m {
            Mle::Base(v) => Some(*v),
            Mle::Ext(_) => None,
        })
        .collect();
    // Per-term unscaled sums, then one coefficient multiplication per term and node.
    let per_term: Vec<EF> = match all_base {
        Some(tables) => {
            // Base-field round: W pairs per packed vector.
            let w = <F::Packing as PackedValue>::WIDTH;
            if w > 1 && pairs >= w && pairs.is_multiple_of(w) {
                let load = |i: usize, k: usize| {
                    let (block, parity) = (k / 2, k % 2);
                    F::Packing::from_fn(|l| tables[i][2 * (block * w + l) + parity])
                };
                term_sums::<F::Packing>(pairs / w, tables.len(), &factors, d, load)
                    .into_iter()
                    .map(|v| EF::from(v.as_slice().iter().copied().sum::<F>()))
                    .collect()
            } else {
                term_sums::<F>(pairs, tables.len(), &factors, d, |i, j| tables[i][j])
                    .into_iter()
                    .map(EF::from)
                    .collect()
            }
        }
        None => {
            // Extension rounds: W pairs at a time in p3's packed extension (SIMD across lanes).
            let w = <F::Packing as PackedValue>::WIDTH;
            if w > 1 && pairs >= w && pairs.is_multiple_of(w) {
                let load = |i: usize, k: usize| {
                    let (block, parity) = (k / 2, k % 2);
                    EF::ExtensionPacking::from_ext_fn(|l| mles[i].get(2 * (block * w + l) + parity))
                };
                term_sums::<EF::ExtensionPacking>(pairs / w, mles.len(), &factors, d, load)
                    .into_iter()
                    .map(|v| (0..w).map(|l| v.extract(l)).sum())
                    .collect()
            } else {
                term_sums::<EF>(pairs, mles.len(), &factors, d, |i, j| mles[i].get(j))
            }
        }
    };
    (0..=d)
        .map(|t| {
            comp.terms()
                .iter()
                .enumerate()
                .map(|(k, term)| term.coeff * per_term[k * (d + 1) + t])
                .sum()
        })
        .collect()
}

/// `Σ_{j < pairs} Π_{i ∈ S_k} (a_i + t·(b_i − a_i))` for every term `k` and node `t ≠ 1`
/// (node 1 is left zero: the verifier derives `h(1)`), where `a_i = f_i[2j]`, `b_i = f_i[2j+1]`.
fn term_sums<V: PrimeCharacteristicRing + Copy + Send + Sync>(
    pairs: usize,
    num_mles: usize,
    factors: &[&[usize]],
    d: usize,
    load: impl Fn(usize, usize) -> V + Sync,
) -> Vec<V> {
    let width = d + 1;
    let zero = || vec![V::ZERO; factors.len() * width];
    let chunk = (pairs / (4 * p3_maybe_rayon::prelude::current_num_threads().max(1))).max(1 << 10);
    let chunks = pairs.div_ceil(chunk);
    let work = |c: usize| {
        let mut sums = zero();
        let mut vals = vec![V::ZERO; num_mles * width];
        for j in c * chunk..((c + 1) * chunk).min(pairs) {
            for i in 0..num_mles {
                let (a, b) = (load(i, 2 * j), load(i, 2 * j + 1));
                let diff = b - a;
                let row = &mut vals[i * width..(i + 1) * width];
                row[0] = a;
                if width > 1 {
                    row[1] = b;
                }
                for t in 2..width {
                    row[t] = row[t - 1] + diff;
                }
            }
            for (k, fs) in factors.iter().enumerate() {
                for t in (0..width).filter(|&t| t != 1) {
                    let mut p = vals[fs[0] * width + t];
                    for &f in &fs[1..] {
                        p *= vals[f * width + t];
                    }
                    sums[k * width + t] += p;
                }
            }
        }
        sums
    };
    let add = |mut a: Vec<V>, b: Vec<V>| {
        a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        a
    };
    if chunks > 1 {
        (0..chunks).into_par_iter().map(work).reduce(zero, add)
    } else {
        work(0)
    }
}
