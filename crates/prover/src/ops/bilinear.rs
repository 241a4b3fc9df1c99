//! Bilinear accumulators: element-wise products and einsums (Gemm, MatMul, attention's QKᵀ).
//!
//! **Mul** `acc = a'⊙b'` (a', b' the broadcasts): one sumcheck of `Σ_i W(i)·a'(i)·b'(i)` over
//! the compact output (degree 3) ends at a point `t`; `a'(t)` is the weighted claim
//! `Σ_j (Σ_{i↦j} eq(t, i))·a[j]` on `a` (likewise `b`).
//!
//! **Einsum** `acc = einsum(a, b) (+ bias)`: first `Σ_i W(i)·acc(i)` is reduced to a point `s`
//! of the output's padded layout (degree-2 sumcheck), then the classic layer sumcheck: with
//! output labels split into batch (in a, b, out), left (a, out) and right (b, out) labels and
//! summed labels (a, b), `acc(s) = Σ_{β,σ} eq(s_β, β)·Ã(β, σ)·B̃(β, σ)` where `Ã` is `a` with
//! its left labels fixed to `s` (`B̃` likewise): one degree-3 sumcheck over batch ∪ summed
//! variables, ending in one point claim on each operand. Prover time is linear in the sizes
//! of `a`, `b` and `acc`, not in the multiply-add count. Soundness error of each sumcheck:
//! `d·n/|EF|` for degree d over n variables.

use zkinfer_model::kernels::linear::EinsumExpr;
use zkinfer_model::kernels::shape as sk;
use zkinfer_poly::{eq_eval, eq_table, evaluate};
use zkinfer_sumcheck::{Composition, Mle};

use super::ctx_vals;
use crate::error::Error;
use crate::layout::{compact_vars, dot, eq_prefix, pad_ext, scatter, Padded};
use crate::side::Side;
use crate::walk::{ef, Ctx};
use crate::EF;
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// Integers as extension-field elements.
pub(crate) fn to_ext(v: &[i64]) -> Vec<EF> {
    v.iter().map(|&x| ef(x)).collect()
}

/// `acc = a'⊙b'`.
pub fn mul<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, w: Vec<EF>, v: EF) -> Result<(), Error> {
    let n = &ctx.g.nodes[ni];
    let (a, b) = (n.inputs[0].0, n.inputs[1].0);
    let (sa, sb, sout) = (ctx.shape(a), ctx.shape(b), ctx.shape(n.output.0));
    let numel: usize = sout.iter().product();
    let (ma, mb) = (sk::broadcast_map(sa, sout), sk::broadcast_map(sb, sout));
    let wpad = pad_ext(&w);
    let nv = compact_vars(numel);
    let wit = ctx.wit;
    let bcast = |id: usize, map: &[Option<usize>]| -> Vec<EF> {
        let vals = ctx_vals(wit, id);
        let mut t: Vec<EF> = map
            .iter()
            .map(|m| m.and_then(|j| vals.get(j)).map_or(EF::ZERO, |&x| ef(x)))
            .collect();
        t.resize(1 << nv, EF::ZERO);
        t
    };
    let (t, evals) = ctx.side.sumcheck(
        v,
        nv,
        &Composition::product(3),
        1,
        || {
            vec![
                Mle::Ext(wpad.clone()),
                Mle::Ext(bcast(a, &ma)),
                Mle::Ext(bcast(b, &mb)),
            ]
        },
        |p| vec![evaluate(&wpad, p)],
    )?;
    let eqt = eq_prefix(&t, numel);
    let wa = scatter(&eqt, &ma, sa.iter().product());
    let wb = scatter(&eqt, &mb, sb.iter().product());
    ctx.add(a, wa, evals[1]);
    ctx.add(b, wb, evals[2]);
    Ok(())
}

/// Label roles of a two-operand einsum.
struct Labels {
    batch: Vec<char>,
    summed: Vec<char>,
    size: Vec<(char, usize)>,
}

impl Labels {
    fn size(&self, c: char) -> usize {
        self.size.iter().find(|(l, _)| *l == c).map_or(1, |x| x.1)
    }
}

fn classify(e: &EinsumExpr, sa: &[usize], sb: &[usize], sout: &[usize]) -> Option<Labels> {
    let (la, lb, lo) = (&e.inputs[0], &e.inputs[1], &e.output);
    if e.inputs.len() != 2 || la.len() != sa.len() || lb.len() != sb.len() || lo.len() != sout.len()
    {
        return None;
    }
    let mut size: Vec<(char, usize)> = Vec::new();
    for (labels, shape) in [(la, sa), (lb, sb), (lo, sout)] {
        for (i, c) in labels.iter().enumerate() {
            if labels[..i].contains(c) {
                return None; // repeated label (diagonal)
            }
            match size.iter().find(|(l, _)| l == c) {
                Some(&(_, s)) if s != shape[i] => return None, // broadcast: not provable here
                Some(_) => {}
                None => size.push((*c, shape[i])),
            }
        }
    }
    let mut batch = Vec::new();
    for c in lo {
        if !la.contains(c) && !lb.contains(c) {
            // A size-1 output axis neither operand has: no variables, nothing to prove.
            if size.iter().any(|(l, s)| l == c && *s != 1) {
                return None;
            }
            continue;
        }
        if la.contains(c) && lb.contains(c) {
            batch.push(*c);
        }
    }
    let mut summed = Vec::new();
    for c in la.iter().chain(lb.iter()) {
        if !lo.contains(c) {
            if !(la.contains(c) && lb.contains(c)) {
                // Summed over one operand only: fine for a size-1 axis (no variables).
                if size.iter().any(|(l, s)| l == c && *s != 1) {
                    return None;
                }
                continue;
            }
            if !summed.contains(c) {
                summed.push(*c);
            }
        }
    }
    Some(Labels {
        batch,
        summed,
        size,
    })
}

/// `Σ` over the folded labels of `eq(point_c, ·)·T`, as a table over `keep` (each padded).
pub(crate) fn contract(
    vals: &[i64],
    shape: &[usize],
    labels: &[char],
    folds: &[(char, Vec<EF>)],
    keep: &[char],
    keep_sizes: &[usize],
) -> Vec<EF> {
    let kl = Padded::new(keep_sizes);
    let mut out = vec![EF::ZERO; 1 << kl.num_vars()];
    let shifts: Vec<usize> = (0..keep.len())
        .map(|k| ((k + 1)..keep.len()).map(|j| kl.dim_vars(j)).sum())
        .collect();
    // role of each dim: Ok(keep position) or Err(fold position)
    let roles: Vec<Result<usize, usize>> = labels
        .iter()
        .map(|c| match keep.iter().position(|k| k == c) {
            Some(p) => Ok(p),
            None => Err(folds.iter().position(|f| f.0 == *c).unwrap_or(0)),
        })
        .collect();
    let mut idx = vec![0usize; shape.len()];
    for &x in vals {
        let mut coef = EF::ONE;
        let mut target = 0;
        for (d, r) in roles.iter().enumerate() {
            match *r {
                Ok(k) => target += idx[d] << shifts[k],
                Err(f) => coef *= folds[f].1[idx[d]],
            }
        }
        out[target] += coef * ef(x);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// The collapse shared by einsum and convolution: `Σ_i W(i)·acc(i) = v` over the compact
/// accumulator (its bilinear part, without bias) becomes a point `s` of the padded layout
/// `acc_l` and the value `acc(s)` (degree-2 sumcheck; the verifier evaluates `W` itself).
pub(crate) fn accumulator_point<S: Side>(
    ctx: &mut Ctx<'_, S>,
    ni: usize,
    acc_l: &Padded,
    w: &[EF],
    v: EF,
) -> Result<(Vec<EF>, EF), Error> {
    let wpad = acc_l.pad_weights(w);
    let wit = ctx.wit;
    let (s, evals) = ctx.side.sumcheck(
        v,
        acc_l.num_vars(),
        &Composition::product(2),
        1,
        || {
            let core = wit.and_then(|x| x.core[ni].as_deref()).unwrap_or(&[]);
            vec![Mle::Ext(wpad.clone()), Mle::Ext(acc_l.pad(&to_ext(core)))]
        },
        |p| vec![evaluate(&wpad, p)],
    )?;
    Ok((s, evals[1]))
}

/// `acc = einsum(a, b) + bias`.
pub fn einsum<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, w: Vec<EF>, v: EF) -> Result<(), Error> {
    let n = &ctx.g.nodes[ni];
    let bad = |why: &str| Error::Unsupported {
        node: n.name.clone(),
        op: n.op.name(),
        reason: why.to_string(),
    };
    let zkinfer_model::QuantOp::Einsum { expr, .. } = &n.op else {
        return Err(bad("not an einsum"));
    };
    let e = EinsumExpr::parse(expr).ok_or_else(|| bad("bad einsum expression"))?;
    let (a, b) = (n.inputs[0].0, n.inputs[1].0);
    let (sa, sb, sout) = (ctx.shape(a), ctx.shape(b), ctx.shape(n.output.0));
    let lab = classify(&e, sa, sb, sout)
        .ok_or_else(|| {
            bad(&format!(
                "einsum `{expr}` on {sa:?} × {sb:?} → {sout:?} not provable (broadcast, diagonal or one-sided sum)"
            ))
        })?;
    let wit = ctx.wit;
    let mut v_core = v;
    if let Some(bias) = n.inputs.get(2).map(|t| t.0) {
        let sbias = ctx.shape(bias);
        let wb = scatter(&w, &sk::broadcast_map(sbias, sout), sbias.iter().product());
        let vb = ctx
            .side
            .msg("model.bias", 1, || vec![dot(&wb, ctx_vals(wit, bias))])?[0];
        ctx.add(bias, wb, vb);
        v_core -= vb;
    }
    // Phase 1: Σ W·acc → acc(s).
    let acc_l = Padded::new(sout);
    let (s, acc_s) = accumulator_point(ctx, ni, &acc_l, &w, v_core)?;
    // Phase 2: acc(s) = Σ eq(s_β, β)·Ã·B̃.
    let s_parts = acc_l.split(&s);
    let point_of = |c: char| -> Vec<EF> {
        e.output
            .iter()
            .position(|x| *x == c)
            .map(|p| s_parts[p].clone())
            .unwrap_or_default()
    };
    let keep: Vec<char> = lab.batch.iter().chain(&lab.summed).copied().collect();
    let keep_sizes: Vec<usize> = keep.iter().map(|&c| lab.size(c)).collect();
    let kl = Padded::new(&keep_sizes);
    let folds_for = |labels: &[char]| -> Vec<(char, Vec<EF>)> {
        labels
            .iter()
            .filter(|c| !keep.contains(c))
            .map(|&c| (c, eq_table(&point_of(c))))
            .collect()
    };
    let (fa, fb) = (folds_for(&e.inputs[0]), folds_for(&e.inputs[1]));
    let batch_eq: Vec<(char, Vec<EF>)> = lab
        .batch
        .iter()
        .map(|&c| (c, eq_table(&point_of(c))))
        .collect();
    let batch_points: Vec<(usize, Vec<EF>)> = lab
        .batch
        .iter()
        .enumerate()
        .map(|(k, &c)| (k, point_of(c)))
        .collect();
    let (t, evals) = ctx.side.sumcheck(
        acc_s,
        kl.num_vars(),
        &Composition::product(3),
        1,
        || {
            // E(β, σ) = eq(s_β, β) over the whole keep hypercube (padding included).
            let mut etab = vec![EF::ONE; 1 << kl.num_vars()];
            let shifts: Vec<usize> = (0..keep.len())
                .map(|k| ((k + 1)..keep.len()).map(|j| kl.dim_vars(j)).sum())
                .collect();
            for (i, x) in etab.iter_mut().enumerate() {
                for (k, (_, tab)) in batch_eq.iter().enumerate() {
                    let mask = (1usize << kl.dim_vars(k)) - 1;
                    *x *= tab[(i >> shifts[k]) & mask];
                }
            }
            let ta = contract(ctx_vals(wit, a), sa, &e.inputs[0], &fa, &keep, &keep_sizes);
            let tb = contract(ctx_vals(wit, b), sb, &e.inputs[1], &fb, &keep, &keep_sizes);
            vec![Mle::Ext(etab), Mle::Ext(ta), Mle::Ext(tb)]
        },
        |p| {
            let parts = kl.split(p);
            let mut e = EF::ONE;
            for (k, sp) in &batch_points {
                e *= eq_eval(sp, &parts[*k]);
            }
            vec![e]
        },
    )?;
    let t_parts = kl.split(&t);
    let operand_point = |labels: &[char], shape: &[usize]| -> Vec<EF> {
        let per_dim: Vec<Vec<EF>> = labels
            .iter()
            .map(|c| match keep.iter().position(|k| k == c) {
                Some(p) => t_parts[p].clone(),
                None => point_of(*c),
            })
            .collect();
        Padded::new(shape).point(&per_dim)
    };
    let pa = operand_point(&e.inputs[0], sa);
    let pb = operand_point(&e.inputs[1], sb);
    ctx.point_claim(a, pa, evals[1]);
    ctx.point_claim(b, pb, evals[2]);
    Ok(())
}
