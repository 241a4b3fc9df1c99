//! What prover and verifier share: the statement's shape, the tree order, each GKR layer's
//! composition, and the claims the protocol reduces to. Defined once so the two cannot drift.

use zkinfer_field::p3_field::{Field, PrimeField64};
use zkinfer_sumcheck::{Composition, Term};

use crate::error::LookupError;
use crate::table::Table;

/// Largest tree depth accepted (2^40 leaves); bounds the verifier's work on hostile shapes.
pub const MAX_VARS: usize = 40;

/// One lookup: `2^num_vars` rows of a witness into table `table`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookupSpec {
    /// Index of the table looked up into.
    pub table: usize,
    /// `log2` of the witness row count.
    pub num_vars: usize,
}

/// The public shape of a lookup statement: the tables and, per lookup, its table and size.
#[derive(Clone)]
pub struct LookupShape<'a, F, EF> {
    /// The tables, indexed by table id.
    pub tables: Vec<&'a dyn Table<F, EF>>,
    /// The lookups, in the order they were added.
    pub lookups: Vec<LookupSpec>,
}

/// A fraction tree: lookups come first (tree `i` = lookup `i`), then tables
/// (tree `lookups.len() + j` = table `j`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tree {
    /// Leaves `(1, β − Σ α^c col_c)`.
    Witness { lookup: usize, table: usize },
    /// Leaves `(m, β − Σ α^c t_c)`.
    Table { table: usize },
}

/// The trees deeper than `layer` (that layer's active trees), in tree order, and for each
/// whether its children are witness leaves (`p ≡ 1`, not sent).
pub(crate) fn active_trees(trees: &[(Tree, usize)], layer: usize) -> (Vec<usize>, Vec<bool>) {
    let active: Vec<usize> = (0..trees.len()).filter(|&t| trees[t].1 > layer).collect();
    let p_one = active
        .iter()
        .map(|&t| matches!(trees[t].0, Tree::Witness { .. }) && trees[t].1 == layer + 1)
        .collect();
    (active, p_one)
}

impl<F: PrimeField64, EF> LookupShape<'_, F, EF> {
    /// Checks table ids and sizes. The rows looked up in one table must number fewer than the
    /// characteristic: otherwise `p` copies of a false fraction would sum to zero (LogUp's
    /// counting argument needs `N < char F`).
    pub(crate) fn validate(&self) -> Result<(), LookupError> {
        let bad = |reason: String| Err(LookupError::BadShape { reason });
        for (j, t) in self.tables.iter().enumerate() {
            if t.num_vars() > MAX_VARS || t.num_columns() == 0 {
                return bad(format!(
                    "table {j}: {} vars, {} columns",
                    t.num_vars(),
                    t.num_columns()
                ));
            }
        }
        for (i, l) in self.lookups.iter().enumerate() {
            if l.table >= self.tables.len() || l.num_vars > MAX_VARS {
                return bad(format!(
                    "lookup {i}: table {} with {} vars",
                    l.table, l.num_vars
                ));
            }
        }
        for j in 0..self.tables.len() {
            let rows: u128 = self
                .lookups
                .iter()
                .filter(|l| l.table == j)
                .map(|l| 1u128 << l.num_vars)
                .sum();
            if rows >= u128::from(F::ORDER_U64) {
                return bad(format!(
                    "table {j}: {rows} rows looked up, not below the characteristic"
                ));
            }
        }
        Ok(())
    }
}

impl<F, EF> LookupShape<'_, F, EF> {
    /// The rounds of every GKR layer sumcheck with at least one round, in proof order (layer
    /// `k` has `k` rounds and degree 3): the masks a masked proof needs
    /// ([`crate::LookupProver::prove_masked`]).
    pub fn masked_layers(&self) -> Vec<usize> {
        let depth = self.trees().iter().map(|t| t.1).max().unwrap_or(0);
        (1..depth).collect()
    }

    /// Trees in protocol order with their depths.
    pub(crate) fn trees(&self) -> Vec<(Tree, usize)> {
        let w = self.lookups.iter().enumerate().map(|(i, l)| {
            (
                Tree::Witness {
                    lookup: i,
                    table: l.table,
                },
                l.num_vars,
            )
        });
        let t = self
            .tables
            .iter()
            .enumerate()
            .map(|(j, t)| (Tree::Table { table: j }, t.num_vars()));
        w.chain(t).collect()
    }

    /// Bytes absorbed before `α, β`: every table's size and column count, every lookup's table
    /// and size.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut put = |v: usize| out.extend_from_slice(&(v as u64).to_le_bytes());
        put(self.tables.len());
        for t in &self.tables {
            put(t.num_vars());
            put(t.num_columns());
        }
        put(self.lookups.len());
        for l in &self.lookups {
            put(l.table);
            put(l.num_vars);
        }
        out
    }
}

/// Claims at one point: `values[c]` is column `c`'s MLE (or the multiplicity MLE) at `point`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointClaims<EF> {
    /// The evaluation point, little-endian variable order.
    pub point: Vec<EF>,
    /// One value per column.
    pub values: Vec<EF>,
}

/// A masked layer sumcheck's challenge point and its mask values `s_l(r_l)`, which the caller
/// settles against its mask commitment (`zkinfer_sumcheck::mask_claims`).
#[must_use = "mask values must be settled by the caller"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerMask<EF> {
    /// The layer sumcheck's challenges.
    pub point: Vec<EF>,
    /// `s_l(r_l)` per round.
    pub values: Vec<EF>,
}

/// What a lookup proof reduces to.
///
/// # Soundness
/// The lookup statement holds (except with the probability in the crate docs) only once the
/// caller has settled every claim here against trusted values: each witness column's MLE at
/// its point (by the layer that produced the column, or a PCS opening), each table's
/// multiplicity MLE (by a PCS opening of the multiplicity commitment written to the transcript
/// **before** the lookup proof), and each `Some` table-column claim (committed tables).
#[must_use = "lookup claims must be settled by the caller"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupClaims<EF> {
    /// Per lookup: its columns at the lookup's leaf point.
    pub witness: Vec<PointClaims<EF>>,
    /// Per table: the multiplicity MLE at the table's leaf point (one value).
    pub multiplicities: Vec<PointClaims<EF>>,
    /// Per table: its column evaluations if the verifier could not compute them itself.
    pub table_columns: Vec<Option<PointClaims<EF>>>,
}

/// Fraction-tree node values `(p, q)` of one tree at the current point.
pub(crate) type Frac<EF> = (EF, EF);

/// The composition of GKR layer `k` over the active trees (`p_one[t]`: the tree's children
/// are witness leaves, whose `p ≡ 1` is not sent). MLE 0 is `eq(r, ·)`; then per tree
/// `[p0, p1, q0, q1]` or `[q0, q1]`. Tree `t` is weighted by `λ^{2t}` (its `p` relation) and
/// `λ^{2t+1}` (its `q` relation); [`layer_claim`] combines the claims the same way.
pub(crate) fn layer_composition<EF: Field>(lambda: EF, p_one: &[bool]) -> Composition<EF> {
    let mut terms = Vec::with_capacity(3 * p_one.len());
    let mut next = 1;
    let mut w = EF::ONE;
    for &one in p_one {
        let (cp, cq) = (w, w * lambda);
        w = cq * lambda;
        if one {
            let (q0, q1) = (next, next + 1);
            next += 2;
            terms.push(Term {
                coeff: cp,
                factors: vec![0, q0],
            });
            terms.push(Term {
                coeff: cp,
                factors: vec![0, q1],
            });
            terms.push(Term {
                coeff: cq,
                factors: vec![0, q0, q1],
            });
        } else {
            let (p0, p1, q0, q1) = (next, next + 1, next + 2, next + 3);
            next += 4;
            terms.push(Term {
                coeff: cp,
                factors: vec![0, p0, q1],
            });
            terms.push(Term {
                coeff: cp,
                factors: vec![0, p1, q0],
            });
            terms.push(Term {
                coeff: cq,
                factors: vec![0, q0, q1],
            });
        }
    }
    Composition::new(next, terms)
}

/// `Σ_t λ^{2t}·p_t + λ^{2t+1}·q_t`.
pub(crate) fn layer_claim<EF: Field>(lambda: EF, claims: &[Frac<EF>]) -> EF {
    let mut w = EF::ONE;
    let mut acc = EF::ZERO;
    for &(p, q) in claims {
        acc += w * p + w * lambda * q;
        w *= lambda * lambda;
    }
    acc
}

/// Splits a layer's sent evaluations per tree into `(p0, p1, q0, q1)` and folds them with `μ`
/// into the next layer's claims. Returns `None` if `evals` has the wrong length.
pub(crate) fn fold_layer<EF: Field>(evals: &[EF], p_one: &[bool], mu: EF) -> Option<Vec<Frac<EF>>> {
    let mut out = Vec::with_capacity(p_one.len());
    let mut it = evals.iter().copied();
    for &one in p_one {
        let (p0, p1) = if one {
            (EF::ONE, EF::ONE)
        } else {
            (it.next()?, it.next()?)
        };
        let (q0, q1) = (it.next()?, it.next()?);
        out.push((p0 + mu * (p1 - p0), q0 + mu * (q1 - q0)));
    }
    it.next().is_none().then_some(out)
}

/// Number of evaluations sent per layer.
pub(crate) fn layer_width(p_one: &[bool]) -> usize {
    p_one.iter().map(|&one| if one { 2 } else { 4 }).sum()
}

/// `Σ_i α^i·v_i`.
pub(crate) fn combine<EF: Field>(alpha: EF, values: &[EF]) -> EF {
    values
        .iter()
        .rev()
        .fold(EF::ZERO, |acc, &v| acc * alpha + v)
}

/// Transcript labels, shared by both sides.
pub(crate) mod label {
    pub const SHAPE: &str = "logup shape";
    pub const ALPHA: &str = "logup alpha";
    pub const BETA: &str = "logup beta";
    pub const ROOTS: &str = "logup roots";
    pub const LAMBDA: &str = "logup lambda";
    pub const LAYER: &str = "logup layer evals";
    pub const MU: &str = "logup mu";
    pub const WITNESS: &str = "logup witness columns";
    pub const TABLE: &str = "logup table columns";
}
