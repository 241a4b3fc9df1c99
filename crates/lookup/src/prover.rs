//! The prover: collects lookups, counts multiplicities, builds the fraction trees and runs the
//! layered GKR with the shared (verifier-defined) compositions.

use p3_maybe_rayon::prelude::*;
use zkinfer_field::p3_field::{ExtensionField, PrimeField64};
use zkinfer_poly::evaluate;
use zkinfer_sumcheck::Mask;
use zkinfer_transcript::ProverTranscript;

use crate::error::ProverError;
use crate::fraction::{build, root, Layer};
use crate::layer::Halves;
use crate::shape::{
    active_trees, fold_layer, label, layer_claim, Frac, LayerMask, LookupClaims, LookupShape,
    LookupSpec, PointClaims, Tree,
};
use crate::table::Table;

/// Collects lookups into a fixed set of tables and proves them all in one batched GKR.
pub struct LookupProver<'a, F, EF> {
    tables: Vec<&'a dyn Table<F, EF>>,
    lookups: Vec<(LookupSpec, Vec<&'a [F]>)>,
}

impl<'a, F, EF> LookupProver<'a, F, EF>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    /// A prover over `tables` (table id = index).
    pub fn new(tables: Vec<&'a dyn Table<F, EF>>) -> Self {
        Self {
            tables,
            lookups: Vec::new(),
        }
    }

    /// Adds a lookup of `columns` (one per table column, equal power-of-two lengths; pad with a
    /// row of the table) into table `table`. Returns the lookup's index. Membership is checked
    /// by [`Self::multiplicities`].
    pub fn add_lookup(
        &mut self,
        table: usize,
        columns: Vec<&'a [F]>,
    ) -> Result<usize, ProverError> {
        let lookup = self.lookups.len();
        let t = self
            .tables
            .get(table)
            .ok_or(ProverError::UnknownTable { lookup, table })?;
        if columns.len() != t.num_columns() {
            let (expected, got) = (t.num_columns(), columns.len());
            return Err(ProverError::ColumnCount {
                lookup,
                table,
                expected,
                got,
            });
        }
        let rows = columns[0].len();
        if !rows.is_power_of_two() || columns.iter().any(|c| c.len() != rows) {
            return Err(ProverError::RowCount { lookup });
        }
        let num_vars = rows.trailing_zeros() as usize;
        self.lookups.push((LookupSpec { table, num_vars }, columns));
        Ok(lookup)
    }

    /// The public shape (what the verifier needs besides the proof).
    pub fn shape(&self) -> LookupShape<'a, F, EF> {
        LookupShape {
            tables: self.tables.clone(),
            lookups: self.lookups.iter().map(|l| l.0).collect(),
        }
    }

    /// Per table, how often each of its rows is looked up (summed over every lookup into it).
    /// Errors, naming table, lookup and row, if some witness row is not in its table.
    pub fn multiplicities(&self) -> Result<Vec<Vec<F>>, ProverError> {
        let mut counts: Vec<Vec<u64>> = self
            .tables
            .iter()
            .map(|t| vec![0; 1 << t.num_vars()])
            .collect();
        let mut row = Vec::new();
        for (lookup, (spec, cols)) in self.lookups.iter().enumerate() {
            let table = self.tables[spec.table];
            for i in 0..cols[0].len() {
                row.clear();
                row.extend(cols.iter().map(|c| c[i]));
                let idx = table.index_of(&row).ok_or(ProverError::NotInTable {
                    table: spec.table,
                    lookup,
                    row: i,
                })?;
                counts[spec.table][idx] += 1;
            }
        }
        Ok(counts
            .into_iter()
            .map(|c| c.into_iter().map(F::from_u64).collect())
            .collect())
    }

    /// Proves the lookups with the given multiplicities (normally [`Self::multiplicities`]).
    ///
    /// The caller must first write a commitment to `multiplicities` to `transcript`: `α, β` are
    /// sampled here. The returned claims equal what [`crate::verify`] returns on this proof.
    pub fn prove(
        &self,
        multiplicities: &[Vec<F>],
        transcript: &mut ProverTranscript<F>,
    ) -> Result<LookupClaims<EF>, ProverError> {
        self.prove_masked(multiplicities, &[], transcript)
            .map(|(claims, _)| claims)
    }

    /// [`Self::prove`] with every layer sumcheck that has rounds masked: `masks[i]` (shape
    /// `(k, 3)` for the `i`-th entry `k` of [`LookupShape::masked_layers`]), committed by the
    /// caller (hiding) before the multiplicities' commitment is bound. No masks: the plain
    /// proof. Returns the claims, equal to [`crate::verify_masked`]'s, and per masked layer its
    /// point and mask values, for the caller to settle against the mask commitment.
    pub fn prove_masked(
        &self,
        multiplicities: &[Vec<F>],
        masks: &[&Mask<F, EF>],
        transcript: &mut ProverTranscript<F>,
    ) -> Result<(LookupClaims<EF>, Vec<LayerMask<EF>>), ProverError> {
        let want = self.shape().masked_layers();
        if !masks.is_empty()
            && (masks.len() != want.len()
                || masks
                    .iter()
                    .zip(&want)
                    .any(|(m, &k)| m.shape().vars() != k || m.shape().degree() != 3))
        {
            return Err(ProverError::MaskShape {
                expected: want.len(),
                got: masks.len(),
            });
        }
        let mut layer_masks = Vec::with_capacity(masks.len());
        for (table, t) in self.tables.iter().enumerate() {
            if multiplicities.get(table).map(Vec::len) != Some(1 << t.num_vars()) {
                return Err(ProverError::MultiplicityShape { table });
            }
        }
        let shape = self.shape();
        transcript.observe_bytes(label::SHAPE, &shape.encode());
        let alpha: EF = transcript.sample_ext(label::ALPHA);
        let beta: EF = transcript.sample_ext(label::BETA);
        let trees = shape.trees();
        let table_cols: Vec<Vec<Vec<F>>> = self.tables.iter().map(|t| t.columns()).collect();
        let mut fractions: Vec<Vec<Layer<EF>>> = trees
            .iter()
            .map(|(tree, _)| match *tree {
                Tree::Witness { lookup, .. } => {
                    build(Vec::new(), leaf_q(&self.lookups[lookup].1, alpha, beta))
                }
                Tree::Table { table } => {
                    let m = multiplicities[table].iter().map(|&v| EF::from(v)).collect();
                    build(
                        m,
                        leaf_q(
                            &table_cols[table]
                                .iter()
                                .map(Vec::as_slice)
                                .collect::<Vec<_>>(),
                            alpha,
                            beta,
                        ),
                    )
                }
            })
            .collect();
        let roots: Vec<EF> = fractions
            .iter()
            .flat_map(|f| <[EF; 2]>::from(root(f)))
            .collect();
        transcript.write_ext(label::ROOTS, &roots);

        let mut leaves: Vec<(Vec<EF>, Frac<EF>)> =
            vec![(Vec::new(), (EF::ZERO, EF::ZERO)); trees.len()];
        let mut claims = Vec::with_capacity(trees.len());
        for (t, f) in fractions.iter().enumerate() {
            if trees[t].1 == 0 {
                leaves[t].1 = root(f);
            } else {
                claims.push(root(f));
            }
        }
        let max_depth = trees.iter().map(|t| t.1).max().unwrap_or(0);
        let mut point: Vec<EF> = Vec::new();
        for layer in 0..max_depth {
            let (active, p_one) = active_trees(&trees, layer);
            let lambda: EF = transcript.sample_ext(label::LAMBDA);
            let claim = layer_claim(lambda, &claims);
            let half = 1usize << layer;
            // Each child layer is proven once, here: moved out of its tree (only its upper half
            // is copied), so the layers already proven are freed on the way to the leaves.
            let split = |mut v: Vec<EF>| {
                let hi = v.split_off(half);
                [v, hi]
            };
            let halves = active
                .iter()
                .map(|&t| {
                    let child = std::mem::replace(
                        &mut fractions[t][layer + 1],
                        Layer {
                            p: Vec::new(),
                            q: Vec::new(),
                        },
                    );
                    let p = (!child.p.is_empty()).then(|| split(child.p));
                    Halves {
                        p,
                        q: split(child.q),
                    }
                })
                .collect();
            let mask = if layer > 0 {
                masks.get(layer - 1).copied()
            } else {
                None
            };
            let (layer_point, evals, mask_values) =
                crate::layer::prove(claim, &point, halves, lambda, mask, transcript);
            if mask.is_some() {
                layer_masks.push(LayerMask {
                    point: layer_point.clone(),
                    values: mask_values,
                });
            }
            transcript.write_ext(label::LAYER, &evals);
            let mu: EF = transcript.sample_ext(label::MU);
            let next = fold_layer(&evals, &p_one, mu).expect("prover's own layer evaluations");
            point = layer_point;
            point.push(mu);
            claims.clear();
            for (&t, c) in active.iter().zip(next) {
                if trees[t].1 == layer + 1 {
                    leaves[t] = (point.clone(), c);
                } else {
                    claims.push(c);
                }
            }
        }

        let mut out = LookupClaims {
            witness: Vec::new(),
            multiplicities: Vec::new(),
            table_columns: Vec::new(),
        };
        for ((tree, _), (point, (p, _))) in trees.iter().zip(leaves) {
            match *tree {
                Tree::Witness { lookup, .. } => {
                    let values: Vec<EF> = self.lookups[lookup]
                        .1
                        .iter()
                        .map(|c| evaluate(c, &point))
                        .collect();
                    transcript.write_ext(label::WITNESS, &values);
                    out.witness.push(PointClaims { point, values });
                }
                Tree::Table { table } => {
                    let claim = match self.tables[table].evaluate_mle(&point) {
                        Some(_) => None,
                        None => {
                            let values: Vec<EF> = table_cols[table]
                                .iter()
                                .map(|c| evaluate(c, &point))
                                .collect();
                            transcript.write_ext(label::TABLE, &values);
                            Some(PointClaims {
                                point: point.clone(),
                                values,
                            })
                        }
                    };
                    out.table_columns.push(claim);
                    out.multiplicities.push(PointClaims {
                        point,
                        values: vec![p],
                    });
                }
            }
        }
        Ok((out, layer_masks))
    }
}

/// Leaf denominators `β − Σ_c α^c·col_c[i]`.
fn leaf_q<F: PrimeField64, EF: ExtensionField<F>>(cols: &[&[F]], alpha: EF, beta: EF) -> Vec<EF> {
    let rows = cols[0].len();
    let f = |i: usize| match cols {
        [c] => beta - c[i],
        _ => {
            beta - cols
                .iter()
                .rev()
                .fold(EF::ZERO, |acc, c| acc * alpha + c[i])
        }
    };
    if rows >= 1 << 12 {
        (0..rows).into_par_iter().map(f).collect()
    } else {
        (0..rows).map(f).collect()
    }
}
