//! The model proof, prover and verifier side by side: statement binding, witness commitment,
//! one batched lookup argument, the walk ([`crate::walk`]) and two batched PCS openings.

use serde::{Deserialize, Serialize};
use zkinfer_lookup::{LookupProver, LookupShape, LookupSpec, PublicTable, RangeTable, Table};
use zkinfer_model::quant::run::run_quantized;
use zkinfer_model::{QuantizedGraph, Trace};
use zkinfer_pcs::{Claim, MultilinearPcs};
use zkinfer_transcript::{
    decode_envelope, encode_envelope, DomainSeparator, Duplex, ProverTranscript, VerifierTranscript,
};

use crate::error::Error;
use crate::keys::{pcs, GroupOpening, ProvingKey, VerifyingKey};
use crate::layout::{compact_vars, pad_base};
use crate::plan::{Col, Plan, TableSpec};
use crate::side::{ProverSide, ShapeSide, Side, SumcheckShape, VerifierSide};
use crate::walk::{Ctx, Witness};
use crate::{Config, EF, F};
use zkinfer_field::FieldConfig;

const PROOF_KIND: [u8; 4] = *b"ZKPF";
/// Version of the proof file (7: the transcript starts with the mask layout; 8: a masked
/// proof's stack places its blocks largest first; 9: embedding lookups from a committed table
/// are settled on their rows).
pub const PROOF_FORMAT_VERSION: u16 = 9;
/// Most masks one proof may commit (one per sumcheck of the walk; nanoGPT runs 327).
const MAX_MASKS: usize = 1 << 18;
const L_MASKS: &str = "model.masks";

/// How to prove.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProveOptions {
    /// Mask every sumcheck of the walk (Libra-style masks in one hiding commitment, opened
    /// once at the end). A step toward zero knowledge, **not zero-knowledge yet**: the lookup
    /// argument, the evaluations the walk passes on and the witness and weight openings still
    /// reveal information (docs/ZK.md). Off by default.
    pub masked: bool,
}

/// A proof of one inference: the public statement (quantized inputs and outputs) and the
/// transcript bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelProof {
    /// Quantized inputs, one flat row-major list per graph input.
    pub inputs: Vec<Vec<i64>>,
    /// Quantized outputs, one flat row-major list per graph output.
    pub outputs: Vec<Vec<i64>>,
    /// The proof transcript.
    pub transcript: Vec<u8>,
}

impl ModelProof {
    /// Encodes the proof file.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_envelope(
            PROOF_KIND,
            PROOF_FORMAT_VERSION,
            &postcard::to_allocvec(self).unwrap_or_default(),
        )
    }

    /// Decodes untrusted bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let body = decode_envelope(bytes, PROOF_KIND, PROOF_FORMAT_VERSION).map_err(|e| {
            Error::Decode {
                what: "proof",
                reason: e.to_string(),
            }
        })?;
        crate::keys::decode_exact(body).map_err(|e| Error::Decode {
            what: "proof",
            reason: e.to_string(),
        })
    }
}

/// Whether a transcript is a masked walk's (its first message, the mask layout, is not
/// empty). Meaningful for a transcript that verified; reported by `zkinfer verify`.
pub fn transcript_is_masked(transcript: &[u8]) -> bool {
    transcript.get(..4).is_some_and(|b| b != [0, 0, 0, 0])
}

fn domain(vk: &VerifyingKey) -> DomainSeparator {
    DomainSeparator::new("zkinfer-model", 1, Config::ID, &vk.pcs_params)
}

/// Checks the statement against the graph: counts, lengths and the activation range.
fn check_statement(
    g: &QuantizedGraph,
    inputs: &[Vec<i64>],
    outputs: &[Vec<i64>],
) -> Result<(), Error> {
    for (what, ids, vals) in [
        ("input", &g.inputs, inputs),
        ("output", &g.outputs, outputs),
    ] {
        if ids.len() != vals.len() {
            return Err(Error::Statement(format!(
                "{} {what}s given, the model has {}",
                vals.len(),
                ids.len()
            )));
        }
        for (k, (id, v)) in ids.iter().zip(vals).enumerate() {
            let n: usize = g.tensors[id.0].shape.iter().product();
            if v.len() != n {
                return Err(Error::Statement(format!(
                    "{what} {k} has {} values, expected {n}",
                    v.len()
                )));
            }
            let (lo, hi) = g.input_range(*id);
            if what == "input" && v.iter().any(|&x| x < lo || x > hi) {
                return Err(Error::Statement(format!(
                    "{what} {k} has values outside its range [{lo}, {hi}]"
                )));
            }
        }
    }
    Ok(())
}

fn bind_statement<T: Duplex<F>>(
    t: &mut T,
    vk: &VerifyingKey,
    inputs: &[Vec<i64>],
    outputs: &[Vec<i64>],
) -> Result<(), Error> {
    t.observe_bytes("model.commitment", &vk.commitment()?);
    for v in inputs.iter().chain(outputs) {
        let e: Vec<EF> = v.iter().map(|&x| crate::walk::ef(x)).collect();
        t.observe_ext("model.public", &e);
    }
    Ok(())
}

/// The proof's tables.
pub(crate) fn tables(g: &QuantizedGraph, plan: &Plan) -> Vec<Box<dyn Table<F, EF>>> {
    plan.tables
        .iter()
        .map(|s| -> Box<dyn Table<F, EF>> {
            match *s {
                TableSpec::Range(b) => Box::new(RangeTable { bits: b as usize }),
                TableSpec::Graph(i) => {
                    let t = &g.tables[i];
                    let (ins, outs): (Vec<i64>, Vec<i64>) = t.rows().unzip();
                    let fill = (ins[0], outs[0]);
                    let n = ins.len().next_power_of_two();
                    let mut a: Vec<F> =
                        ins.iter().map(|&v| zkinfer_field::from_signed(v)).collect();
                    let mut b: Vec<F> = outs
                        .iter()
                        .map(|&v| zkinfer_field::from_signed(v))
                        .collect();
                    a.resize(n, zkinfer_field::from_signed(fill.0));
                    b.resize(n, zkinfer_field::from_signed(fill.1));
                    Box::new(PublicTable::new(vec![a, b]))
                }
            }
        })
        .collect()
}

fn lookup_shape<'a>(plan: &Plan, tabs: &'a [Box<dyn Table<F, EF>>]) -> LookupShape<'a, F, EF> {
    LookupShape {
        tables: tabs.iter().map(|t| t.as_ref()).collect(),
        lookups: plan
            .lookups
            .iter()
            .map(|l| LookupSpec {
                table: l.table,
                num_vars: compact_vars(l.rows),
            })
            .collect(),
    }
}

/// Everything the prover commits, computed from the trace (each node by its family).
pub(crate) fn build_witness<'a>(
    g: &'a QuantizedGraph,
    plan: &Plan,
    tr: &'a Trace,
) -> Result<Witness<'a>, Error> {
    let mut wit = Witness {
        graph: g,
        trace: tr,
        polys: vec![Vec::new(); plan.polys.len()],
        core: vec![None; g.nodes.len()],
        acc: vec![None; g.nodes.len()],
    };
    for (ni, n) in g.nodes.iter().enumerate() {
        crate::ops::family(g, ni)?
            .witness(&mut wit, g, plan, ni)
            .map_err(|reason| Error::Witness {
                node: n.name.clone(),
                op: n.op.name(),
                reason,
            })?;
    }
    Ok(wit)
}

/// Point claims on one commitment.
type PointClaims = Vec<zkinfer_pcs::Claim<EF>>;

/// The protocol between the lookup argument and the PCS openings, written once for both
/// sides: lookup claims, output claims, the walk and the settlement of every claim. Returns
/// the side and the point claims on the witness and weight commitments.
fn walk_and_settle<S: Side>(
    mut ctx: Ctx<'_, S>,
    lclaims: Option<&zkinfer_lookup::LookupClaims<EF>>,
    group_vars: u8,
) -> Result<(S, PointClaims, PointClaims), Error> {
    if let Some(lc) = lclaims {
        ctx.absorb_lookups(lc)?;
    }
    ctx.output_claims()?;
    ctx.walk()?;
    ctx.finish()?;
    let polys = ctx.plan.weight_polys(ctx.g, group_vars);
    ctx.split_consts(&polys)?;
    ctx.settle_masks()?;
    Ok((ctx.side, ctx.poly_points, ctx.const_points))
}

/// The shape of every sumcheck the walk runs for this key, in order, learned from the key
/// alone by running the verifier's side of the walk on stand-in messages ([`ShapeSide`]): a
/// zero-knowledge proof commits one mask per sumcheck before the walk, so the prover needs
/// the list before it proves anything. Costs about one verification's walk.
pub fn walk_shapes(vk: &VerifyingKey) -> Result<Vec<SumcheckShape>, Error> {
    let g = &vk.graph;
    let plan = &Plan::new(g)?;
    let sized = |ids: &[zkinfer_model::TensorId]| -> Vec<Vec<i64>> {
        ids.iter()
            .map(|i| vec![0; g.tensors[i.0].shape.iter().product()])
            .collect()
    };
    let (inputs, outputs) = (sized(&g.inputs), sized(&g.outputs));
    let mut side = ShapeSide::new();
    let lclaims = if plan.lookups.is_empty() {
        None
    } else {
        let tabs = tables(g, plan);
        let mut stand_in = |vars: usize, n: usize| zkinfer_lookup::PointClaims {
            point: (0..vars)
                .map(|_| side.t().sample_ext("shape.point"))
                .collect(),
            values: (0..n).map(|_| side.t().sample_ext("shape.value")).collect(),
        };
        Some(zkinfer_lookup::LookupClaims {
            witness: plan
                .lookups
                .iter()
                .map(|l| stand_in(compact_vars(l.rows), l.cols.len()))
                .collect(),
            multiplicities: tabs.iter().map(|t| stand_in(t.num_vars(), 1)).collect(),
            table_columns: vec![None; tabs.len()],
        })
    };
    let ctx = Ctx::new(side, g, plan, None, &inputs, &outputs);
    let (side, _, _) = walk_and_settle(ctx, lclaims.as_ref(), vk.weight_group_vars)?;
    Ok(side.shapes)
}

/// Verifies and returns the shape of every sumcheck the verifier ran (for the test that the
/// shape pass predicts them).
#[cfg(test)]
pub(crate) fn verified_shapes(
    vk: &VerifyingKey,
    proof: &ModelProof,
) -> Result<Vec<SumcheckShape>, Error> {
    verify_walk(vk, proof)
}

/// Transcript branches of the two PCS openings (witness, weights), in proof order.
const OPEN_BRANCHES: [&str; 2] = ["model.open_witness", "model.open_weights"];
const L_OPENINGS: &str = "model.openings";

/// Proves one inference on quantized inputs.
pub fn prove(pk: &ProvingKey, inputs: &[Vec<i64>]) -> Result<ModelProof, Error> {
    let g = &pk.graph;
    let outs: Vec<Vec<i64>> = g
        .outputs
        .iter()
        .map(|o| vec![0; g.tensors[o.0].shape.iter().product()])
        .collect();
    check_statement(g, inputs, &outs)?;
    let tr = run_quantized(g, inputs).map_err(|e| Error::Statement(e.to_string()))?;
    prove_trace(pk, &tr)
}

/// Wall-clock time of each proving phase, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProveTimings {
    /// Remainders, lookup columns, multiplicities.
    pub witness_ms: f64,
    /// Witness commitment.
    pub commit_ms: f64,
    /// LogUp-GKR.
    pub lookup_ms: f64,
    /// Output claims, the walk and the collapse sumchecks.
    pub walk_ms: f64,
    /// The two batched PCS openings (run concurrently; the parts below overlap).
    pub open_ms: f64,
    /// Of `open_ms`: the witness opening.
    pub witness_open_ms: f64,
    /// Of `open_ms`: the weight groups' openings proper.
    pub weight_open_ms: f64,
    /// Of `open_ms`: waiting for (or doing) the weight groups' recommitment.
    pub weight_wait_ms: f64,
}

/// Proves the integer run `tr` (its inputs and outputs become the public statement).
pub fn prove_trace(pk: &ProvingKey, tr: &Trace) -> Result<ModelProof, Error> {
    prove_trace_timed(pk, tr).map(|r| r.0)
}

/// [`prove_trace`] with per-phase timings.
pub fn prove_trace_timed(pk: &ProvingKey, tr: &Trace) -> Result<(ModelProof, ProveTimings), Error> {
    prove_trace_with(pk, tr, ProveOptions::default())
}

/// [`prove_trace_timed`] with options.
pub fn prove_trace_with(
    pk: &ProvingKey,
    tr: &Trace,
    opts: ProveOptions,
) -> Result<(ModelProof, ProveTimings), Error> {
    let clock = std::time::Instant::now();
    let wit = build_witness(&pk.graph, &pk.plan, tr)?;
    prove_witness_with(pk, wit, clock, opts)
}

/// Proves from a built witness (`started`: when witness building began, for the timings).
/// Split from [`prove_trace_timed`] so tests can hand it a forged witness.
#[cfg(test)]
pub(crate) fn prove_witness(
    pk: &ProvingKey,
    wit: Witness<'_>,
    started: std::time::Instant,
) -> Result<(ModelProof, ProveTimings), Error> {
    prove_witness_with(pk, wit, started, ProveOptions::default())
}

/// The hiding PCS of the masks.
fn mask_pcs() -> Result<zkinfer_pcs::HidingPcs<Config>, Error> {
    zkinfer_pcs::HidingPcs::new(zkinfer_pcs::WhirParams::default())
        .map_err(|e| Error::Prover(format!("mask commitment: {e}")))
}

type MaskData = zkinfer_pcs::HidingProverData<Config>;
type Mask = zkinfer_sumcheck::Mask<F, EF>;

/// A masked LogUp-GKR layer's challenges and mask values.
fn layer_parts(l: &zkinfer_lookup::LayerMask<EF>) -> (&[EF], &[EF]) {
    (&l.point, &l.values)
}

/// The rounds of each LogUp-GKR layer sumcheck with rounds (each gets a mask of degree 3).
pub(crate) fn lookup_mask_rounds(plan: &Plan, tabs: &[Box<dyn Table<F, EF>>]) -> Vec<usize> {
    if plan.lookups.is_empty() {
        Vec::new()
    } else {
        lookup_shape(plan, tabs).masked_layers()
    }
}

/// The shapes of the masked sumchecks in proof order: the LogUp-GKR layers with rounds
/// (`lookup_rounds`, degree 3), then the walk's sumchecks with rounds.
pub(crate) fn masked_shapes(
    vk: &VerifyingKey,
    lookup_rounds: &[usize],
) -> Result<Vec<SumcheckShape>, Error> {
    let lookups = lookup_rounds
        .iter()
        .map(|&k| SumcheckShape { vars: k, degree: 3 });
    Ok(lookups
        .chain(walk_shapes(vk)?)
        .filter(|s| s.vars > 0)
        .collect())
}

/// Samples one mask per LogUp-GKR layer sumcheck with rounds (`lookup_rounds`), then one per
/// sumcheck of the walk with at least one round, then the settlement's mask (crate `masks`;
/// its size depends on the stack of the witness polynomials of `witness` variables and the
/// other masks), with their stack. An empty list and no stack when no sumcheck has a round
/// (the proof is then the plain one).
fn sample_masks(
    vk: &VerifyingKey,
    witness: &[usize],
    lookup_rounds: &[usize],
) -> Result<(Vec<Mask>, Option<crate::masks::MaskUse>), Error> {
    use rand::RngExt;
    let mut rng = rand::rng();
    let fail = |e: String| Error::Prover(format!("masks: {e}"));
    let mut masks: Vec<Mask> = masked_shapes(vk, lookup_rounds)?
        .into_iter()
        .map(|s| {
            zkinfer_sumcheck::MaskShape::new(s.vars, s.degree)
                .map(|shape| zkinfer_sumcheck::Mask::sample(shape, || rng.random()))
                .map_err(|e| fail(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    if masks.len() >= MAX_MASKS {
        return Err(fail(format!(
            "a masked proof allows fewer than {MAX_MASKS} masked sumchecks, this model runs {}",
            masks.len()
        )));
    }
    if masks.is_empty() {
        return Ok((masks, None));
    }
    let mut layout: Vec<usize> = masks
        .iter()
        .map(|m| m.shape().table_vars::<F, EF>())
        .collect();
    let stack = crate::masks::MaskStack::new(witness, &layout).map_err(fail)?;
    let shape = crate::masks::settlement_shape(&stack).map_err(fail)?;
    layout.push(shape.table_vars::<F, EF>());
    masks.push(zkinfer_sumcheck::Mask::sample(shape, || rng.random()));
    let used = crate::masks::MaskUse::with_stack(layout, stack, 0);
    Ok((masks, Some(used)))
}

/// Writes the mask layout: one byte per mask, its table's number of variables; empty for a
/// plain proof.
fn write_mask_layout(used: Option<&crate::masks::MaskUse>, t: &mut ProverTranscript<F>) {
    let bytes: Vec<u8> = used.map_or(Vec::new(), |u| u.layout.iter().map(|&v| v as u8).collect());
    t.write_bytes(L_MASKS, &bytes);
}

/// Reads the mask layout (empty: a plain proof).
fn read_mask_layout(t: &mut VerifierTranscript<'_, F>) -> Result<Vec<usize>, Error> {
    let bytes = t
        .read_bytes(L_MASKS, MAX_MASKS)
        .map_err(|e| Error::rejected("mask layout", e))?;
    Ok(bytes.iter().map(|&b| b as usize).collect())
}

/// The witness commitment's prover data: plain, or hiding with the masks of a masked walk
/// committed in it after the witness polynomials.
enum WitnessData {
    Plain(Box<zkinfer_pcs::WhirProverData<Config>>),
    Hiding(Box<(zkinfer_pcs::HidingPcs<Config>, MaskData)>),
}

/// The witness commitment on the verifier's side.
enum WitnessCom {
    Plain(zkinfer_pcs::WhirCommitment),
    Hiding(zkinfer_pcs::HidingCommitment),
}

/// The mask PCS on the verifier's side (its randomness is never used there).
fn mask_pcs_verifier() -> zkinfer_pcs::HidingPcs<Config> {
    zkinfer_pcs::HidingPcs::with_seed(zkinfer_pcs::WhirParams::default(), 0)
}

/// Proves from a built witness with options.
pub(crate) fn prove_witness_with(
    pk: &ProvingKey,
    mut wit: Witness<'_>,
    started: std::time::Instant,
    opts: ProveOptions,
) -> Result<(ModelProof, ProveTimings), Error> {
    let mut tm = ProveTimings::default();
    let mut clock = started;
    let mut lap = |slot: &mut f64| {
        *slot = clock.elapsed().as_secs_f64() * 1e3;
        clock = std::time::Instant::now();
    };
    let (g, plan, vk) = (&pk.graph, &pk.plan, &pk.vk);
    let tr = wit.trace;
    let inputs: Vec<Vec<i64>> = g.inputs.iter().map(|i| tr.values[i.0].clone()).collect();
    let outputs: Vec<Vec<i64>> = g.outputs.iter().map(|i| tr.values[i.0].clone()).collect();
    check_statement(g, &inputs, &outputs)?;
    let mut t = ProverTranscript::<F>::new(&domain(vk));
    bind_statement(&mut t, vk, &inputs, &outputs)?;

    let tabs = tables(g, plan);
    // Lookup columns, then multiplicities (committed with the rest before α, β).
    let mut cols: Vec<Vec<Vec<F>>> = plan
        .lookups
        .iter()
        .map(|l| {
            l.cols
                .iter()
                .map(|c| -> Result<Vec<F>, Error> {
                    Ok(match *c {
                        Col::Tensor { id, fill } => pad_base(wit.value(id), fill),
                        Col::Poly(p) => wit.polys[p].clone(),
                        Col::Virtual { node, tag } => crate::ops::family(g, node)?
                            .column(&wit, g, plan, node, tag)
                            .map_err(|reason| Error::Witness {
                                node: g.nodes[node].name.clone(),
                                op: g.nodes[node].op.name(),
                                reason,
                            })?,
                    })
                })
                .collect()
        })
        .collect::<Result<_, Error>>()?;
    for (l, c) in plan.lookups.iter().zip(&mut cols) {
        if l.shift != 0 || l.scale != 1 {
            let (a, b): (F, F) = (
                zkinfer_field::from_signed(l.scale),
                zkinfer_field::from_signed(l.shift),
            );
            c.iter_mut().flatten().for_each(|v| *v = *v * a + b);
        }
    }
    let mut lp = LookupProver::new(tabs.iter().map(|t| t.as_ref()).collect());
    for (l, c) in plan.lookups.iter().zip(&cols) {
        lp.add_lookup(l.table, c.iter().map(Vec::as_slice).collect())
            .map_err(|e| Error::Prover(e.to_string()))?;
    }
    let mults = lp.multiplicities().map_err(|e| {
        let node = match &e {
            zkinfer_lookup::ProverError::NotInTable { lookup, .. } => plan
                .lookups
                .get(*lookup)
                .map(|l| g.nodes[l.node].name.clone())
                .unwrap_or_default(),
            _ => String::new(),
        };
        Error::Witness {
            node,
            op: "lookup".into(),
            reason: e.to_string(),
        }
    })?;
    for (ti, m) in mults.iter().enumerate() {
        wit.polys[plan.mult_poly(ti)] = m.clone();
    }
    debug_assert!(plan
        .polys
        .iter()
        .zip(&wit.polys)
        .all(|((_, nv), p)| p.len() == 1 << nv));
    lap(&mut tm.witness_ms);
    let scheme = pcs();
    let wlayout = plan.witness_layout();
    let (lookup_rounds, masks, mut used) = if opts.masked {
        let rounds = lookup_mask_rounds(plan, &tabs);
        let (masks, used) = sample_masks(vk, &wlayout, &rounds)?;
        (rounds, masks, used)
    } else {
        (Vec::new(), Vec::new(), None)
    };
    // Layout, commitment, binding: the masks are committed with the witness, before α, β.
    write_mask_layout(used.as_ref(), &mut t);
    let refs: Vec<&[F]> = wit.polys.iter().map(Vec::as_slice).collect();
    let mut stacked = Vec::new();
    let wdata = if let Some(u) = used.as_ref() {
        // One polynomial `S` (witness polynomials, walk masks, the settlement's mask, blinding
        // block): every claim becomes a claim on `S`, settled at one point.
        let mut rng = rand::rng();
        stacked = u
            .stack
            .build(&refs, &masks, || rand::RngExt::random(&mut rng));
        let hiding = mask_pcs()?;
        let (c, d) = hiding
            .commit(&[stacked.as_slice()])
            .map_err(|e| Error::Prover(format!("witness and mask commitment: {e}")))?;
        hiding.write_commitment(&c, &mut t);
        Some(WitnessData::Hiding(Box::new((hiding, d))))
    } else if !refs.is_empty() {
        let (c, d) = scheme
            .commit(&refs)
            .map_err(|e| Error::Prover(format!("witness commitment: {e}")))?;
        scheme.write_commitment(&c, &mut t);
        Some(WitnessData::Plain(Box::new(d)))
    } else {
        None
    };
    let bound = if refs.is_empty() {
        Vec::new()
    } else {
        crate::bind::write(&refs, &mut t)
    };
    drop(refs);
    lap(&mut tm.commit_ms);
    let lclaims = if plan.lookups.is_empty() {
        None
    } else if let Some(u) = used.as_mut() {
        // Masked: the first masks of the layout are the GKR layers'.
        let fail = |e: String| Error::Prover(format!("lookup masks: {e}"));
        let taken = u.take_layers(&lookup_rounds).map_err(fail)?;
        let refs: Vec<&Mask> = taken.iter().map(|(k, _)| &masks[*k]).collect();
        let (claims, layers) = lp
            .prove_masked(&mults, &refs, &mut t)
            .map_err(|e| Error::Prover(e.to_string()))?;
        u.settle_layers(&taken, layers.iter().map(layer_parts))
            .map_err(fail)?;
        Some(claims)
    } else {
        Some(
            lp.prove(&mults, &mut t)
                .map_err(|e| Error::Prover(e.to_string()))?,
        )
    };
    lap(&mut tm.lookup_ms);
    // The lookup columns and multiplicities are done with (the walk reads the witness): freed
    // before the walk and the openings, where the proof's memory peaks.
    drop(lp);
    drop(cols);
    drop(mults);
    let mut side = ProverSide::new(t);
    if let Some(u) = used.take() {
        side.masks = Some((masks, u, stacked));
    }
    // The commitment's binding claims join the witness claims (bound before any challenge).
    let mut ctx = Ctx::new(side, g, plan, Some(&wit), &inputs, &outputs);
    ctx.poly_points.extend(bound);
    let (side, mut poly_points, mut const_points) =
        walk_and_settle(ctx, lclaims.as_ref(), vk.weight_group_vars)?;
    let mut t = side.t;
    // The witness's own tables are done with: its commitment's data is what gets opened.
    drop(wit);
    // The weight groups are recommitted from here on (overlapping the witness opening), not
    // through the lookup argument and the walk, where the proof's own memory peaks.
    pk.start_weight_commit();
    lap(&mut tm.walk_ms);
    // Masked: `S(z)` is in `poly_points`; the settlement mask's claims join it.
    if let Some((_, used, _)) = side.masks {
        used.all_used().map_err(Error::Prover)?;
        poly_points.extend(used.claims);
    }
    let groups = vk.weight_openings()?;
    // The two openings run on forked transcripts (their claims are bound above), so their
    // order does not change the proof. They run one after the other, each on every core:
    // run concurrently, the witness opening's data and the largest weight group's (GPT-2's
    // embedding, 2^26 entries) were live at once, ~1–2 GiB more at the peak. The weight
    // groups may still be coming from the background re-commitment.
    let mut br = t.fork(&OPEN_BRANCHES);
    let (bw, bc) = br.split_at_mut(1);
    let ms = |t: std::time::Instant| t.elapsed().as_secs_f64() * 1e3;
    let (rw, rc) = one_then_other(
        || {
            let t0 = std::time::Instant::now();
            let r = match (wdata, poly_points.is_empty()) {
                (Some(WitnessData::Plain(d)), false) => scheme
                    .open_owned(*d, &poly_points, &mut bw[0])
                    .map_err(|e| Error::Prover(format!("witness opening: {e}"))),
                (Some(WitnessData::Hiding(hd)), false) => {
                    hd.0.open(&hd.1, &poly_points, &mut bw[0])
                        .map_err(|e| Error::Prover(format!("witness and mask opening: {e}")))
                }
                _ => Ok(()),
            };
            r.map(|()| ms(t0))
        },
        || {
            let t0 = std::time::Instant::now();
            let mut opening = 0.0;
            let per_group = group_claims(&groups, std::mem::take(&mut const_points))?;
            pk.for_each_weight_group(|gi, data| match &per_group[gi] {
                Some(claims) => {
                    let t = std::time::Instant::now();
                    let r = data
                        .open(claims, &mut bc[0])
                        .map_err(|e| Error::Prover(format!("weight opening (group {gi}): {e}")));
                    opening += ms(t);
                    r
                }
                None => Ok(()),
            })?;
            Ok::<_, Error>((opening, ms(t0) - opening))
        },
    );
    tm.witness_open_ms = rw?;
    (tm.weight_open_ms, tm.weight_wait_ms) = rc?;
    t.join(L_OPENINGS, br);
    lap(&mut tm.open_ms);
    Ok((
        ModelProof {
            inputs,
            outputs,
            transcript: t.finish().bytes,
        },
        tm,
    ))
}

/// Verifies a proof against a verifying key. `Ok` means: the committed model, run exactly as
/// its quantized graph specifies on `proof.inputs`, yields `proof.outputs` (except with the
/// soundness error in the crate docs).
///
/// Never panics on hostile proofs: every read is checked and returns a typed error naming the
/// stage; as a last line of defence an unexpected panic is caught and reported as a rejection.
pub fn verify(vk: &VerifyingKey, proof: &ModelProof) -> Result<(), Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| verify_inner(vk, proof)))
        .unwrap_or_else(|_| {
            Err(Error::rejected(
                "verifier",
                "internal error on malformed input",
            ))
        })
}

/// Checks a verifying key on its own — parameters, field safety of every relation
/// (`Plan::new`), weight layout, and the weight-range proof (once per key in this process) —
/// and returns its plan. [`verify`] runs it first; callers may run it separately to time it.
pub fn check_key(vk: &VerifyingKey) -> Result<Plan, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_key_inner(vk))).unwrap_or_else(
        |_| {
            Err(Error::rejected(
                "verifying key",
                "internal error on malformed input",
            ))
        },
    )
}

fn check_key_inner(vk: &VerifyingKey) -> Result<Plan, Error> {
    let g = &vk.graph;
    if vk.pcs_params != zkinfer_pcs::WhirParams::default().to_bytes() {
        return Err(Error::Statement(
            "verifying key uses other PCS parameters".into(),
        ));
    }
    let plan = Plan::new(g)?;
    // Every layout entry, not only their number: the weight claims are checked against the
    // constants' padded shapes, and a commitment of another layout would open other data.
    // The group size first: it decides how constants split into parts.
    let ranges = vk.weight_ranges()?;
    let want = plan.weight_layout(g, vk.weight_group_vars);
    if want != vk.weight_layout || ranges.len() != vk.weight_groups.len() {
        return Err(Error::Statement(
            "verifying key weight layout does not match its graph".into(),
        ));
    }
    // The committed constants lie in their declared widths (once per key).
    crate::range::verify_cached(vk, &plan)?;
    Ok(plan)
}

/// Splits the walk's claims on constants (indices into the plan's constants) by weight group,
/// re-indexed within the group and followed by the group's binding claims; `None` for a group
/// the walk did not reach (it is not opened). A claim outside every group is an error, never
/// dropped.
/// `(a(), b())`, in that order (`rayon::join`'s shape, without the concurrency).
fn one_then_other<A, B>(a: impl FnOnce() -> A, b: impl FnOnce() -> B) -> (A, B) {
    let x = a();
    (x, b())
}

fn group_claims(
    groups: &[GroupOpening],
    claims: Vec<Claim<EF>>,
) -> Result<Vec<Option<Vec<Claim<EF>>>>, Error> {
    let mut out: Vec<Vec<Claim<EF>>> = vec![Vec::new(); groups.len()];
    for mut c in claims {
        let gi = groups
            .iter()
            .position(|g| g.range.contains(&c.poly))
            .ok_or_else(|| {
                Error::Statement(format!(
                    "claim on constant {} outside every weight group",
                    c.poly
                ))
            })?;
        c.poly -= groups[gi].range.start;
        out[gi].push(c);
    }
    Ok(out
        .into_iter()
        .zip(groups)
        .map(|(mut v, g)| {
            (!v.is_empty()).then(|| {
                v.extend(g.binding.iter().cloned());
                v
            })
        })
        .collect())
}

fn verify_inner(vk: &VerifyingKey, proof: &ModelProof) -> Result<(), Error> {
    verify_walk(vk, proof).map(|_| ())
}

fn verify_walk(vk: &VerifyingKey, proof: &ModelProof) -> Result<Vec<SumcheckShape>, Error> {
    let g = &vk.graph;
    let plan = check_key_inner(vk)?;
    check_statement(g, &proof.inputs, &proof.outputs)?;
    let mut t = VerifierTranscript::<F>::new(&domain(vk), &proof.transcript);
    bind_statement(&mut t, vk, &proof.inputs, &proof.outputs)?;
    let scheme = pcs();
    let mlayout = read_mask_layout(&mut t)?;
    let layout = plan.witness_layout();
    let mut used = if mlayout.is_empty() {
        None
    } else {
        Some(
            crate::masks::MaskUse::new(mlayout, &layout, 0)
                .map_err(|e| Error::rejected("mask layout", e))?,
        )
    };
    let wcom = if let Some(u) = &used {
        // `S`: witness polynomials, walk masks, the settlement's mask, blinding block.
        let all = [u.stack.vars];
        let c = mask_pcs_verifier()
            .read_commitment(&all, &mut t)
            .map_err(|e| Error::rejected("witness and mask commitment", e))?;
        Some(WitnessCom::Hiding(c))
    } else if !layout.is_empty() {
        let c = scheme
            .read_commitment(&layout, &mut t)
            .map_err(|e| Error::rejected("witness commitment", e))?;
        Some(WitnessCom::Plain(c))
    } else {
        None
    };
    let bound = if layout.is_empty() {
        Vec::new()
    } else {
        crate::bind::read(&layout, &mut t)?
    };
    let tabs = tables(g, &plan);
    let lclaims = if plan.lookups.is_empty() {
        None
    } else if let Some(u) = used.as_mut() {
        let fail = |e: String| Error::rejected("lookup masks", e);
        let taken = u
            .take_layers(&lookup_mask_rounds(&plan, &tabs))
            .map_err(fail)?;
        let (claims, layers) = zkinfer_lookup::verify_masked(&lookup_shape(&plan, &tabs), &mut t)
            .map_err(|e| Error::rejected("lookup argument", e))?;
        u.settle_layers(&taken, layers.iter().map(layer_parts))
            .map_err(fail)?;
        Some(claims)
    } else {
        Some(
            zkinfer_lookup::verify(&lookup_shape(&plan, &tabs), &mut t)
                .map_err(|e| Error::rejected("lookup argument", e))?,
        )
    };
    let mut side = VerifierSide::new(t);
    side.masks = used;
    let mut ctx = Ctx::new(side, g, &plan, None, &proof.inputs, &proof.outputs);
    ctx.poly_points.extend(bound);
    let (side, mut poly_points, const_points) =
        walk_and_settle(ctx, lclaims.as_ref(), vk.weight_group_vars)?;
    let shapes = side.shapes;
    let mut t = side.t;
    if let Some(used) = side.masks {
        used.all_used()
            .map_err(|e| Error::rejected("witness and mask opening", e))?;
        poly_points.extend(used.claims);
    }
    let groups = vk.weight_openings()?;
    let mut br = t.fork(&OPEN_BRANCHES);
    let (bw, bc) = br.split_at_mut(1);
    match (&wcom, poly_points.is_empty()) {
        (Some(WitnessCom::Plain(c)), false) => scheme
            .verify(c, &poly_points, &mut bw[0])
            .map_err(|e| Error::rejected("witness opening", e))?,
        (Some(WitnessCom::Hiding(c)), false) => mask_pcs_verifier()
            .verify(c, &poly_points, &mut bw[0])
            .map_err(|e| Error::rejected("witness and mask opening", e))?,
        _ => {}
    }
    bc[0].follow(&bw[0]);
    let per_group = group_claims(&groups, const_points)?;
    for (gi, (g, claims)) in groups.iter().zip(&per_group).enumerate() {
        if let Some(claims) = claims {
            scheme
                .verify(&g.commitment, claims, &mut bc[0])
                .map_err(|e| Error::rejected(&format!("weight opening (group {gi})"), e))?;
        }
    }
    t.join(L_OPENINGS, br);
    t.finish().map_err(|e| Error::rejected("end of proof", e))?;
    Ok(shapes)
}
