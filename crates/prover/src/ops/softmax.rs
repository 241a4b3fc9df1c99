//! Softmax per row: `m = max x`, `e_i = T(x_i − m)`, `S = Σ e_i`,
//! `y_i = ⌊(2^f·e_i + ⌊S/2⌋)/S⌋`.
//!
//! Committed: the row maxima `m`, the exponentials `e`, the parity bits `b` of `S`
//! (`⌊S/2⌋ = (S − b)/2`), the output `y`, and limbs of the remainder `r` and of its complement
//! `q = S − 1 − r`. Proven by:
//! - lookups: `(x_i − m_row, e_i)` in the exp table (so `x_i ≤ m_row`), `y` in the activation
//!   range, `b ∈ {0, 1}`, limbs of `r` and `q` in range (so `0 ≤ r < S`);
//! - attainment of the maxima (`super::attain`): some `m_row − x_{row,k}` is 0 — a product
//!   zero-check of degree L + 1 for rows of up to 64 elements, a committed one-hot selector
//!   for longer rows (up to [`MAX_ROW`]);
//! - the division and the complement, combined with γ in one degree-3 zero-check over the
//!   elements: `2^f·e + (S − b)/2 − y·S − r = 0` and `Σ 2^{16j} q_j − S + 1 + r = 0`, where
//!   `S` and `b` are broadcast per row (linear in `e` and `b`: their claims become weighted
//!   claims on those polys).
//!
//! Soundness error: the attainment protocol's (`super::attain`), plus the division
//! zero-check's `4·log n/|EF|` for τ, γ and its degree-3 sumcheck.

use zkinfer_model::kernels::reduce;
use zkinfer_model::quant::QuantNode;
use zkinfer_model::{QuantOp, QuantizedGraph};
use zkinfer_pcs::Claim;
use zkinfer_poly::eq_table;
use zkinfer_sumcheck::{Composition, Mle, Term};
use zkinfer_transcript::Duplex;

use super::{attain, ctx_vals, to_output_poly, write_output, OpFamily};
use crate::error::Error;
use crate::layout::{compact_vars, eq_prefix, eq_tail, pad_base};
use crate::plan::{signed_shift, Col, Plan, PlanBuilder, PolyRole, TableSpec, LIMB_BITS};
use crate::side::Side;
use crate::walk::{ef, pow2, Ctx, Weighted, Witness};
use crate::{EF, F};
use zkinfer_field::p3_field::{Field, PrimeCharacteristicRing};

/// The softmax family.
pub struct Softmax;

/// The exp table of softmax node `ni`.
fn exp_table(g: &QuantizedGraph, ni: usize) -> Option<&zkinfer_model::quant::LookupTable> {
    match &g.nodes.get(ni)?.op {
        QuantOp::Softmax { exp_table, .. } => g.tables.get(exp_table.0),
        _ => None,
    }
}

/// The exp table's first input: the padding of the argument column.
fn arg_fill(g: &QuantizedGraph, ni: usize) -> i64 {
    exp_table(g, ni).map_or(0, |t| t.in_min)
}

impl OpFamily for Softmax {
    fn owns(op: &QuantOp) -> bool {
        matches!(op, QuantOp::Softmax { .. })
    }

    fn check(g: &QuantizedGraph, n: &QuantNode) -> Result<(), String> {
        let QuantOp::Softmax {
            out_frac,
            exp_table,
            ..
        } = &n.op
        else {
            return Err("not a softmax".into());
        };
        if *out_frac > g.config.act_bits {
            return Err(format!(
                "softmax output fraction {out_frac} above the activation width"
            ));
        }
        // The maxima are proven attained and every `x − m` is looked up in the table: a
        // domain reaching above 0 would let a smaller element pass as the maximum.
        let t = g
            .tables
            .get(exp_table.0)
            .ok_or("exp table id out of range")?;
        let last = t.in_min.checked_add(t.outputs.len() as i64 - 1);
        if last != Some(0) || t.outputs.iter().any(|&v| v < 0) {
            return Err("exp table must cover [−n, 0] exactly, with non-negative outputs".into());
        }
        Ok(())
    }

    fn plan(b: &mut PlanBuilder<'_>, ni: usize) -> Result<(), String> {
        let g = b.g;
        let QuantOp::Softmax { exp_table: et, .. } = &g.nodes[ni].op else {
            return Err("not a softmax".into());
        };
        let rs = rows(g, ni).ok_or("bad softmax axis")?;
        let len = rs.iter().map(Vec::len).max().unwrap_or(0);
        if len == 0 || len > MAX_ROW {
            return Err(format!(
                "softmax rows of {len} elements (supported: 1..={MAX_ROW})"
            ));
        }
        exp_table(g, ni)
            .filter(|t| t.get(0).is_some_and(|v| v >= 1))
            .ok_or("exp table must map 0 to at least 1")?;
        let act_bits = g.config.act_bits;
        let numel: usize = g.tensors[g.nodes[ni].output.0].shape.iter().product();
        let (nv, nvr) = (compact_vars(numel), compact_vars(rs.len()));
        b.poly(PolyRole::SmMax { node: ni }, nvr);
        let pe = b.poly(PolyRole::SmExp { node: ni }, nv);
        let pb = b.poly(PolyRole::SmBit { node: ni }, nvr);
        let py = b.output(ni, nv);
        b.lookup(
            ni,
            TableSpec::Graph(et.0),
            vec![Col::Virtual { node: ni, tag: 0 }, Col::Poly(pe)],
            numel,
        );
        b.lookup_scaled(
            ni,
            TableSpec::Range(act_bits),
            vec![Col::Poly(py)],
            numel,
            signed_shift(act_bits),
            1,
        );
        b.lookup(ni, TableSpec::Range(1), vec![Col::Poly(pb)], rs.len());
        for part in 0..2 {
            b.limbs(ni, rem_bits(act_bits, len), part * 100, numel);
        }
        attain::plan_selector(b, ni, numel, len);
        Ok(())
    }

    fn witness(
        w: &mut Witness<'_>,
        g: &QuantizedGraph,
        plan: &Plan,
        ni: usize,
    ) -> Result<(), String> {
        let n = &g.nodes[ni];
        let QuantOp::Softmax { out_frac, .. } = &n.op else {
            return Err("not a softmax".into());
        };
        let rs = rows(g, ni).ok_or("rows")?;
        let tab = exp_table(g, ni).ok_or("exp table")?;
        let x = w.value(n.inputs[0].0);
        let sw = witness(tab, &rs, *out_frac, x, w.value(n.output.0))?;
        let ps = polys(plan, ni).ok_or("plan")?;
        write_polys(&ps, tab, &sw, &mut w.polys);
        if let Some(p) = ps.sel {
            w.polys[p] = attain::selector_column(&rs, |r, i| {
                zkinfer_field::from_signed::<F>(sw.m[r] - x[i])
            })?;
        }
        write_output(w, g, plan, ni, 0);
        Ok(())
    }

    /// `x_i − m_row(i)` with the committed maxima `m`.
    fn column(
        w: &Witness<'_>,
        g: &QuantizedGraph,
        plan: &Plan,
        ni: usize,
        _tag: u8,
    ) -> Result<Vec<F>, String> {
        let rs = rows(g, ni).ok_or("rows")?;
        let ps = polys(plan, ni).ok_or("plan")?;
        let x = w.value(g.nodes[ni].inputs[0].0);
        let mut a = vec![0i64; x.len()];
        for (row, &m) in rs.iter().zip(&w.polys[ps.m]) {
            let m = zkinfer_field::to_signed(m);
            for &i in row {
                a[i] = x[i] - m;
            }
        }
        Ok(pad_base(&a, arg_fill(g, ni)))
    }

    fn absorb<S: Side>(
        ctx: &mut Ctx<'_, S>,
        ni: usize,
        _tag: u8,
        rows: usize,
        point: &[EF],
        value: EF,
    ) -> Result<(), Error> {
        let v = value - ef(arg_fill(ctx.g, ni)) * eq_tail(point, rows);
        absorb_arg(ctx, ni, point, v)
    }

    fn relations<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize) -> Result<(), Error> {
        relations(ctx, ni)
    }

    fn backward<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, claim: Weighted) -> Result<(), Error> {
        to_output_poly(ctx, ni, claim)
    }
}

/// Largest softmax row proven.
pub const MAX_ROW: usize = super::attain::MAX_GROUP;

/// Rows (element indices per row) of softmax node `ni`.
pub fn rows(g: &QuantizedGraph, ni: usize) -> Option<Vec<Vec<usize>>> {
    let n = g.nodes.get(ni)?;
    let QuantOp::Softmax { axis, .. } = &n.op else {
        return None;
    };
    let sx = &g.tensors.get(n.inputs.first()?.0)?.shape;
    Some(reduce::reduce_groups(sx, &[*axis]))
}

/// Bits of the remainder limbs: `S < L·2^(A−1)`.
pub fn rem_bits(act_bits: u32, row_len: usize) -> u32 {
    act_bits + crate::layout::log2_ceil(row_len) as u32
}

/// The committed polys of a softmax node, by role.
#[derive(Clone, Debug, Default)]
pub struct Polys {
    /// Row maxima.
    pub m: usize,
    /// Exponentials.
    pub e: usize,
    /// Parity bits of the row sums.
    pub b: usize,
    /// Output.
    pub y: usize,
    /// Remainder limbs (poly, bits).
    pub r: Vec<(usize, u32)>,
    /// Complement limbs (poly, bits).
    pub q: Vec<(usize, u32)>,
    /// Attainment selector (long rows, `super::attain`).
    pub sel: Option<usize>,
}

/// Finds the polys of node `ni` in the plan.
pub fn polys(plan: &Plan, ni: usize) -> Option<Polys> {
    let mut p = Polys::default();
    let mut found = 0;
    for (i, (role, _)) in plan.polys.iter().enumerate() {
        match *role {
            PolyRole::SmMax { node } if node == ni => {
                p.m = i;
                found += 1;
            }
            PolyRole::SmExp { node } if node == ni => {
                p.e = i;
                found += 1;
            }
            PolyRole::SmBit { node } if node == ni => {
                p.b = i;
                found += 1;
            }
            _ => {}
        }
    }
    p.y = plan.out_poly[ni]?;
    let limbs = &plan.limbs[ni];
    let half = limbs.len() / 2;
    p.r = limbs[..half].to_vec();
    p.q = limbs[half..].to_vec();
    p.sel = attain::selector_poly(plan, ni);
    (found == 3).then_some(p)
}

fn poly_vals<'a>(ctx_wit: Option<&'a Witness<'a>>, p: usize) -> &'a [F] {
    ctx_wit.map(|w| w.polys[p].as_slice()).unwrap_or(&[])
}

fn poly_dot(w: &[EF], v: &[F]) -> EF {
    w.iter().zip(v).map(|(&a, &b)| a * EF::from(b)).sum()
}

/// Claim on the exp-argument column `x_i − m_row(i)` at `point` (value already without the
/// tail padding) → claims on `x` and on the `m` poly.
pub fn absorb_arg<S: Side>(
    ctx: &mut Ctx<'_, S>,
    ni: usize,
    point: &[EF],
    value: EF,
) -> Result<(), Error> {
    let g = ctx.g;
    let rs = rows(g, ni).ok_or_else(|| Error::rejected(ctx.side.stage(), "softmax rows"))?;
    let ps =
        polys(ctx.plan, ni).ok_or_else(|| Error::rejected(ctx.side.stage(), "softmax polys"))?;
    let x = g.nodes[ni].inputs[0].0;
    let n: usize = ctx.shape(x).iter().product();
    let w = eq_prefix(point, n);
    let mut wm = vec![EF::ZERO; rs.len()];
    for (r, row) in rs.iter().enumerate() {
        for &i in row {
            wm[r] -= w[i];
        }
    }
    let wit = ctx.wit;
    let vm = ctx.side.msg("model.softmax_m", 1, || {
        vec![poly_dot(&wm, poly_vals(wit, ps.m))]
    })?[0];
    ctx.poly_claims[ps.m].push(Weighted { w: wm, value: vm });
    ctx.add(x, w, value - vm);
    Ok(())
}

/// The two zero-checks of softmax node `ni`.
pub fn relations<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize) -> Result<(), Error> {
    let g = ctx.g;
    let n = &g.nodes[ni];
    let QuantOp::Softmax { out_frac, .. } = &n.op else {
        return Err(Error::rejected(ctx.side.stage(), "not a softmax"));
    };
    let rs = rows(g, ni).ok_or_else(|| Error::rejected(ctx.side.stage(), "softmax rows"))?;
    let ps =
        polys(ctx.plan, ni).ok_or_else(|| Error::rejected(ctx.side.stage(), "softmax polys"))?;
    let x = n.inputs[0].0;
    let nel: usize = ctx.shape(x).iter().product();
    let nrows = rs.len();
    let mut row_of = vec![0usize; nel];
    for (r, row) in rs.iter().enumerate() {
        for &i in row {
            row_of[i] = r;
        }
    }
    let wit = ctx.wit;

    // Attainment of the maxima (`super::attain`): some m_row − x_{row,k} is 0.
    let xv = ctx_vals(wit, x);
    let mv = poly_vals(wit, ps.m);
    let gr = super::attain::Groups {
        groups: &rs,
        max: true,
        nx: nel,
    };
    let red = super::attain::prove(ctx, gr, ps.sel, |r, i| {
        mv[r] - zkinfer_field::from_signed::<F>(xv[i])
    })?;
    let vm = ctx
        .side
        .msg("model.softmax_m", 1, || vec![poly_dot(&red.top, mv)])?[0];
    ctx.poly_claims[ps.m].push(Weighted {
        w: red.top,
        value: vm,
    });
    ctx.add(x, red.x, red.value - vm);

    // Division and complement over the elements.
    let nv = compact_vars(nel);
    let tau: Vec<EF> = (0..nv)
        .map(|_| ctx.side.t().sample_ext("model.softmax_tau"))
        .collect();
    let gamma: EF = ctx.side.t().sample_ext("model.softmax_gamma");
    // MLEs: 0 = R·eq(τ) (known), 1 = e, 2 = S (row sums, broadcast), 3 = b (broadcast),
    // 4 = y, then r limbs, then q limbs.
    let half = EF::from(F::TWO.inverse());
    let mut terms = vec![
        Term {
            coeff: pow2(*out_frac),
            factors: vec![0, 1],
        },
        Term {
            coeff: half,
            factors: vec![0, 2],
        },
        Term {
            coeff: -half,
            factors: vec![0, 3],
        },
        Term {
            coeff: -EF::ONE,
            factors: vec![0, 4, 2],
        },
        // complement: γ·(Σ 2^{16j} q_j − S + 1 + r)
        Term {
            coeff: -gamma,
            factors: vec![0, 2],
        },
        Term {
            coeff: gamma,
            factors: vec![0],
        },
    ];
    let nr = ps.r.len();
    for j in 0..nr {
        let c = pow2(LIMB_BITS * j as u32);
        terms.push(Term {
            coeff: -c,
            factors: vec![0, 5 + j],
        });
        terms.push(Term {
            coeff: gamma * c,
            factors: vec![0, 5 + j],
        });
    }
    for j in 0..ps.q.len() {
        let c = pow2(LIMB_BITS * j as u32);
        terms.push(Term {
            coeff: gamma * c,
            factors: vec![0, 5 + nr + j],
        });
    }
    let comp = Composition::new(5 + nr + ps.q.len(), terms);
    let mask_eq = |p: &[EF]| -> EF {
        let a = eq_prefix(p, nel);
        let b = eq_table(&tau);
        a.iter().zip(&b).map(|(x, y)| *x * *y).sum()
    };
    let (t, evals) = ctx.side.sumcheck(
        EF::ZERO,
        nv,
        &comp,
        1,
        || {
            let w = wit.expect("prover");
            let mut eqm = eq_table(&tau);
            for z in eqm.iter_mut().skip(nel) {
                *z = EF::ZERO;
            }
            let ev = &w.polys[ps.e];
            let bv = &w.polys[ps.b];
            let mut sums = vec![F::ZERO; nrows];
            for (r, row) in rs.iter().enumerate() {
                for &i in row {
                    sums[r] += ev[i];
                }
            }
            let mut sb = vec![EF::ZERO; 1 << nv];
            let mut bb = vec![EF::ZERO; 1 << nv];
            for i in 0..nel {
                sb[i] = EF::from(sums[row_of[i]]);
                bb[i] = EF::from(bv[row_of[i]]);
            }
            let mut mles = vec![
                Mle::Ext(eqm),
                Mle::Base(ev),
                Mle::Ext(sb),
                Mle::Ext(bb),
                Mle::Base(&w.polys[ps.y]),
            ];
            for &(p, _) in ps.r.iter().chain(&ps.q) {
                mles.push(Mle::Base(&w.polys[p]));
            }
            mles
        },
        |p| vec![mask_eq(p)],
    )?;
    // Direct point claims on committed polys.
    let mut direct = vec![(ps.e, evals[1]), (ps.y, evals[4])];
    for (j, &(p, _)) in ps.r.iter().chain(&ps.q).enumerate() {
        direct.push((p, evals[5 + j]));
    }
    for (p, value) in direct {
        ctx.poly_points.push(Claim {
            poly: p,
            point: t.clone(),
            value,
        });
    }
    // S(t) and b(t): weighted claims on the e and b polys.
    let et = eq_prefix(&t, nel);
    let mut we = vec![EF::ZERO; nel];
    let mut wb = vec![EF::ZERO; nrows];
    for (r, row) in rs.iter().enumerate() {
        let s: EF = row.iter().map(|&i| et[i]).sum();
        wb[r] = s;
        for &i in row {
            we[i] = s;
        }
    }
    ctx.poly_claims[ps.e].push(Weighted {
        w: we,
        value: evals[2],
    });
    ctx.poly_claims[ps.b].push(Weighted {
        w: wb,
        value: evals[3],
    });
    Ok(())
}

/// The committed values of one softmax node.
pub struct SoftmaxWitness {
    /// Row maxima.
    pub m: Vec<i64>,
    /// Exponentials.
    pub e: Vec<i64>,
    /// Parity bits of the row sums.
    pub b: Vec<i64>,
    /// Remainders.
    pub r: Vec<i64>,
    /// Complements `S − 1 − r`.
    pub q: Vec<i64>,
}

/// Prover: writes a softmax node's committed maxima, exponentials, parity bits and remainder
/// and complement limbs (not its output or selector) into `polys`.
pub fn write_polys(
    ps: &Polys,
    table: &zkinfer_model::quant::LookupTable,
    w: &SoftmaxWitness,
    polys: &mut [Vec<F>],
) {
    polys[ps.m] = pad_base(&w.m, 0);
    polys[ps.e] = pad_base(&w.e, table.outputs.first().copied().unwrap_or(0));
    polys[ps.b] = pad_base(&w.b, 0);
    for (vals, limbs) in [(&w.r, &ps.r), (&w.q, &ps.q)] {
        for (j, &(p, bits)) in limbs.iter().enumerate() {
            let l: Vec<i64> = vals
                .iter()
                .map(|&v| (v >> (LIMB_BITS as usize * j)) & ((1i64 << bits) - 1))
                .collect();
            polys[p] = pad_base(&l, 0);
        }
    }
}

/// Prover: the committed values of a softmax node from its input and output.
pub fn witness(
    table: &zkinfer_model::quant::LookupTable,
    rs: &[Vec<usize>],
    out_frac: u32,
    x: &[i64],
    y: &[i64],
) -> Result<SoftmaxWitness, String> {
    let m = rs
        .iter()
        .map(|row| row.iter().map(|&i| x[i]).max().ok_or("empty row"))
        .collect::<Result<Vec<i64>, _>>()?;
    witness_with_max(table, rs, out_frac, x, y, m)
}

/// [`witness`] with the row maxima given (tests forge them).
pub fn witness_with_max(
    table: &zkinfer_model::quant::LookupTable,
    rs: &[Vec<usize>],
    out_frac: u32,
    x: &[i64],
    y: &[i64],
    m: Vec<i64>,
) -> Result<SoftmaxWitness, String> {
    let mut e = vec![0i64; x.len()];
    let mut b = Vec::with_capacity(rs.len());
    let mut r = vec![0i64; x.len()];
    let mut q = vec![0i64; x.len()];
    for (row, &mx) in rs.iter().zip(&m) {
        let mut s = 0i64;
        for &i in row {
            e[i] = table.get(x[i] - mx).ok_or("exp table domain")?;
            s += e[i];
        }
        if s < 1 {
            return Err("row sum below 1".into());
        }
        b.push(s & 1);
        for &i in row {
            let rem = (e[i] << out_frac) + s / 2 - y[i] * s;
            if rem < 0 || rem >= s {
                return Err("output inconsistent with the division".into());
            }
            r[i] = rem;
            q[i] = s - 1 - rem;
        }
    }
    Ok(SoftmaxWitness { m, e, b, r, q })
}
