//! The verifier: the specification of the protocol.

use zkinfer_field::p3_field::{ExtensionField, PrimeField64};
use zkinfer_poly::eq_eval;
use zkinfer_transcript::VerifierTranscript;

use crate::error::LookupError;
use crate::shape::{
    active_trees, combine, fold_layer, label, layer_claim, layer_composition, layer_width, Frac,
    LayerMask, LookupClaims, LookupShape, PointClaims, Tree,
};
use zkinfer_sumcheck::MaskShape;

/// Verifies a lookup proof for `shape`, reading from `transcript`.
///
/// The caller must have written (prover) / read (verifier) the multiplicity commitment to the
/// transcript before calling: `α` and `β` are sampled here, and multiplicities chosen after
/// them break soundness.
///
/// # Soundness
/// `Ok` only reduces the lookup statement to the returned [`LookupClaims`], which the caller
/// must settle (see there). The verifier does not call `finish` on the transcript.
pub fn verify<F, EF>(
    shape: &LookupShape<'_, F, EF>,
    transcript: &mut VerifierTranscript<'_, F>,
) -> Result<LookupClaims<EF>, LookupError>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    verify_with(shape, false, transcript).map(|(claims, _)| claims)
}

/// Verifies a proof of [`crate::LookupProver::prove_masked`]: every layer sumcheck with rounds
/// is a masked sumcheck (`zkinfer_sumcheck::verify_masked`, shape `(k, 3)` at layer `k`).
/// Returns the claims and, per masked layer in order, its point and mask values, which the
/// caller must settle against the mask commitment it read before the multiplicities'.
///
/// # Soundness
/// As [`verify`], plus per masked layer the masked sumcheck's error (`zkinfer_sumcheck`'s
/// `zk` module: `1/|EF|` for `ρ` and `k·3/|EF|` for the rounds, the mask's degree being 3) and
/// the error of the caller's mask opening.
pub fn verify_masked<F, EF>(
    shape: &LookupShape<'_, F, EF>,
    transcript: &mut VerifierTranscript<'_, F>,
) -> Result<(LookupClaims<EF>, Vec<LayerMask<EF>>), LookupError>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    verify_with(shape, true, transcript)
}

fn verify_with<F, EF>(
    shape: &LookupShape<'_, F, EF>,
    masked: bool,
    transcript: &mut VerifierTranscript<'_, F>,
) -> Result<(LookupClaims<EF>, Vec<LayerMask<EF>>), LookupError>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    shape.validate()?;
    let mut layer_masks = Vec::new();
    transcript.observe_bytes(label::SHAPE, &shape.encode());
    let alpha: EF = transcript.sample_ext(label::ALPHA);
    let beta: EF = transcript.sample_ext(label::BETA);
    let trees = shape.trees();
    let read = |t: &mut VerifierTranscript<'_, F>, what: &'static str, n: usize| {
        t.read_ext::<EF>(what, n)
            .map_err(|source| LookupError::Transcript { what, source })
    };

    let roots = read(transcript, label::ROOTS, 2 * trees.len())?;
    let roots: Vec<Frac<EF>> = roots.chunks_exact(2).map(|c| (c[0], c[1])).collect();
    check_roots(shape, &trees, &roots)?;

    // Leaf claims per tree, filled as trees reach their leaves; `claims` holds the active
    // (not yet finished) trees' claims, in tree order.
    let mut leaves: Vec<Option<(Vec<EF>, Frac<EF>)>> = vec![None; trees.len()];
    let mut claims = Vec::with_capacity(trees.len());
    for (t, (_, d)) in trees.iter().enumerate() {
        if *d == 0 {
            leaves[t] = Some((Vec::new(), roots[t]));
        } else {
            claims.push(roots[t]);
        }
    }
    let max_depth = trees.iter().map(|t| t.1).max().unwrap_or(0);
    let mut point: Vec<EF> = Vec::new();
    for layer in 0..max_depth {
        let (active, p_one) = active_trees(&trees, layer);
        let lambda: EF = transcript.sample_ext(label::LAMBDA);
        let comp = layer_composition(lambda, &p_one);
        let claim = layer_claim(lambda, &claims);
        let sumcheck_err = |source| LookupError::LayerSumcheck { layer, source };
        let reduced = if masked && layer > 0 {
            let mask = MaskShape::new(layer, 3).map_err(sumcheck_err)?;
            let m = zkinfer_sumcheck::verify_masked::<F, EF>(claim, &mask, transcript)
                .map_err(sumcheck_err)?;
            layer_masks.push(LayerMask {
                point: m.claim.point.clone(),
                values: m.mask_values,
            });
            m.claim
        } else {
            zkinfer_sumcheck::verify::<F, EF>(claim, layer, 3, transcript).map_err(sumcheck_err)?
        };
        let sent = read(transcript, label::LAYER, layer_width(&p_one))?;
        let mut evals = Vec::with_capacity(sent.len() + 1);
        evals.push(eq_eval(&point, &reduced.point));
        evals.extend_from_slice(&sent);
        reduced
            .check(&comp, &evals)
            .map_err(|_| LookupError::LayerCheck { layer })?;
        let mu: EF = transcript.sample_ext(label::MU);
        let next = fold_layer(&sent, &p_one, mu).ok_or(LookupError::LayerCheck { layer })?;
        point = reduced.point;
        point.push(mu);
        claims.clear();
        for (&t, c) in active.iter().zip(next) {
            if trees[t].1 == layer + 1 {
                leaves[t] = Some((point.clone(), c));
            } else {
                claims.push(c);
            }
        }
    }
    let claims = settle_leaves(shape, &trees, leaves, alpha, beta, transcript)?;
    Ok((claims, layer_masks))
}

/// Root denominators nonzero, and per table `Σ p_w/q_w = p_t/q_t` by cross-multiplication.
fn check_roots<F: PrimeField64, EF: ExtensionField<F>>(
    shape: &LookupShape<'_, F, EF>,
    trees: &[(Tree, usize)],
    roots: &[Frac<EF>],
) -> Result<(), LookupError> {
    if let Some(tree) = roots.iter().position(|r| r.1 == EF::ZERO) {
        return Err(LookupError::ZeroDenominator { tree });
    }
    let mut sums: Vec<Frac<EF>> = vec![(EF::ZERO, EF::ONE); shape.tables.len()];
    for ((tree, _), &(p, q)) in trees.iter().zip(roots) {
        match *tree {
            Tree::Witness { table, .. } => {
                let s = &mut sums[table];
                *s = (s.0 * q + p * s.1, s.1 * q);
            }
            Tree::Table { table } => {
                let (sp, sq) = sums[table];
                if sp * q != p * sq {
                    return Err(LookupError::RootMismatch { table });
                }
            }
        }
    }
    Ok(())
}

/// Checks each leaf claim against its columns; collects the claims for the caller.
fn settle_leaves<F, EF>(
    shape: &LookupShape<'_, F, EF>,
    trees: &[(Tree, usize)],
    leaves: Vec<Option<(Vec<EF>, Frac<EF>)>>,
    alpha: EF,
    beta: EF,
    transcript: &mut VerifierTranscript<'_, F>,
) -> Result<LookupClaims<EF>, LookupError>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    let mut out = LookupClaims {
        witness: Vec::new(),
        multiplicities: Vec::new(),
        table_columns: Vec::new(),
    };
    for (t, ((tree, _), leaf)) in trees.iter().zip(leaves).enumerate() {
        // Every tree reaches its leaves within `max_depth` layers.
        let (point, (p, q)) = leaf.ok_or(LookupError::LeafCheck { tree: t })?;
        let (ncols, table) = match *tree {
            Tree::Witness { table, .. } | Tree::Table { table } => {
                (shape.tables[table].num_columns(), table)
            }
        };
        let values = match *tree {
            Tree::Witness { .. } => {
                let v = transcript
                    .read_ext::<EF>(label::WITNESS, ncols)
                    .map_err(|source| LookupError::Transcript {
                        what: label::WITNESS,
                        source,
                    })?;
                if p != EF::ONE {
                    return Err(LookupError::LeafCheck { tree: t });
                }
                v
            }
            Tree::Table { .. } => match shape.tables[table].evaluate_mle(&point) {
                Some(v) => v,
                None => {
                    let v = transcript
                        .read_ext::<EF>(label::TABLE, ncols)
                        .map_err(|source| LookupError::Transcript {
                            what: label::TABLE,
                            source,
                        })?;
                    out.table_columns.push(Some(PointClaims {
                        point: point.clone(),
                        values: v.clone(),
                    }));
                    v
                }
            },
        };
        if values.len() != ncols || q != beta - combine(alpha, &values) {
            return Err(LookupError::LeafCheck { tree: t });
        }
        match *tree {
            Tree::Witness { .. } => out.witness.push(PointClaims { point, values }),
            Tree::Table { .. } => {
                if out.table_columns.len() == out.multiplicities.len() {
                    out.table_columns.push(None);
                }
                out.multiplicities.push(PointClaims {
                    point,
                    values: vec![p],
                });
            }
        }
    }
    Ok(out)
}
