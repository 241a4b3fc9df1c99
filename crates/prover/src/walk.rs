//! The protocol after the witness commitment and the lookup argument, written once for both
//! sides: output claims, the walk from outputs back to inputs, and the final reductions of
//! every claim to PCS openings or to the verifier's own evaluation of the public input.
//!
//! Every claim is a *weighted claim* `Σ_i W[i]·T[i] = v` over a tensor's compact entries with
//! a weight table `W` both sides compute. A point claim is the special case `W = eq(r, ·)`.
//! Claims on one tensor are merged with powers of a fresh challenge ρ (error ≤ k/|EF| for k
//! claims) when its producer is reached; the producer's protocol turns the merged claim into
//! claims on its inputs.

use std::borrow::Cow;

use zkinfer_model::quant::QTensorKind;
use zkinfer_model::{QuantizedGraph, Trace};
use zkinfer_pcs::Claim;
use zkinfer_poly::evaluate;
use zkinfer_sumcheck::{Composition, Mle};

use crate::error::Error;
use crate::layout::{dot, eq_prefix, eq_tail, EqAt, Padded};
use crate::plan::{const_dims, Col, Plan};
use crate::side::Side;
use crate::{EF, F};
use zkinfer_field::p3_field::{Field, PrimeCharacteristicRing};
use zkinfer_transcript::Duplex;

/// A weighted claim `Σ_i w[i]·T[i] = value` over compact entries.
#[derive(Clone, Debug)]
pub struct Weighted {
    /// Weights (length ≤ the table's length; missing entries weigh 0).
    pub w: Vec<EF>,
    /// Claimed value.
    pub value: EF,
}

/// A sparse weighted claim `Σ_k w_k·T[i_k] = value` on a constant, by compact index (repeated
/// indices add up). An embedding lookup touches a few rows of a table with millions of
/// entries: kept sparse, the verifier's cost is the number of entries touched, not the
/// table's size.
#[derive(Clone, Debug)]
pub struct Sparse {
    /// `(compact index, weight)` pairs.
    pub entries: Vec<(usize, EF)>,
    /// Claimed value.
    pub value: EF,
}

/// The merged claims on one constant: `Σ_j c_j·Σ_i w_j[i]·T[i] + Σ_(i, x) x·T[i] = value`.
struct MergedConst {
    /// `(c_j, w_j)`: dense weight tables over the compact entries, with their coefficients.
    dense: Vec<(EF, Vec<EF>)>,
    /// Scaled sparse entries `(compact index, weight)`.
    entries: Vec<(usize, EF)>,
    value: EF,
}

impl MergedConst {
    /// The merged weight on the padded table of layout `pl`.
    fn padded(&self, pl: &Padded) -> Vec<EF> {
        let mut w = vec![EF::ZERO; 1 << pl.num_vars()];
        let row = pl.dims.last().copied().unwrap_or(1).max(1);
        for (c, d) in &self.dense {
            for (ri, chunk) in d.chunks(row).enumerate() {
                let at = pl.pad_index(ri * row);
                for (o, &x) in w[at..at + chunk.len()].iter_mut().zip(chunk) {
                    *o += *c * x;
                }
            }
        }
        for &(i, x) in &self.entries {
            w[pl.pad_index(i)] += x;
        }
        w
    }

    /// The merged weight's multilinear extension at `p` (the verifier's side).
    fn at(&self, pl: &Padded, p: &[EF]) -> EF {
        let eq = EqAt::new(p);
        let dense: EF = self
            .dense
            .iter()
            .map(|(c, d)| {
                let s: EF = d
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| **x != EF::ZERO)
                    .map(|(i, &x)| x * eq.at(pl.pad_index(i)))
                    .sum();
                *c * s
            })
            .sum();
        dense
            + self
                .entries
                .iter()
                .map(|&(i, x)| x * eq.at(pl.pad_index(i)))
                .sum::<EF>()
    }
}

/// `P_b(lo)` for the `m` parts of 2^`v` entries of the padded table of `vals` (layout `pl`),
/// streaming over the compact entries (no padded copy, no 2^v eq table).
fn part_values(vals: &[i64], pl: &Padded, lo: &[EF], v: usize, m: usize) -> Vec<EF> {
    use p3_maybe_rayon::prelude::*;
    let eq = EqAt::new(lo);
    let row = pl.dims.last().copied().unwrap_or(1).max(1);
    let mask = (1usize << v) - 1;
    vals.par_chunks(row)
        .enumerate()
        .fold(
            || vec![EF::ZERO; m],
            |mut acc, (r, xs)| {
                let o = pl.pad_index(r * row);
                for (j, &x) in xs.iter().enumerate() {
                    let p = o + j;
                    if let Some(a) = acc.get_mut(p >> v) {
                        *a += eq.at(p & mask) * ef(x);
                    }
                }
                acc
            },
        )
        .reduce(
            || vec![EF::ZERO; m],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

/// What the prover knows beyond the public statement.
pub struct Witness<'a> {
    /// The graph (constants are read from it, not copied into the trace).
    pub graph: &'a QuantizedGraph,
    /// The integer run.
    pub trace: &'a Trace,
    /// Committed witness polynomials (plan order).
    pub polys: Vec<Vec<F>>,
    /// Per node: the bilinear part of the accumulator (before bias), where one exists.
    pub core: Vec<Option<Vec<i64>>>,
    /// Per node: the full accumulator, for requantizing nodes.
    pub acc: Vec<Option<Vec<i64>>>,
}

impl<'a> Witness<'a> {
    /// Values of tensor `id`: constants from the graph, the rest from the run.
    pub fn value(&self, id: usize) -> &'a [i64] {
        self.trace.value(self.graph, id)
    }
}

/// The walk's state.
pub struct Ctx<'a, S: Side> {
    /// The protocol side.
    pub side: S,
    /// The (public) graph.
    pub g: &'a QuantizedGraph,
    /// The plan.
    pub plan: &'a Plan,
    /// Prover only.
    pub wit: Option<&'a Witness<'a>>,
    /// Public input values.
    pub inputs: &'a [Vec<i64>],
    /// Public output values.
    pub outputs: &'a [Vec<i64>],
    /// Per tensor: pending weighted claims.
    pub claims: Vec<Vec<Weighted>>,
    /// Per constant tensor: pending sparse claims (see [`Ctx::add_sparse`]).
    pub sparse: Vec<Vec<Sparse>>,
    /// Per witness poly: pending weighted claims.
    pub poly_claims: Vec<Vec<Weighted>>,
    /// Point claims on the witness commitment.
    pub poly_points: Vec<Claim<EF>>,
    /// Point claims on the weight commitment (poly = const slot).
    pub const_points: Vec<Claim<EF>>,
}

/// `v` as an extension element.
pub fn ef(v: i64) -> EF {
    EF::from(zkinfer_field::from_signed::<F>(v))
}

/// `2^k` in the field.
pub fn pow2(k: u32) -> EF {
    EF::from(F::from_u64(2).exp_u64(u64::from(k)))
}

impl<'a, S: Side> Ctx<'a, S> {
    /// A fresh walk.
    pub fn new(
        side: S,
        g: &'a QuantizedGraph,
        plan: &'a Plan,
        wit: Option<&'a Witness<'a>>,
        inputs: &'a [Vec<i64>],
        outputs: &'a [Vec<i64>],
    ) -> Self {
        Self {
            side,
            g,
            plan,
            wit,
            inputs,
            outputs,
            claims: vec![Vec::new(); g.tensors.len()],
            sparse: vec![Vec::new(); g.tensors.len()],
            poly_claims: vec![Vec::new(); plan.polys.len()],
            poly_points: Vec::new(),
            const_points: Vec::new(),
        }
    }

    /// Shape of tensor `id`.
    pub fn shape(&self, id: usize) -> &'a [usize] {
        &self.g.tensors[id].shape
    }

    /// Values of tensor `id` (prover only; empty on the verifier).
    pub fn vals(&self, id: usize) -> &'a [i64] {
        match self.wit {
            Some(w) => w.value(id),
            None => &[],
        }
    }

    /// Records a weighted claim on tensor `id`.
    pub fn add(&mut self, id: usize, w: Vec<EF>, value: EF) {
        self.claims[id].push(Weighted { w, value });
    }

    /// Records the sparse claim `Σ_k w_k·T[i_k] = value` on tensor `id`: kept sparse for a
    /// committed constant, made dense otherwise (activations are small).
    pub fn add_sparse(&mut self, id: usize, entries: Vec<(usize, EF)>, value: EF) {
        if self.plan.const_slot.contains_key(&id) {
            self.sparse[id].push(Sparse { entries, value });
            return;
        }
        let mut w = vec![EF::ZERO; self.shape(id).iter().product()];
        for (i, x) in entries {
            if let Some(o) = w.get_mut(i) {
                *o += x;
            }
        }
        self.add(id, w, value);
    }

    /// Records the point claim `T_padded(point) = value` on tensor `id` in its natural padded
    /// layout: a PCS claim for a constant, a weighted claim otherwise.
    pub fn point_claim(&mut self, id: usize, point: Vec<EF>, value: EF) {
        let layout = Padded::new(self.shape(id));
        match self.plan.const_slot.get(&id) {
            Some(&slot) if self.plan.consts[slot].1 == crate::plan::ConstLayout::Natural => {
                self.const_points.push(Claim {
                    poly: slot,
                    point,
                    value,
                })
            }
            _ => {
                let w = layout.compact_weights(&point);
                self.add(id, w, value);
            }
        }
    }

    /// Merges the pending claims on `list` into one with powers of a fresh challenge.
    pub fn merge(&mut self, list: Vec<Weighted>) -> Option<Weighted> {
        if list.len() <= 1 {
            return list.into_iter().next();
        }
        let rho: EF = self.side.t().sample_ext("model.merge");
        let len = list.iter().map(|c| c.w.len()).max().unwrap_or(0);
        let mut w = vec![EF::ZERO; len];
        let mut value = EF::ZERO;
        let mut coeff = EF::ONE;
        for c in list {
            for (o, x) in w.iter_mut().zip(&c.w) {
                *o += coeff * *x;
            }
            value += coeff * c.value;
            coeff *= rho;
        }
        Some(Weighted { w, value })
    }

    /// Takes and merges the claims on tensor `id`.
    pub fn take(&mut self, id: usize) -> Option<Weighted> {
        let list = std::mem::take(&mut self.claims[id]);
        self.merge(list)
    }

    /// Turns the lookup argument's claims into claims on tensors and witness polys.
    pub fn absorb_lookups(&mut self, lc: &zkinfer_lookup::LookupClaims<EF>) -> Result<(), Error> {
        self.side.set_stage("lookup claims".into());
        let plan = self.plan;
        self.side.check(
            lc.witness.len() == plan.lookups.len() && lc.multiplicities.len() == plan.tables.len(),
            "lookup claim count",
        )?;
        for (l, pc) in plan.lookups.iter().zip(&lc.witness) {
            self.side
                .check(pc.values.len() == l.cols.len(), "lookup column count")?;
            // The looked-up column is `scale·col + shift` and `Σ_x eq(r, x) = 1`.
            let inv_scale = ef(l.scale)
                .try_inverse()
                .ok_or_else(|| Error::rejected("lookup claims", "zero column scale in the plan"))?;
            // Every column of a lookup is claimed at the same point: one eq table for all.
            let mut eq: Option<Vec<EF>> = None;
            for (c, &v) in l.cols.iter().zip(&pc.values) {
                let v = (v - ef(l.shift)) * inv_scale;
                match *c {
                    Col::Tensor { id, fill } => {
                        let v = v - ef(fill) * eq_tail(&pc.point, l.rows);
                        let w = eq
                            .get_or_insert_with(|| eq_prefix(&pc.point, l.rows))
                            .clone();
                        self.add(id, w, v);
                    }
                    Col::Virtual { node, tag } => crate::ops::family(self.g, node)?
                        .absorb(self, node, tag, l.rows, &pc.point, v)?,
                    Col::Poly(p) => self.poly_points.push(Claim {
                        poly: p,
                        point: pc.point.clone(),
                        value: v,
                    }),
                }
            }
        }
        for (t, m) in lc.multiplicities.iter().enumerate() {
            let value = *m
                .values
                .first()
                .ok_or_else(|| Error::rejected("lookup claims", "empty multiplicity claim"))?;
            self.poly_points.push(Claim {
                poly: plan.mult_poly(t),
                point: m.point.clone(),
                value,
            });
        }
        if lc.table_columns.iter().any(Option::is_some) {
            return Err(Error::rejected(
                "lookup claims",
                "unexpected committed table",
            ));
        }
        Ok(())
    }

    /// A random evaluation of every public output.
    pub fn output_claims(&mut self) -> Result<(), Error> {
        self.side.set_stage("outputs".into());
        let outs = self.g.outputs.clone();
        for (k, id) in outs.iter().enumerate() {
            let n = self.outputs[k].len();
            let nv = crate::layout::compact_vars(n);
            let r: Vec<EF> = (0..nv)
                .map(|_| self.side.t().sample_ext("model.output_point"))
                .collect();
            let w = eq_prefix(&r, n);
            let v = dot(&w, &self.outputs[k]);
            self.add(id.0, w, v);
        }
        Ok(())
    }

    /// `Σ W·T = v` → `T(s)` for a committed table `T` over `n` variables (the collapse
    /// sumcheck, soundness error `2n/|EF|`): the prover builds `W` and `T` in full, the verifier
    /// only evaluates `W` at the final point.
    fn collapse<'t>(
        &mut self,
        n: usize,
        value: EF,
        weights: impl FnOnce() -> Vec<EF>,
        table: impl FnOnce() -> Cow<'t, [F]>,
        w_at: impl FnOnce(&[EF]) -> EF,
    ) -> Result<(Vec<EF>, EF), Error> {
        // Built only on the prover's side, and held here so the sumcheck reads it in the base
        // field (8 bytes per entry, no extension copy).
        let held = std::cell::OnceCell::new();
        let (point, evals) = self.side.sumcheck(
            value,
            n,
            &Composition::product(2),
            1,
            || vec![Mle::Ext(weights()), Mle::Base(held.get_or_init(table))],
            |p| vec![w_at(p)],
        )?;
        Ok((point, evals[1]))
    }

    /// Takes every pending claim on constant `id`, dense then sparse, and merges them with
    /// powers of one fresh challenge (as [`Ctx::merge`]): the dense claims' weight tables each
    /// with its coefficient (kept whole: GPT-2's tied embedding has a 38.6M-entry dense claim
    /// from the LM head, which as `(index, weight)` pairs would take 0.9 GB more), the sparse
    /// claims' entries scaled, and the merged value.
    fn merge_const(&mut self, id: usize) -> Result<Option<MergedConst>, Error> {
        let dense = std::mem::take(&mut self.claims[id]);
        let sparse = std::mem::take(&mut self.sparse[id]);
        if dense.is_empty() && sparse.is_empty() {
            return Ok(None);
        }
        let rho: EF = if dense.len() + sparse.len() > 1 {
            self.side.t().sample_ext("model.merge")
        } else {
            EF::ONE
        };
        let numel: usize = self.shape(id).iter().product();
        let mut m = MergedConst {
            dense: Vec::with_capacity(dense.len()),
            entries: Vec::new(),
            value: EF::ZERO,
        };
        let mut coeff = EF::ONE;
        for c in dense {
            if c.w.len() > numel {
                return Err(Error::Prover(format!(
                    "a claim on constant `{}` weighs {} entries of its {numel}",
                    self.g.tensors[id].name,
                    c.w.len()
                )));
            }
            m.value += coeff * c.value;
            m.dense.push((coeff, c.w));
            coeff *= rho;
        }
        for c in sparse {
            m.entries
                .extend(c.entries.into_iter().map(|(i, x)| (i, coeff * x)));
            m.value += coeff * c.value;
            coeff *= rho;
        }
        if m.entries.iter().any(|&(i, _)| i >= numel) {
            return Err(Error::Prover(format!(
                "a claim on constant `{}` names an entry past its {numel} entries",
                self.g.tensors[id].name
            )));
        }
        Ok(Some(m))
    }

    /// Settles every remaining claim: inputs by direct evaluation, witness polys and constants
    /// by collapse sumchecks into PCS point claims.
    pub fn finish(&mut self) -> Result<(), Error> {
        let g = self.g;
        for (k, id) in g.inputs.iter().enumerate() {
            self.side.set_stage(format!("input {k}"));
            if let Some(c) = self.take(id.0) {
                let v = dot(&c.w, &self.inputs[k]);
                self.side.check(v == c.value, "input evaluation mismatch")?;
            }
        }
        for p in 0..self.plan.polys.len() {
            self.side
                .set_stage(format!("witness poly {p} ({:?})", self.plan.polys[p].0));
            let list = std::mem::take(&mut self.poly_claims[p]);
            if let Some(c) = self.merge(list) {
                let nv = self.plan.polys[p].1;
                let mut w = c.w;
                w.resize(1 << nv, EF::ZERO);
                let wit = self.wit;
                let (point, value) = self.collapse(
                    nv,
                    c.value,
                    || w.clone(),
                    || wit.map_or(Cow::Borrowed(&[][..]), |w| Cow::Borrowed(&w.polys[p])),
                    |p| evaluate(&w, p),
                )?;
                self.poly_points.push(Claim {
                    poly: p,
                    point,
                    value,
                });
            }
        }
        for slot in 0..self.plan.consts.len() {
            let (id, layout) = self.plan.consts[slot];
            self.side
                .set_stage(format!("constant `{}`", g.tensors[id].name));
            let Some(merged) = self.merge_const(id)? else {
                continue;
            };
            let pl = Padded::new(&const_dims(self.shape(id), layout));
            let vals = self.vals(id);
            let value = merged.value;
            // The prover frees the dense tables once they are scattered into the padded weight.
            let merged = std::cell::RefCell::new(merged);
            let (point, value) = self.collapse(
                pl.num_vars(),
                value,
                || {
                    let mut m = merged.borrow_mut();
                    let w = m.padded(&pl);
                    m.dense = Vec::new();
                    w
                },
                || {
                    let mut t = vec![F::ZERO; 1 << pl.num_vars()];
                    pl.pad_into(vals, &mut t, zkinfer_field::from_signed::<F>);
                    Cow::Owned(t)
                },
                |p| merged.borrow().at(&pl, p),
            )?;
            self.const_points.push(Claim {
                poly: slot,
                point,
                value,
            });
        }
        for (id, t) in g.tensors.iter().enumerate() {
            if !self.claims[id].is_empty() || !self.sparse[id].is_empty() {
                return Err(Error::Prover(format!(
                    "claims left on tensor `{}` ({:?})",
                    t.name,
                    matches!(t.kind, QTensorKind::Activation)
                )));
            }
        }
        Ok(())
    }

    /// Turns the point claims on constants (by plan slot) into claims on the weight
    /// commitment's polynomials `polys` ([`Plan::weight_polys`]). A constant committed whole
    /// keeps its claim. A constant committed as parts `P_b` (2^v entries each, `T(z_lo, z_hi)
    /// = Σ_b eq(z_hi, b)·P_b(z_lo)`) gets one claim per part: when `z_hi` is Boolean (a row
    /// claim, `movement::gather_rows`) only part `z_hi` is claimed, at `z_lo`; otherwise the
    /// prover sends every `P_b(z_lo)` and the verifier checks their `eq(z_hi, ·)` combination
    /// against the claim (exact; each part's value is then the PCS's to prove).
    ///
    /// [`Plan::weight_polys`]: crate::plan::Plan::weight_polys
    pub fn split_consts(&mut self, polys: &[crate::plan::WeightPoly]) -> Result<(), Error> {
        let n = self.plan.consts.len();
        let (mut first, mut parts) = (vec![usize::MAX; n], vec![0usize; n]);
        for (i, p) in polys.iter().enumerate() {
            if p.slot >= n {
                return Err(Error::rejected(
                    "weight claims",
                    "weight layout past the plan",
                ));
            }
            if p.part == 0 {
                first[p.slot] = i;
            }
            parts[p.slot] += 1;
        }
        let claims = std::mem::take(&mut self.const_points);
        let mut out = Vec::with_capacity(claims.len());
        for c in claims {
            let slot = c.poly;
            let (Some(&f), Some(&m)) = (first.get(slot), parts.get(slot)) else {
                return Err(Error::rejected("weight claims", "claim on no constant"));
            };
            if m == 1 {
                out.push(Claim { poly: f, ..c });
                continue;
            }
            let v = polys[f].vars;
            let hi_vars = m.trailing_zeros() as usize;
            if !m.is_power_of_two() || c.point.len() != v + hi_vars {
                return Err(Error::rejected(
                    "weight claims",
                    "claim point does not fit the constant's parts",
                ));
            }
            let (lo, hi) = c.point.split_at(v);
            let boolean: Option<usize> = hi.iter().enumerate().try_fold(0usize, |b, (j, &z)| {
                if z == EF::ONE {
                    Some(b | 1 << j)
                } else if z == EF::ZERO {
                    Some(b)
                } else {
                    None
                }
            });
            if let Some(b) = boolean {
                out.push(Claim {
                    poly: f + b,
                    point: lo.to_vec(),
                    value: c.value,
                });
                continue;
            }
            let (id, layout) = self.plan.consts[slot];
            self.side
                .set_stage(format!("constant `{}` (parts)", self.g.tensors[id].name));
            let vals = self.vals(id);
            let pl = Padded::new(&const_dims(self.shape(id), layout));
            let values = self
                .side
                .msg("model.const_parts", m, || part_values(vals, &pl, lo, v, m))?;
            let eq_hi = zkinfer_poly::eq_table(hi);
            let combined: EF = eq_hi.iter().zip(&values).map(|(&e, &x)| e * x).sum();
            self.side
                .check(combined == c.value, "parts do not add up to the claim")?;
            for (b, value) in values.into_iter().enumerate() {
                out.push(Claim {
                    poly: f + b,
                    point: lo.to_vec(),
                    value,
                });
            }
        }
        self.const_points = out;
        Ok(())
    }

    /// Masked walk: settles every claim on the witness and every walk mask's values, all
    /// claims on the stacked polynomial `S`, with one more masked sumcheck (crate `masks`),
    /// leaving the point claim `S(z)` for the PCS.
    pub fn settle_masks(&mut self) -> Result<(), Error> {
        let Some(crate::masks::Stacked {
            claims,
            stack,
            base,
            table,
        }) = self.side.take_stacked()
        else {
            return Ok(());
        };
        self.side.set_stage("mask settlement".into());
        // Every witness claim (lookups, collapses, binding) becomes a claim on `S` too.
        let mut all = Vec::with_capacity(self.poly_points.len() + claims.len());
        for c in std::mem::take(&mut self.poly_points) {
            let point = stack.point(c.poly, &c.point).ok_or_else(|| {
                Error::rejected("mask settlement", "a witness claim of the wrong shape")
            })?;
            all.push((
                c.poly,
                Claim {
                    poly: base,
                    point,
                    value: c.value,
                },
            ));
        }
        all.extend(claims);
        let claims = all;
        let gamma: EF = self.side.t().sample_ext("model.mask_gamma");
        let value = crate::masks::settlement_value(&claims, gamma);
        let (point, value) = self.collapse(
            stack.vars,
            value,
            || crate::masks::settlement_weights(&stack, &claims, gamma),
            || Cow::Owned(table),
            |z| crate::masks::settlement_weight_at(&claims, gamma, z),
        )?;
        self.poly_points.push(Claim {
            poly: base,
            point,
            value,
        });
        Ok(())
    }

    /// Runs the walk over all nodes, outputs to inputs.
    pub fn walk(&mut self) -> Result<(), Error> {
        for ni in (0..self.g.nodes.len()).rev() {
            crate::ops::backward(self, ni)?;
        }
        Ok(())
    }
}
