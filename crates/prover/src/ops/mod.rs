//! Op families: each module proves one family of ops and owns everything it contributes to a
//! proof — its parameter checks, its plan entries (committed polys, lookups, tables), its
//! witness columns, its virtual lookup columns, the relations it checks, and its reduction
//! of a claim on its output to claims on its inputs — behind [`OpFamily`]. [`registry!`] lists
//! the families in one place: adding an op family is one new module and one line there.
//!
//! Linear and structural ops (Move, Pad, Concat, Add/Sub, ReduceSum, SumPool, Rescale) move
//! weights through their index maps: `Σ_i W[i]·y[i] = Σ_j (Aᵀ W)[j]·x[j]` — no proof bytes.
//! Requantization is linear in the accumulator and the committed remainder limbs. Bilinear
//! ops (Einsum, Conv, Mul) run sumchecks ([`bilinear`], [`conv`]). Lookup outputs are
//! committed, so their claims go to the witness opening.

pub mod argmax;
pub mod attain;
pub mod bilinear;
pub mod compare;
pub mod conv;
pub mod lookup;
pub mod max;
pub mod movement;
pub mod requant;
pub mod softmax;

use zkinfer_model::quant::QuantNode;
use zkinfer_model::{QuantOp, QuantizedGraph};

use crate::error::Error;
use crate::plan::{ConstLayout, Plan, PlanBuilder};
use crate::side::Side;
use crate::walk::{Ctx, Weighted, Witness};
use crate::{EF, F};

/// What one op family contributes to a proof. Everything is derived from the public graph
/// (both sides) except [`OpFamily::witness`] and [`OpFamily::column`] (prover only). The
/// verifier-side methods are the specification; the prover runs the same code through
/// [`Side`].
pub trait OpFamily {
    /// Whether this family proves `op`.
    fn owns(op: &QuantOp) -> bool;

    /// Number of inputs (min, max).
    fn arity(_op: &QuantOp) -> (usize, usize) {
        (1, 1)
    }

    /// Parameter checks of a (possibly hostile) node from the graph alone, after the
    /// structural ones (ids in range, arity, requantization multipliers): the reason on
    /// failure.
    fn check(_g: &QuantizedGraph, _n: &QuantNode) -> Result<(), String> {
        Ok(())
    }

    /// How constant input `k` is laid out in the weight commitment.
    fn const_layout(_op: &QuantOp, _k: usize) -> ConstLayout {
        ConstLayout::Natural
    }

    /// The node's plan entries: committed polys, lookups, tables (the reason on refusal).
    fn plan(b: &mut PlanBuilder<'_>, ni: usize) -> Result<(), String>;

    /// Prover: writes the node's committed polys (and accumulators) into `w`.
    fn witness(
        _w: &mut Witness<'_>,
        _g: &QuantizedGraph,
        _plan: &Plan,
        _ni: usize,
    ) -> Result<(), String> {
        Ok(())
    }

    /// Prover: the padded values of virtual lookup column `tag` of node `ni`
    /// (`plan::Col::Virtual`), from the trace and the committed polys.
    fn column(
        _w: &Witness<'_>,
        _g: &QuantizedGraph,
        _plan: &Plan,
        _ni: usize,
        _tag: u8,
    ) -> Result<Vec<F>, String> {
        Err("no virtual column".into())
    }

    /// A lookup claim `col(point) = value` on virtual column `tag` of node `ni` (`rows` real
    /// rows; the lookup's scale and shift already removed) → claims on committed data.
    fn absorb<S: Side>(
        ctx: &mut Ctx<'_, S>,
        _ni: usize,
        _tag: u8,
        _rows: usize,
        _point: &[EF],
        _value: EF,
    ) -> Result<(), Error> {
        Err(Error::rejected(ctx.side.stage(), "no virtual column"))
    }

    /// Relations checked when the walk reaches the node, before its output claim
    /// (zero-checks over its committed columns; they may add claims on its output).
    fn relations<S: Side>(_ctx: &mut Ctx<'_, S>, _ni: usize) -> Result<(), Error> {
        Ok(())
    }

    /// The merged claim on the node's output → claims on its inputs and committed polys.
    fn backward<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize, claim: Weighted) -> Result<(), Error>;
}

/// Lists the op families: `Variant => Type`. Generates [`Family`], its lookup by op and one
/// dispatching method per [`OpFamily`] method.
macro_rules! registry {
    ($($name:ident => $fam:ty),* $(,)?) => {
        /// Every op family of the prover.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Family {
            $(#[doc = concat!("[`", stringify!($fam), "`]")] $name),*
        }

        impl Family {
            /// The family proving `op`, if any.
            pub fn of(op: &QuantOp) -> Option<Self> {
                $(if <$fam as OpFamily>::owns(op) {
                    return Some(Family::$name);
                })*
                None
            }
            /// [`OpFamily::arity`].
            pub fn arity(self, op: &QuantOp) -> (usize, usize) {
                match self { $(Family::$name => <$fam as OpFamily>::arity(op)),* }
            }
            /// [`OpFamily::check`].
            pub fn check(self, g: &QuantizedGraph, n: &QuantNode) -> Result<(), String> {
                match self { $(Family::$name => <$fam as OpFamily>::check(g, n)),* }
            }
            /// [`OpFamily::const_layout`].
            pub fn const_layout(self, op: &QuantOp, k: usize) -> ConstLayout {
                match self { $(Family::$name => <$fam as OpFamily>::const_layout(op, k)),* }
            }
            /// [`OpFamily::plan`].
            pub fn plan(self, b: &mut PlanBuilder<'_>, ni: usize) -> Result<(), String> {
                match self { $(Family::$name => <$fam as OpFamily>::plan(b, ni)),* }
            }
            /// [`OpFamily::witness`].
            pub fn witness(
                self,
                w: &mut Witness<'_>,
                g: &QuantizedGraph,
                plan: &Plan,
                ni: usize,
            ) -> Result<(), String> {
                match self { $(Family::$name => <$fam as OpFamily>::witness(w, g, plan, ni)),* }
            }
            /// [`OpFamily::column`].
            pub fn column(
                self,
                w: &Witness<'_>,
                g: &QuantizedGraph,
                plan: &Plan,
                ni: usize,
                tag: u8,
            ) -> Result<Vec<F>, String> {
                match self {
                    $(Family::$name => <$fam as OpFamily>::column(w, g, plan, ni, tag)),*
                }
            }
            /// [`OpFamily::absorb`].
            pub fn absorb<S: Side>(
                self,
                ctx: &mut Ctx<'_, S>,
                ni: usize,
                tag: u8,
                rows: usize,
                point: &[EF],
                value: EF,
            ) -> Result<(), Error> {
                match self {
                    $(Family::$name => {
                        <$fam as OpFamily>::absorb(ctx, ni, tag, rows, point, value)
                    }),*
                }
            }
            /// [`OpFamily::relations`].
            pub fn relations<S: Side>(self, ctx: &mut Ctx<'_, S>, ni: usize) -> Result<(), Error> {
                match self { $(Family::$name => <$fam as OpFamily>::relations(ctx, ni)),* }
            }
            /// [`OpFamily::backward`].
            pub fn backward<S: Side>(
                self,
                ctx: &mut Ctx<'_, S>,
                ni: usize,
                claim: Weighted,
            ) -> Result<(), Error> {
                match self { $(Family::$name => <$fam as OpFamily>::backward(ctx, ni, claim)),* }
            }
        }
    };
}

registry! {
    Requant => requant::Requantized,
    Movement => movement::Movement,
    Lookup => lookup::TableLookup,
    Max => max::Max,
    Compare => compare::Comparison,
    Softmax => softmax::Softmax,
    ArgMax => argmax::ArgMax,
}

/// The family of node `ni` (graphs reaching the walk passed `Plan::new`, which refuses ops
/// without one).
pub fn family(g: &QuantizedGraph, ni: usize) -> Result<Family, Error> {
    let n = g
        .nodes
        .get(ni)
        .ok_or_else(|| Error::Prover(format!("node {ni} out of range")))?;
    Family::of(&n.op).ok_or_else(|| Error::Unsupported {
        node: n.name.clone(),
        op: n.op.name(),
        reason: "no proof protocol for this op yet".into(),
    })
}

/// Processes node `ni` in the walk: its relations, then its output claim.
pub fn backward<S: Side>(ctx: &mut Ctx<'_, S>, ni: usize) -> Result<(), Error> {
    let g = ctx.g;
    let n = &g.nodes[ni];
    ctx.side
        .set_stage(format!("node `{}` ({})", n.name, n.op.name()));
    let fam = family(g, ni)?;
    fam.relations(ctx, ni)?;
    match ctx.take(n.output.0) {
        Some(claim) => fam.backward(ctx, ni, claim),
        None => Ok(()),
    }
}

/// A claim on a node's committed output goes to the witness opening.
pub fn to_output_poly<S: Side>(
    ctx: &mut Ctx<'_, S>,
    ni: usize,
    claim: Weighted,
) -> Result<(), Error> {
    let p = ctx.plan.out_poly[ni]
        .ok_or_else(|| Error::rejected(ctx.side.stage(), "no committed output"))?;
    ctx.poly_claims[p].push(claim);
    Ok(())
}

/// Prover: writes node `ni`'s committed output, tail-padded with `fill`.
pub fn write_output(w: &mut Witness<'_>, g: &QuantizedGraph, plan: &Plan, ni: usize, fill: i64) {
    if let Some(p) = plan.out_poly[ni] {
        let y = w.value(g.nodes[ni].output.0);
        w.polys[p] = crate::layout::pad_base(y, fill);
    }
}

/// Prover-side values of a tensor (empty on the verifier).
pub fn ctx_vals<'a>(wit: Option<&'a Witness<'a>>, id: usize) -> &'a [i64] {
    wit.map_or(&[], |w| w.value(id))
}

/// The node's input `k`, or a typed error.
pub fn input(g: &QuantizedGraph, ni: usize, k: usize) -> Result<usize, Error> {
    let n = &g.nodes[ni];
    n.inputs
        .get(k)
        .map(|t| t.0)
        .ok_or_else(|| Error::Prover(format!("node `{}`: missing input {k}", n.name)))
}

/// An `Unsupported` error for node `ni`.
pub fn unsupported(g: &QuantizedGraph, ni: usize, why: &str) -> Error {
    let n = &g.nodes[ni];
    Error::Unsupported {
        node: n.name.clone(),
        op: n.op.name(),
        reason: why.to_string(),
    }
}
