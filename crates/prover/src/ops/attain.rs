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
//! - **Selector** (longer groups): the prover commits `s`, one entry per (group, member)
//!   pair in the difference column's order (`i = Σ_{o'<o} |g_{o'}| + k`, `P` pairs, zero in
//!   the tail), and proves
//!   (a) `s ∈ {0, 1}`: a lookup into the 1-bit range table, batched with the other lookups;
//!   (b) every group's entries sum to 1: `Σ_i eq(τ, o(i))·s_i = Σ_{o<n} eq(τ, o)`, so each
//!   group's 0/1 entries (fewer than p) hold exactly one 1;
//!   (c) `s_i·d_i = 0` for every pair: `Σ_i eq(τ', i)·s_i·d_i = 0`, so the selected member
//!   has `d = 0` — `y_o` is attained.
//!
//!   (b) and (c) run as one degree-3 sumcheck over `log P` variables,
//!   `Σ_i [eq(τ', i)·s_i·d_i + γ·W_i·s_i] = γ·Σ_{o<n} eq(τ, o)` with `W_i = eq(τ, o(i))`:
//!   the verifier evaluates `eq(τ', ·)` and `W̃` itself (`O(P)`), `s̃` goes to the witness
//!   opening and `d̃` — linear in `y` and `x` with public weights — becomes claims on them.
//!   As `s ∈ {0, 1}` and `d ∈ [0, 2^A)`, `s·d` never wraps around p: no field bound ties K to
//!   p. Error `(log n + 4·log P + 1)/|EF|` (τ; τ', γ and the sumcheck), plus the 1-bit
//!   lookup's share of the LogUp-GKR batch error.
//!
//!   Laying `s` out in pairs order rather than on a `[n, 2^⌈log K⌉]` grid (where the row sums
//!   are one evaluation of `s` at `(½, …, ½, τ)`) costs the one public factor `W` in the
//!   sumcheck but never pads a row: on the grid, rows of 65 or 2,049 elements would double
//!   the commitment, lookup and sumcheck.
//!
//! Cost: the product check's prover evaluates K + 1 factors at K + 2 points per group and
//! round, `O(K²·n)`, and sends `(K + 2)·log n + K` elements, committing nothing; the selector
//! commits and looks up `P ≈ K·n` entries and runs a degree-3 sumcheck over them, `O(P)`.
//! Measured on one-node ReduceMax graphs of 2^18 pairs (`long_rows_tests::attainment_costs`,
//! best of 3 on 2 shared cores): product 116–132 / 128–139 / 148–171 ms at K = 16 / 32 / 64,
//! the selector 135–164 ms throughout (K up to 128); proofs 122–131 KB with the product,
//! 152 KB with the selector (one more committed column, its lookup and opening). Below 32
//! the product is cheaper in time and size; at 64 it is within ~15% in time and smaller, and
//! keeping it there leaves the proofs of every existing model (ReLU's pairs, pooling windows,
//! short softmax rows) unchanged.

use zkinfer_pcs::Claim;
use zkinfer_poly::{eq_eval, eq_table};
use zkinfer_sumcheck::{Composition, Mle, Term};
use zkinfer_transcript::Duplex;

use super::max::ZERO;
use crate::error::Error;
use crate::layout::{compact_vars, eq_prefix, eq_tail};
use crate::plan::{Plan, PolyRole};
use crate::side::Side;
use crate::walk::Ctx;
use crate::{EF, F};
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// Largest group proven by the product zero-check; longer groups use a selector.
pub const PRODUCT_MAX: usize = 64;

/// Largest group (max/min window or axis, softmax row) proven at all. The selector protocol
/// has no field bound on K (module docs); this bounds the prover's per-group work.
pub const MAX_GROUP: usize = 1 << 20;

/// Largest selector (pairs), like the largest tensor.
pub const MAX_PAIRS: usize = 1 << 34;

/// Whether groups of up to `k` members are proven with a committed selector.
pub fn uses_selector(k: usize) -> bool {
    k > PRODUCT_MAX
}

/// Plans the attainment selector of a max or softmax node with `pairs` (group, member) pairs
/// in groups of at most `k`, when groups that long are proven with one: a 0/1 column in
/// pairs order, looked up in the 1-bit range table.
pub fn plan_selector(b: &mut crate::plan::PlanBuilder<'_>, node: usize, pairs: usize, k: usize) {
    if uses_selector(k) {
        b.bits(node, PolyRole::Selector { node }, pairs);
    }
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

    /// Calls `f(i, o, q)` for every pair `i` (group `o`, member `q`), in pairs order.
    fn each_pair(&self, mut f: impl FnMut(usize, usize, usize)) {
        let mut i = 0;
        for (o, gr) in self.groups.iter().enumerate() {
            for &q in gr {
                f(i, o, q);
                i += 1;
            }
        }
    }

    /// Number of pairs.
    pub fn pairs(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
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

/// Prover: the selector (module docs): 1 at each group's first member with `d = 0`, in pairs
/// order. Errors naming the first group whose maximum is not attained.
pub fn selector_column(
    groups: &[Vec<usize>],
    diff: impl Fn(usize, usize) -> F,
) -> Result<Vec<F>, String> {
    let pairs: usize = groups.iter().map(Vec::len).sum();
    let mut s = vec![F::ZERO; 1 << compact_vars(pairs)];
    let mut at = 0;
    for (o, gr) in groups.iter().enumerate() {
        let j = gr
            .iter()
            .position(|&q| diff(o, q) == F::ZERO)
            .ok_or_else(|| format!("the maximum of group {o} is none of its members"))?;
        s[at + j] = F::ONE;
        at += gr.len();
    }
    Ok(s)
}

/// The selector protocol (module docs, (b) and (c) in one sumcheck).
fn selector<S: Side>(
    ctx: &mut Ctx<'_, S>,
    grs: Groups<'_>,
    sel: usize,
    diff: impl Fn(usize, usize) -> F,
) -> Result<Reduced, Error> {
    let no = grs.groups.len();
    let (nr, nv) = (compact_vars(no), compact_vars(grs.pairs()));
    ctx.side.check(
        ctx.plan.polys.get(sel).map(|p| p.1) == Some(nv),
        "selector layout",
    )?;
    let tau = challenges(ctx, "model.attain_rows", nr);
    let tau2 = challenges(ctx, "model.attain_tau", nv);
    let gamma: EF = ctx.side.t().sample_ext("model.attain_gamma");
    let eq_rows = eq_table(&tau);
    let rows_in = EF::ONE - eq_tail(&tau, no);
    // MLEs: 0 = eq(τ', ·), 1 = W (both public), 2 = s, 3 = d.
    let comp = Composition::new(
        4,
        vec![
            Term {
                coeff: EF::ONE,
                factors: vec![0, 2, 3],
            },
            Term {
                coeff: gamma,
                factors: vec![1, 2],
            },
        ],
    );
    let wit = ctx.wit;
    let (mut wv, mut d) = (Vec::new(), Vec::new());
    if wit.is_some() {
        wv = vec![EF::ZERO; 1 << nv];
        d = vec![F::ZERO; 1 << nv];
        grs.each_pair(|i, o, q| {
            wv[i] = eq_rows[o];
            d[i] = diff(o, q);
        });
    }
    // The verifier's eq(t, ·), kept for the weights of d̃(t).
    let mut eq_t = None;
    let (t, evals) = ctx.side.sumcheck(
        gamma * rows_in,
        nv,
        &comp,
        2,
        || {
            let w = wit.expect("prover");
            vec![
                Mle::Ext(eq_table(&tau2)),
                Mle::Ext(wv),
                Mle::Base(&w.polys[sel]),
                Mle::Base(&d),
            ]
        },
        |p| {
            let e = eq_table(p);
            let mut w_at = EF::ZERO;
            grs.each_pair(|i, o, _| w_at += e[i] * eq_rows[o]);
            eq_t = Some(e);
            vec![eq_eval(&tau2, p), w_at]
        },
    )?;
    ctx.poly_points.push(Claim {
        poly: sel,
        point: t.clone(),
        value: evals[2],
    });
    // d̃(t) = Σ_i eq(t, i)·σ(y_o − x_q) (the tail is 0).
    let e = eq_t.unwrap_or_else(|| eq_table(&t));
    let (sign, mut out) = (grs.sign(), grs.reduced());
    grs.each_pair(|i, o, q| {
        out.top[o] += sign * e[i];
        if q != ZERO {
            out.x[q] -= sign * e[i];
        }
    });
    out.value = evals[3];
    Ok(out)
}
