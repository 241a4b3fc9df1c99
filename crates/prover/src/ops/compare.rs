//! Comparisons and selection (Less/Greater/Equal/…, Where).
//!
//! **Compare** `y = [a' ⋈ b']` with `d = a' − b'` (a' = 2^ls·a, b' = 2^rs·b, broadcast), `y`
//! committed and range-checked to `{0, 1}`:
//! - ordering (`>`, `≥`, and `<`, `≤` with `d` negated, σ = ±1): the committed excess
//!   `e = (2y − 1)·σd − y·c₁ − (1 − y)·c₀` (c₁ = 1 for strict, c₀ = 1 for non-strict) is
//!   range-checked in limbs, so `y = 1 ⇒ σd ≥ c₁` and `y = 0 ⇒ σd ≤ −c₀`;
//! - equality: a committed `z` with `y_eq = 1 − d·z` and `y_eq·d = 0` (`y_eq = y` for `=`,
//!   `1 − y` for `≠`).
//!
//! The identity is checked by one zero-check `Σ_i R(i)·eq(τ, i)·rel(i) = 0` (R masks the tail
//! padding; degree 3), ending in point claims on the committed polys and a weighted claim on
//! `d`, split between `a` and `b`. Error: `3·log n/|EF|` plus `n/|EF|` for τ (and γ).
//!
//! **Select** `acc = b' + c·(a' − b')` with `c ∈ {0, 1}` (range-checked): one degree-3
//! sumcheck `Σ_i W(i)·(b'(i) + c(i)a'(i) − c(i)b'(i))` over the output ends in claims on the
//! broadcasts of `c`, `a`, `b`.

use zkinfer_model::kernels::shape as sk;
use zkinfer_model::quant::QuantNode;
use zkinfer_model::{BinaryKind, QuantOp, QuantizedGraph};
use zkinfer_pcs::Claim;
use zkinfer_poly::{eq_table, evaluate};
use zkinfer_sumcheck::{Composition, Mle, Term};
use zkinfer_transcript::Duplex;

use super::{ctx_vals, to_output_poly, write_output, OpFamily};
use crate::error::Error;
use crate::layout::{compact_vars, dot, eq_prefix, pad_base, pad_ext, scatter};
use crate::plan::{broadcasts, Col, Plan, PlanBuilder, TableSpec, LIMB_BITS};
use crate::side::Side;
use crate::walk::{ef, pow2, Ctx, Weighted, Witness};
use crate::{EF, F};
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// The comparison family (Select is requantized: [`super::requant`], [`select`]).
pub struct Comparison;

impl OpFamily for Comparison {
    fn owns(op: &QuantOp) -> bool {
        matches!(op, QuantOp::Compare { .. })
    }

    fn arity(_op: &QuantOp) -> (usize, usize) {
        (2, 2)
    }

    fn check(g: &QuantizedGraph, n: &QuantNode) -> Result<(), String> {
        let out = &g.tensors[n.output.0].shape;
        for (k, t) in n.inputs.iter().enumerate() {
            let s = &g.tensors[t.0].shape;
            if !broadcasts(s, out) {
                return Err(format!(
                    "operand {k} of shape {s:?} does not broadcast to the output {out:?}"
                ));
            }
        }
        Ok(())
    }

    fn plan(b: &mut PlanBuilder<'_>, ni: usize) -> Result<(), String> {
        let g = b.g;
        let n = &g.nodes[ni];
        let QuantOp::Compare {
            lhs_shift,
            rhs_shift,
            kind,
        } = &n.op
        else {
            return Err("not a comparison".into());
        };
        let fm = form(*kind).ok_or("not a comparison")?;
        let numel: usize = g.tensors[n.output.0].shape.iter().product();
        let nv = compact_vars(numel);
        let p = b.output(ni, nv);
        b.lookup(ni, TableSpec::Range(1), vec![Col::Poly(p)], numel);
        match fm {
            Form::Order { .. } => b.limbs(
                ni,
                excess_bits(g.config.act_bits, *lhs_shift, *rhs_shift),
                0,
                numel,
            ),
            Form::Equal { .. } => {
                b.unchecked_limb(ni, 0, nv);
            }
        }
        Ok(())
    }

    fn witness(
        w: &mut Witness<'_>,
        g: &QuantizedGraph,
        plan: &Plan,
        ni: usize,
    ) -> Result<(), String> {
        let n = &g.nodes[ni];
        let QuantOp::Compare { kind, .. } = &n.op else {
            return Err("not a comparison".into());
        };
        let fm = form(*kind).ok_or("comparison kind")?;
        let (a, b) = (w.value(n.inputs[0].0), w.value(n.inputs[1].0));
        let d = diff(g, ni, a, b).ok_or("difference")?;
        let y = w.value(n.output.0);
        match fm {
            Form::Order { .. } => {
                let e = aux(fm, &d, y);
                if e.iter().any(|&v| v < 0) {
                    return Err("comparison output inconsistent with its inputs".into());
                }
                for (j, &(p, bits)) in plan.limbs[ni].iter().enumerate() {
                    let limb: Vec<i64> = e
                        .iter()
                        .map(|&v| ((v >> (LIMB_BITS as usize * j)) & ((1i128 << bits) - 1)) as i64)
                        .collect();
                    w.polys[p] = pad_base(&limb, 0);
                }
            }
            Form::Equal { .. } => {
                if let Some(&(p, _)) = plan.limbs[ni].first() {
                    let mut z = inverses(&d);
                    z.resize(1 << plan.polys[p].1, F::ZERO);
                    w.polys[p] = z;
                }
            }
        }
        write_output(w, g, plan, ni, 0);
        Ok(())
    }

    fn relations<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize) -> Result<(), Error> {
        relation(ctx, ni)
    }

    fn backward<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, claim: Weighted) -> Result<(), Error> {
        to_output_poly(ctx, ni, claim)
    }
}

/// How a comparison is proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `σ = ±1`, `c₁`, `c₀` of the ordering relation.
    Order {
        /// Sign applied to `d`.
        neg: bool,
        /// Strict: `y = 1 ⇒ σd ≥ 1`.
        strict: bool,
    },
    /// Equality (`ne`: the output is `≠`).
    Equal {
        /// Not-equal.
        ne: bool,
    },
}

/// The form of a comparison kind.
pub fn form(kind: BinaryKind) -> Option<Form> {
    Some(match kind {
        BinaryKind::Greater => Form::Order {
            neg: false,
            strict: true,
        },
        BinaryKind::GreaterEq => Form::Order {
            neg: false,
            strict: false,
        },
        BinaryKind::Less => Form::Order {
            neg: true,
            strict: true,
        },
        BinaryKind::LessEq => Form::Order {
            neg: true,
            strict: false,
        },
        BinaryKind::Equal => Form::Equal { ne: false },
        BinaryKind::NotEqual => Form::Equal { ne: true },
        _ => return None,
    })
}

/// Bits of the ordering excess `e` (|d| < 2^(A + max shift), plus one).
pub fn excess_bits(act_bits: u32, lhs_shift: u32, rhs_shift: u32) -> u32 {
    act_bits + lhs_shift.max(rhs_shift) + 1
}

/// Prover: `d = a' − b'` over the output.
pub fn diff(
    g: &zkinfer_model::QuantizedGraph,
    ni: usize,
    a: &[i64],
    b: &[i64],
) -> Option<Vec<i64>> {
    let n = &g.nodes[ni];
    let QuantOp::Compare {
        lhs_shift,
        rhs_shift,
        ..
    } = &n.op
    else {
        return None;
    };
    let sa = &g.tensors[n.inputs[0].0].shape;
    let sb = &g.tensors[n.inputs[1].0].shape;
    let sout = &g.tensors[n.output.0].shape;
    Some(zkinfer_model::kernels::binary(
        a,
        sa,
        b,
        sb,
        sout,
        |x, y| (x << lhs_shift) - (y << rhs_shift),
    ))
}

/// Prover: the committed auxiliary values (excess for orderings, `z` for equality).
pub fn aux(form: Form, d: &[i64], y: &[i64]) -> Vec<i128> {
    d.iter()
        .zip(y)
        .map(|(&d, &y)| match form {
            Form::Order { neg, strict } => {
                let sd = if neg { -i128::from(d) } else { i128::from(d) };
                let (c1, c0) = if strict { (1, 0) } else { (0, 1) };
                (2 * i128::from(y) - 1) * sd - i128::from(y) * c1 - (1 - i128::from(y)) * c0
            }
            Form::Equal { .. } => 0, // z is a field inverse, built separately
        })
        .collect()
}

/// Prover: `z = d^{-1}` (0 where d = 0) for equality.
pub fn inverses(d: &[i64]) -> Vec<F> {
    use zkinfer_field::p3_field::Field;
    d.iter()
        .map(|&v| {
            zkinfer_field::from_signed::<F>(v)
                .try_inverse()
                .unwrap_or(F::ZERO)
        })
        .collect()
}

/// The zero-check of compare node `ni`.
pub fn relation<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize) -> Result<(), Error> {
    let g = ctx.g;
    let n = &g.nodes[ni];
    let QuantOp::Compare {
        lhs_shift,
        rhs_shift,
        kind,
    } = &n.op
    else {
        return Err(Error::rejected(ctx.side.stage(), "not a comparison"));
    };
    let fm = form(*kind).ok_or_else(|| Error::rejected(ctx.side.stage(), "comparison kind"))?;
    let (a, b, y) = (n.inputs[0].0, n.inputs[1].0, n.output.0);
    let (sa, sb, sout) = (ctx.shape(a), ctx.shape(b), ctx.shape(y));
    let numel: usize = sout.iter().product();
    let nv = compact_vars(numel);
    let ypoly =
        ctx.plan.out_poly[ni].ok_or_else(|| Error::rejected(ctx.side.stage(), "no output poly"))?;
    let aux: Vec<usize> = ctx.plan.limbs[ni].iter().map(|l| l.0).collect();
    let tau: Vec<EF> = (0..nv)
        .map(|_| ctx.side.t().sample_ext("model.cmp_tau"))
        .collect();
    let gamma: EF = ctx.side.t().sample_ext("model.cmp_gamma");
    // MLEs: 0 = R·eq(τ) (known), 1 = y, 2 = d, 3.. = aux polys (excess limbs, or z).
    let mut terms = Vec::new();
    let t = |coeff: EF, factors: Vec<usize>| Term { coeff, factors };
    match fm {
        Form::Order { neg, strict } => {
            let s = if neg { -EF::ONE } else { EF::ONE };
            let (c1, c0) = if strict {
                (EF::ONE, EF::ZERO)
            } else {
                (EF::ZERO, EF::ONE)
            };
            for (j, _) in aux.iter().enumerate() {
                terms.push(t(pow2(LIMB_BITS * j as u32), vec![0, 3 + j]));
            }
            terms.push(t(-s.double(), vec![0, 1, 2]));
            terms.push(t(s, vec![0, 2]));
            terms.push(t(c1 - c0, vec![0, 1]));
            if c0 != EF::ZERO {
                terms.push(t(c0, vec![0]));
            }
        }
        Form::Equal { ne } => {
            // y_eq = y (or 1 − y); rel = (y_eq − 1 + d·z) + γ·y_eq·d.
            let (ys, yc) = if ne {
                (-EF::ONE, EF::ONE)
            } else {
                (EF::ONE, EF::ZERO)
            };
            terms.push(t(ys, vec![0, 1]));
            if yc - EF::ONE != EF::ZERO {
                terms.push(t(yc - EF::ONE, vec![0]));
            }
            terms.push(t(EF::ONE, vec![0, 2, 3]));
            terms.push(t(gamma * ys, vec![0, 1, 2]));
            if yc != EF::ZERO {
                terms.push(t(gamma * yc, vec![0, 2]));
            }
        }
    }
    let comp = Composition::new(3 + aux.len(), terms);
    let wit = ctx.wit;
    let (ma, mb) = (sk::broadcast_map(sa, sout), sk::broadcast_map(sb, sout));
    let mask_eq = |p: &[EF]| -> EF {
        let e = eq_prefix(p, numel);
        let et = eq_table(&tau);
        e.iter().zip(&et).map(|(x, y)| *x * *y).sum()
    };
    let (pt, evals) = ctx.side.sumcheck(
        EF::ZERO,
        nv,
        &comp,
        1,
        || {
            let w = wit.expect("prover");
            let mut e = eq_table(&tau);
            for x in e.iter_mut().skip(numel) {
                *x = EF::ZERO;
            }
            let yv: Vec<EF> = w.polys[ypoly].iter().map(|&v| EF::from(v)).collect();
            let d = diff(g, ni, ctx_vals(wit, a), ctx_vals(wit, b)).unwrap_or_default();
            let mut dv: Vec<EF> = d.iter().map(|&v| ef(v)).collect();
            dv.resize(1 << nv, EF::ZERO);
            let mut mles = vec![Mle::Ext(e), Mle::Ext(yv), Mle::Ext(dv)];
            for &p in &aux {
                mles.push(Mle::Base(&w.polys[p]));
            }
            mles
        },
        |p| vec![mask_eq(p)],
    )?;
    ctx.poly_points.push(Claim {
        poly: ypoly,
        point: pt.clone(),
        value: evals[1],
    });
    for (j, &p) in aux.iter().enumerate() {
        ctx.poly_points.push(Claim {
            poly: p,
            point: pt.clone(),
            value: evals[3 + j],
        });
    }
    // d(t) = Σ_i eq(t, i)·(2^ls·a[ma(i)] − 2^rs·b[mb(i)]).
    let e = eq_prefix(&pt, numel);
    let wa: Vec<EF> = scatter(&e, &ma, sa.iter().product())
        .into_iter()
        .map(|x| x * pow2(*lhs_shift))
        .collect();
    let wb: Vec<EF> = scatter(&e, &mb, sb.iter().product())
        .into_iter()
        .map(|x| -x * pow2(*rhs_shift))
        .collect();
    let va = ctx
        .side
        .msg("model.cmp_lhs", 1, || vec![dot(&wa, ctx_vals(wit, a))])?[0];
    ctx.add(a, wa, va);
    ctx.add(b, wb, evals[2] - va);
    Ok(())
}

/// `acc = b' + c·(a' − b')`.
pub fn select<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, w: Vec<EF>, v: EF) -> Result<(), Error> {
    let n = &ctx.g.nodes[ni];
    let QuantOp::Select {
        lhs_shift,
        rhs_shift,
        ..
    } = &n.op
    else {
        return Err(Error::rejected(ctx.side.stage(), "not a select"));
    };
    let (c, a, b) = (n.inputs[0].0, n.inputs[1].0, n.inputs[2].0);
    let sout = ctx.shape(n.output.0);
    let numel: usize = sout.iter().product();
    let nv = compact_vars(numel);
    let maps: Vec<Vec<Option<usize>>> = [c, a, b]
        .iter()
        .map(|&id| sk::broadcast_map(ctx.shape(id), sout))
        .collect();
    let scales = [EF::ONE, pow2(*lhs_shift), pow2(*rhs_shift)];
    let wpad = pad_ext(&w);
    let wit = ctx.wit;
    let comp = Composition::new(
        4,
        vec![
            Term {
                coeff: EF::ONE,
                factors: vec![0, 3],
            },
            Term {
                coeff: EF::ONE,
                factors: vec![0, 1, 2],
            },
            Term {
                coeff: -EF::ONE,
                factors: vec![0, 1, 3],
            },
        ],
    );
    let ids = [c, a, b];
    let (t, evals) = ctx.side.sumcheck(
        v,
        nv,
        &comp,
        1,
        || {
            let mut mles = vec![Mle::Ext(wpad.clone())];
            for k in 0..3 {
                let vals = ctx_vals(wit, ids[k]);
                let mut tab: Vec<EF> = maps[k]
                    .iter()
                    .map(|m| {
                        m.and_then(|j| vals.get(j))
                            .map_or(EF::ZERO, |&x| ef(x) * scales[k])
                    })
                    .collect();
                tab.resize(1 << nv, EF::ZERO);
                mles.push(Mle::Ext(tab));
            }
            mles
        },
        |p| vec![evaluate(&wpad, p)],
    )?;
    let e = eq_prefix(&t, numel);
    for k in 0..3 {
        let wk: Vec<EF> = scatter(&e, &maps[k], ctx.shape(ids[k]).iter().product())
            .into_iter()
            .map(|x| x * scales[k])
            .collect();
        ctx.add(ids[k], wk, evals[k + 1]);
    }
    Ok(())
}
