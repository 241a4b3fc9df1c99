//! Attainment of group maxima: `y_o = x_{g_o[k]}` for some `k`, given that every difference
//! `d_{o,k} = σ·(y_o − x_{g_o[k]})` is range-checked into `[0, 2^A)` elsewhere (so `y_o` bounds
//! its group; `σ = −1` for a minimum). Shared by [`super::max`] (MaxPool, ReduceMax/Min,
//! ReLU) and [`super::softmax`] (row maxima). Two protocols, chosen from the largest group
//! size K alone, so plan, prover and verifier agree:
//!
//! - **Product** (`K ≤` [`PRODUCT_MAX`]): `Π_k d_{o,k} = 0` for every `o`, by the zero-check
//!   `Σ_o eq(τ, o)·Π_k D_k(o) = 0` (degree K + 1; `D_k(o) = 1` where a group has fewer than K
//!   members); its K evaluations are combined with γ into one claim. Nothing is committed.
//!   Error `((K + 2)·log n + K)/|EF|` (the sumcheck, τ, γ).
//! - **Selector** (longer groups): the prover commits `s` on the grid `[n, K̄]` (`K̄` = K
//!   rounded up to a power of two; entry `(o, k)` at `o·K̄ + k`, zero beyond row `n`) and
//!   proves
//!   (a) `s ∈ {0, 1}`: a lookup into the 1-bit range table, batched with the other lookups;
//!   (b) every row sums to 1: `Σ_o eq(τ, o)·Σ_k s_{o,k} = Σ_{o<n} eq(τ, o)`. The left side
//!   is `Σ_k s̃(k, τ) = K̄·s̃(½, …, ½, τ)` (a multilinear's sum over a cube is the cube's size
//!   times its value at the centre), so this is one evaluation claim on `s`, settled by the
//!   witness opening. A 0/1 row with field sum 1 and `K̄ < p` entries is one-hot;
//!   (c) `s_{o,k}·d_{o,k} = 0` at every grid point: `Σ_{o,k} eq(τ', (o, k))·s·d = 0` (degree
//!   3), with `d = 1` off the groups, so `s` vanishes there. `d̃` at the sumcheck's point is
//!   linear in `y` and `x` with public weights, and becomes claims on them.
//!
//!   So the selected member has `d = 0`: `y_o` is attained. As `s ∈ {0, 1}` and
//!   `d ∈ [0, 2^A)`, `s·d` never wraps around p: no field bound ties K to p beyond `K̄ < p`.
//!   Error `(log n + 4·log(n·K̄))/|EF|` (τ; τ' and the degree-3 sumcheck), plus the 1-bit
//!   lookup's share of the LogUp-GKR batch error.
//!
//! Cost at K = 64 (a `[64, 64]` ReduceMax): the product check's prover evaluates K + 1
//! factors at K + 2 points per row and round, `O(K²·n)`, and sends `(K + 2)·log n + K`
//! elements; the selector commits and looks up `n·K̄` entries and runs a degree-3 sumcheck
//! over them, `O(K·n)` plus the commitment. Measured (`long_rows_tests::attainment_costs`),
//! both are within a few percent of each other at K = 64, and the product is cheaper below,
//! so groups up to 64 (ReLU's pairs, pooling windows, short softmax rows) keep it.

use zkinfer_pcs::Claim;
use zkinfer_poly::{eq_eval, eq_table};
use zkinfer_sumcheck::{Composition, Mle};
use zkinfer_transcript::Duplex;

use super::max::ZERO;
use crate::error::Error;
use crate::layout::{compact_vars, eq_prefix, eq_tail, log2_ceil};
use crate::plan::{PolyRole, Plan};
use crate::side::Side;
use crate::walk::Ctx;
use crate::{EF, F};
use zkinfer_field::p3_field::{Field, PrimeCharacteristicRing};

/// Largest group proven by the product zero-check; longer groups use a selector.
pub const PRODUCT_MAX: usize = 64;

/// Largest group (max/min window or axis, softmax row) proven at all. The selector protocol
/// has no field bound on K; this caps the grid's padding and the prover's memory.
pub const MAX_GROUP: usize = 1 << 20;

/// Largest selector grid (entries), like the largest tensor.
pub const MAX_GRID: usize = 1 << 34;

/// Whether groups of up to `k` members are proven with a committed selector.
pub fn uses_selector(k: usize) -> bool {
    k > PRODUCT_MAX
}

/// Variables of the selector grid of `rows` groups of at most `k` members: (rows, columns).
pub fn grid_vars(rows: usize, k: usize) -> (usize, usize) {
    (compact_vars(rows), log2_ceil(k))
}

/// The committed selector of node `ni`, if it has one.
pub fn selector_poly(plan: &Plan, ni: usize) -> Option<usize> {
    plan.polys
        .iter()
        .position(|(role, _)| *role == PolyRole::Selector { node: ni })
}

/// What attainment reduces to: `Σ_o top[o]·y_o + Σ_q x[q]·x_q = value`, where `y` is the
/// tensor of maxima (a max node's output, a softmax's committed row maxima).
#[derive(Clone, Debug)]
pub struct Reduced {
    /// Weights on the maxima, one per group.
    pub top: Vec<EF>,
    /// Weights on the input's compact entries.
    pub x: Vec<EF>,
    /// Claimed value.
    pub value: EF,
}

/// The groups of one node: input indices per output ([`ZERO`] for the constant 0), whether
/// it is a max (`σ = 1`) or a min, and the input's number of entries.
#[derive(Clone, Copy, Debug)]
pub struct Groups<'g> {
    /// Input indices per group.
    pub groups: &'g [Vec<usize>],
    /// Max (else min).
    pub max: bool,
    /// Entries of the input tensor.
    pub nx: usize,
}

impl Groups<'_> {
    /// Largest group.
    pub fn k(&self) -> usize {
        self.groups.iter().map(Vec::len).max().unwrap_or(0)
    }

    fn sign(&self) -> EF {
        if self.max {
            EF::ONE
        } else {
            -EF::ONE
        }
    }

    /// `d̃(point)`'s dependence on `y` and `x`, given `e = eq(point, ·)` over the grid with
    /// `2^nc` columns: adds `Σ σ·e·(y_o − x_q)` over the groups' slots to the weights and
    /// returns the slots' total weight.
    fn weights(&self, e: &[EF], nc: usize, r: &mut Reduced) -> EF {
        let sign = self.sign();
        let mut real = EF::ZERO;
        for (o, gr) in self.groups.iter().enumerate() {
            for (j, &q) in gr.iter().enumerate() {
                let w = e.get((o << nc) + j).copied().unwrap_or(EF::ZERO);
                real += w;
                r.top[o] += sign * w;
                if q != ZERO {
                    r.x[q] -= sign * w;
                }
            }
        }
        real
    }

    fn reduced(&self) -> Reduced {
        Reduced {
            top: vec![EF::ZERO; self.groups.len()],
            x: vec![EF::ZERO; self.nx],
            value: EF::ZERO,
        }
    }
}

/// Proves that every group's maximum is attained, by the protocol [`uses_selector`] picks
/// (`sel`: the committed selector, present exactly when it picks the selector). `diff(o, q)`
/// is the prover's `d` (never called on the verifier).
pub fn prove<S: Side>(
    ctx: &mut Ctx<'_, S>,
    grs: Groups<'_>,
    sel: Option<usize>,
    diff: impl Fn(usize, usize) -> F,
) -> Result<Reduced, Error> {
    match (uses_selector(grs.k()), sel) {
        (false, None) => product(ctx, grs, diff),
        (true, Some(p)) => selector(ctx, grs, p, diff),
        _ => Err(Error::rejected(
            ctx.side.stage(),
            "attainment protocol disagrees with the plan",
        )),
    }
}

fn challenges<S: Side>(ctx: &mut Ctx<'_, S>, label: &'static str, n: usize) -> Vec<EF> {
    (0..n).map(|_| ctx.side.t().sample_ext(label)).collect()
}

/// `Σ_o eq(τ, o)·Π_k D_k(o) = 0` (module docs).
fn product<S: Side>(
    ctx: &mut Ctx<'_, S>,
    grs: Groups<'_>,
    diff: impl Fn(usize, usize) -> F,
) -> Result<Reduced, Error> {
    let k = grs.k();
    let no = grs.groups.len();
    let nv = compact_vars(no);
    let tau = challenges(ctx, "model.attain_tau", nv);
    let (t, evals) = ctx.side.sumcheck(
        EF::ZERO,
        nv,
        &Composition::product(k + 1),
        1,
        || {
            let mut mles = vec![Mle::Ext(eq_table(&tau))];
            for j in 0..k {
                let mut d = vec![EF::ZERO; 1 << nv];
                for (o, gr) in grs.groups.iter().enumerate() {
                    d[o] = gr.get(j).map_or(EF::ONE, |&q| EF::from(diff(o, q)));
                }
                mles.push(Mle::Ext(d));
            }
            mles
        },
        |p| vec![eq_eval(&tau, p)],
    )?;
    let gamma: EF = ctx.side.t().sample_ext("model.attain_gamma");
    let e = eq_prefix(&t, no);
    let sign = grs.sign();
    let mut out = grs.reduced();
    let (mut absent, mut gk) = (EF::ZERO, EF::ONE);
    for j in 0..k {
        // D_j(t) = Σ_o e_o·(σ(y_o − x_{g_o[j]}), or 1 where group o has no member j).
        out.value += gk * evals[j + 1];
        for (o, gr) in grs.groups.iter().enumerate() {
            match gr.get(j) {
                Some(&q) => {
                    out.top[o] += gk * sign * e[o];
                    if q != ZERO {
                        out.x[q] -= gk * sign * e[o];
                    }
                }
                None => absent += gk * e[o],
            }
        }
        gk *= gamma;
    }
    out.value -= absent;
    Ok(out)
}

/// The selector grid's `d`: `diff` on the groups' slots, 1 elsewhere.
fn diff_grid(grs: Groups<'_>, nc: usize, nv: usize, diff: impl Fn(usize, usize) -> F) -> Vec<F> {
    let mut d = vec![F::ONE; 1 << nv];
    for (o, gr) in grs.groups.iter().enumerate() {
        for (j, &q) in gr.iter().enumerate() {
            d[(o << nc) + j] = diff(o, q);
        }
    }
    d
}

/// Prover: the selector grid (module docs): 1 at each group's first member with `d = 0`.
/// Errors naming the first group whose maximum is not attained.
pub fn selector_column(
    groups: &[Vec<usize>],
    diff: impl Fn(usize, usize) -> F,
) -> Result<Vec<F>, String> {
    let k = groups.iter().map(Vec::len).max().unwrap_or(0);
    let (nr, nc) = grid_vars(groups.len(), k);
    let mut s = vec![F::ZERO; 1 << (nr + nc)];
    for (o, gr) in groups.iter().enumerate() {
        let j = gr
            .iter()
            .position(|&q| diff(o, q) == F::ZERO)
            .ok_or_else(|| format!("the maximum of group {o} is none of its members"))?;
        s[(o << nc) + j] = F::ONE;
    }
    Ok(s)
}

/// The selector protocol (module docs, (b) and (c)).
fn selector<S: Side>(
    ctx: &mut Ctx<'_, S>,
    grs: Groups<'_>,
    sel: usize,
    diff: impl Fn(usize, usize) -> F,
) -> Result<Reduced, Error> {
    let no = grs.groups.len();
    let (nr, nc) = grid_vars(no, grs.k());
    let nv = nr + nc;
    ctx.side.check(
        ctx.plan.polys.get(sel).map(|p| p.1) == Some(nv),
        "selector layout",
    )?;
    // (b) Row sums: K̄·s̃(½, …, ½, τ) = Σ_{o<n} eq(τ, o).
    let tau = challenges(ctx, "model.attain_rows", nr);
    let half = EF::from(F::TWO.inverse());
    let mut point = vec![half; nc];
    point.extend_from_slice(&tau);
    let kbar_inv = EF::from(F::from_u64(1 << nc).inverse());
    ctx.poly_points.push(Claim {
        poly: sel,
        point,
        value: (EF::ONE - eq_tail(&tau, no)) * kbar_inv,
    });
    // (c) s·d = 0 everywhere.
    let tau2 = challenges(ctx, "model.attain_tau", nv);
    let wit = ctx.wit;
    let d = match wit {
        Some(_) => diff_grid(grs, nc, nv, diff),
        None => Vec::new(),
    };
    let (t, evals) = ctx.side.sumcheck(
        EF::ZERO,
        nv,
        &Composition::product(3),
        1,
        || {
            let w = wit.expect("prover");
            vec![
                Mle::Ext(eq_table(&tau2)),
                Mle::Base(&w.polys[sel]),
                Mle::Base(&d),
            ]
        },
        |p| vec![eq_eval(&tau2, p)],
    )?;
    ctx.poly_points.push(Claim {
        poly: sel,
        point: t.clone(),
        value: evals[1],
    });
    // d̃(t) = Σ_real e·σ(y − x) + Σ_elsewhere e, and Σ e = 1.
    let e = eq_table(&t);
    let mut out = grs.reduced();
    let real = grs.weights(&e, nc, &mut out);
    out.value = evals[2] - (EF::ONE - real);
    Ok(out)
}
