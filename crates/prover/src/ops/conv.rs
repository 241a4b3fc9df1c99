//! Convolution (1-D/2-D/3-D, strides, dilations, padding, groups) and pooling windows.
//!
//! With the output viewed as `[N, G, O/G, P…]` and the weight as `[G, O/G, C/G, K…]`, a point
//! `s = (s_n, s_g, s_j, s_p)` of the accumulator satisfies
//! `acc(s) = Σ_{g,c,k} eq(s_g, g)·W̃(g, c, k)·X̃(g, c, k)` with `W̃ = w(·, s_j, ·, ·)` and
//! `X̃(g, c, k) = Σ_{n,p} eq(s_n, n)·eq(s_p, p)·x[n, g·C/G + c, pos(p, k)]` (in-bounds
//! positions only: zero padding contributes nothing). One degree-3 sumcheck over the
//! `(g, c, k)` variables ends at `t`; `W̃(t)` is a point claim on the committed weight and
//! `X̃(t)` a weighted claim on `x` whose weights (`eq(s_n)·eq(t_g)·eq(t_c)·V`, with
//! `V[q] = Σ_{pos(p,k)=q} eq(t_k, k)·eq(s_p, p)`) the verifier computes in O(P·K + |x|).
//! The accumulator claim itself comes from a degree-2 sumcheck as for einsums.

use zkinfer_model::kernels::linear::{split_layout, window_pos};
use zkinfer_model::ops::WindowSpec;
use zkinfer_model::QuantOp;
use zkinfer_pcs::Claim;
use zkinfer_poly::{eq_eval, eq_table};
use zkinfer_sumcheck::{Composition, Mle};

use super::bilinear::contract;
use super::ctx_vals;
use crate::error::Error;
use crate::layout::{dot, Padded};
use crate::plan::const_dims;
use crate::side::Side;
use crate::walk::{ef, Ctx};
use crate::EF;
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// Iterates a multi-index over `shape` (row-major), calling `f(flat, idx)`.
fn each(shape: &[usize], mut f: impl FnMut(usize, &[usize])) {
    let n: usize = shape.iter().product();
    let mut idx = vec![0usize; shape.len()];
    for flat in 0..n {
        f(flat, &idx);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// In-bounds `(output position, kernel offset, input position)` triples of a window geometry
/// over spatial shapes `sp` (input) and `osp` (output), flat row-major indices.
pub fn pairs(win: &WindowSpec, sp: &[usize], osp: &[usize]) -> Option<Vec<(usize, usize, usize)>> {
    let r = win.kernel.len();
    if sp.len() != r
        || osp.len() != r
        || win.strides.len() != r
        || win.dilations.len() != r
        || win.pads_before.len() != r
    {
        return None;
    }
    let sst = zkinfer_model::kernels::strides(sp);
    let mut out = Vec::new();
    each(osp, |pf, p| {
        each(&win.kernel, |kf, k| {
            let mut q = Some(0usize);
            for a in 0..r {
                q = q.and_then(|acc| {
                    window_pos(
                        p[a],
                        k[a],
                        win.strides[a],
                        win.dilations[a],
                        win.pads_before[a],
                        sp[a],
                    )
                    .map(|v| acc + v * sst[a])
                });
            }
            if let Some(q) = q {
                out.push((pf, kf, q));
            }
        });
    });
    Some(out)
}

/// For each output element of a pooling over `[N?, C, S…]`, its in-bounds input indices.
pub fn windows(win: &WindowSpec, sx: &[usize], sout: &[usize]) -> Option<Vec<Vec<usize>>> {
    let r = win.kernel.len();
    let (n, c, sp) = split_layout(sx, r)?;
    let (n2, c2, osp) = split_layout(sout, r)?;
    if n != n2 || c != c2 {
        return None;
    }
    let (spn, ospn): (usize, usize) = (sp.iter().product(), osp.iter().product());
    let pr = pairs(win, sp, osp)?;
    let mut out = vec![Vec::new(); n * c * ospn];
    for nc in 0..n * c {
        for &(p, _, q) in &pr {
            out[nc * ospn + p].push(nc * spn + q);
        }
    }
    Some(out)
}

/// `Π_a eq(point_a, idx_a)` for every flat index of `shape`.
fn eq_grid(points: &[Vec<EF>], shape: &[usize]) -> Vec<EF> {
    let tabs: Vec<Vec<EF>> = points.iter().map(|p| eq_table(p)).collect();
    let mut out = Vec::with_capacity(shape.iter().product());
    each(shape, |_, idx| {
        out.push(idx.iter().zip(&tabs).map(|(&i, t)| t[i]).product());
    });
    out
}

/// `acc = conv(x, w) + bias`.
pub fn conv<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, w: Vec<EF>, v: EF) -> Result<(), Error> {
    let node = &ctx.g.nodes[ni];
    let bad = |why: &str| Error::Unsupported {
        node: node.name.clone(),
        op: node.op.name(),
        reason: why.to_string(),
    };
    let QuantOp::Conv { spec, .. } = &node.op else {
        return Err(bad("not a convolution"));
    };
    let (x, wt) = (node.inputs[0].0, node.inputs[1].0);
    let slot = *ctx
        .plan
        .const_slot
        .get(&wt)
        .ok_or_else(|| bad("convolution weights must be constants"))?;
    let (sx, sw, sout) = (ctx.shape(x), ctx.shape(wt), ctx.shape(node.output.0));
    let win = &spec.window;
    let r = win.kernel.len();
    let (n, c, sp) = split_layout(sx, r).ok_or_else(|| bad("input layout"))?;
    let (_, o, osp) = split_layout(sout, r).ok_or_else(|| bad("output layout"))?;
    let g = spec.group.max(1);
    if c % g != 0 || o % g != 0 || sw.len() != r + 2 || sw[1] * g != c || sw[0] != o {
        return Err(bad("inconsistent convolution shapes"));
    }
    let (cg, og) = (c / g, o / g);
    let spn: usize = sp.iter().product();
    let ospn: usize = osp.iter().product();
    let pr = pairs(win, sp, osp).ok_or_else(|| bad("window geometry"))?;
    let wit = ctx.wit;

    let mut v_core = v;
    if let Some(bias) = node.inputs.get(2).map(|t| t.0) {
        let mut wb = vec![EF::ZERO; o];
        for (i, &wi) in w.iter().enumerate() {
            wb[(i / ospn) % o] += wi;
        }
        let vb = ctx
            .side
            .msg("model.bias", 1, || vec![dot(&wb, ctx_vals(wit, bias))])?[0];
        ctx.add(bias, wb, vb);
        v_core -= vb;
    }

    // Phase 1: Σ W·acc → acc(s) on the [N, G, O/G, P…] layout.
    let mut acc_dims = vec![n, g, og];
    acc_dims.extend_from_slice(osp);
    let acc_l = Padded::new(&acc_dims);
    let (s, acc_s) = super::bilinear::accumulator_point(ctx, ni, &acc_l, &w, v_core)?;
    let sp_parts = acc_l.split(&s);
    let (s_n, s_g, s_j) = (&sp_parts[0], &sp_parts[1], &sp_parts[2]);
    let s_p = &sp_parts[3..];

    // Phase 2 over the (g, c, k) space.
    let mut keep_sizes = vec![g, cg];
    keep_sizes.extend_from_slice(&win.kernel);
    let kl = Padded::new(&keep_sizes);
    let kshift: Vec<usize> = (0..keep_sizes.len())
        .map(|k| ((k + 1)..keep_sizes.len()).map(|j| kl.dim_vars(j)).sum())
        .collect();
    let mut kpad = Vec::new();
    each(&win.kernel, |_, k| {
        kpad.push(
            k.iter()
                .enumerate()
                .map(|(a, &v)| v << kshift[2 + a])
                .sum::<usize>(),
        )
    });
    let (t, evals) = ctx.side.sumcheck(
        acc_s,
        kl.num_vars(),
        &Composition::product(3),
        1,
        || {
            let eqg = eq_table(s_g);
            let mut etab = vec![EF::ONE; 1 << kl.num_vars()];
            let mask = (1usize << kl.dim_vars(0)) - 1;
            for (i, e) in etab.iter_mut().enumerate() {
                *e = eqg[(i >> kshift[0]) & mask];
            }
            // W̃: the weight in [G, O/G, C/G, K…] with the O/G label fixed to s_j.
            let wdims = const_dims(sw, crate::plan::ConstLayout::Conv { groups: g });
            let mut labels = vec!['G', 'J', 'C'];
            let klabels: Vec<char> = (0..r).map(|a| char::from(b'0' + a as u8)).collect();
            labels.extend(&klabels);
            let mut keep = vec!['G', 'C'];
            keep.extend(&klabels);
            let wtilde = contract(
                ctx_vals(wit, wt),
                &wdims,
                &labels,
                &[('J', eq_table(s_j))],
                &keep,
                &keep_sizes,
            );
            // X̃.
            let xv = ctx_vals(wit, x);
            let eqn = eq_table(s_n);
            let es = eq_grid(s_p, osp);
            let mut xt = vec![EF::ZERO; 1 << kl.num_vars()];
            for nb in 0..n {
                for gi in 0..g {
                    for ci in 0..cg {
                        let base = (nb * c + gi * cg + ci) * spn;
                        let kb = (gi << kshift[0]) + (ci << kshift[1]);
                        for &(p, k, q) in &pr {
                            xt[kb + kpad[k]] += eqn[nb] * es[p] * ef(xv[base + q]);
                        }
                    }
                }
            }
            vec![Mle::Ext(etab), Mle::Ext(wtilde), Mle::Ext(xt)]
        },
        |p| vec![eq_eval(s_g, &kl.split(p)[0])],
    )?;
    let tp = kl.split(&t);
    let (t_g, t_c, t_k) = (&tp[0], &tp[1], &tp[2..]);
    let wl = Padded::new(&const_dims(
        sw,
        crate::plan::ConstLayout::Conv { groups: g },
    ));
    let mut per_dim = vec![t_g.clone(), s_j.clone(), t_c.clone()];
    per_dim.extend(t_k.iter().cloned());
    ctx.const_points.push(Claim {
        poly: slot,
        point: wl.point(&per_dim),
        value: evals[1],
    });
    // Weights of the X̃(t) claim on x.
    let ek = eq_grid(t_k, &win.kernel);
    let es = eq_grid(s_p, osp);
    let mut vq = vec![EF::ZERO; spn];
    for &(p, k, q) in &pr {
        vq[q] += ek[k] * es[p];
    }
    let (eqn, eqg, eqc) = (eq_table(s_n), eq_table(t_g), eq_table(t_c));
    let mut wx = vec![EF::ZERO; n * c * spn];
    for nb in 0..n {
        for gi in 0..g {
            for ci in 0..cg {
                let f = eqn[nb] * eqg[gi] * eqc[ci];
                let base = (nb * c + gi * cg + ci) * spn;
                for (q, &vv) in vq.iter().enumerate() {
                    wx[base + q] = f * vv;
                }
            }
        }
    }
    ctx.add(x, wx, evals[2]);
    Ok(())
}
