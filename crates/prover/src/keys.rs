//! Compile: commit every constant once; the proving key (`model.zkm`) and the verifying key
//! (`model.vk`, no weights).

use serde::{Deserialize, Serialize};
use zkinfer_model::quant::QTensorKind;
use zkinfer_model::QuantizedGraph;
use zkinfer_pcs::{WhirCommitment, WhirParams, WhirPcs};
use zkinfer_transcript::{decode_envelope, encode_envelope};

use crate::error::Error;
use crate::plan::Plan;
use crate::weights::{Held, Opening, WeightGroup, GROUP_VARS, GROUP_VARS_RANGE};
use crate::{Config, EF};

const VK_KIND: [u8; 4] = *b"ZKVK";
const PK_KIND: [u8; 4] = *b"ZKMD";
/// Format version of keys and proofs.
pub const FORMAT_VERSION: u16 = 6;

/// The verifying key: the quantized graph without weights, the weight commitment and the
/// proof-system parameters. Its hash is the model commitment `C_M`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyingKey {
    /// The graph; constants carry no data.
    pub graph: QuantizedGraph,
    /// PCS parameters (serialized `WhirParams`).
    pub pcs_params: Vec<u8>,
    /// Variables of each committed constant, in plan order.
    pub weight_layout: Vec<usize>,
    /// log2 of the most padded entries of one weight group (in [`GROUP_VARS_RANGE`]).
    pub weight_group_vars: u8,
    /// The weight commitment, in groups of consecutive constants (`weights::split` of the
    /// layout): each with its root, binding values and weight-range proof.
    pub weight_groups: Vec<WeightGroup>,
    /// Application data bound into the model commitment (e.g. an LLM's tokenizer and
    /// statement layout); empty for plain models. The proof system does not interpret it.
    pub app: Vec<u8>,
}

/// Decodes `body` completely: trailing bytes are an error (one valid encoding per object).
pub(crate) fn decode_exact<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, String> {
    match postcard::take_from_bytes(body).map_err(|e| e.to_string())? {
        (v, []) => Ok(v),
        (_, rest) => Err(format!(
            "{} trailing bytes after the encoding (not canonical)",
            rest.len()
        )),
    }
}

/// The PCS used for every commitment.
pub fn pcs() -> WhirPcs<Config> {
    WhirPcs::new(WhirParams::default())
}

impl VerifyingKey {
    /// The model commitment `C_M = Blake3("zkinfer model commitment v1" ‖ vk bytes)`. An
    /// encoding failure is an error, never a fallback hash (which would let two keys share a
    /// commitment).
    pub fn commitment(&self) -> Result<[u8; 32], Error> {
        let bytes = postcard::to_allocvec(self).map_err(|e| Error::Decode {
            what: "verifying key",
            reason: format!("cannot encode: {e}"),
        })?;
        let mut h = blake3::Hasher::new();
        h.update(b"zkinfer model commitment v1");
        h.update(&bytes);
        Ok(*h.finalize().as_bytes())
    }

    /// The weight groups' constant ranges (an error for a group size out of range).
    pub(crate) fn weight_ranges(&self) -> Result<Vec<std::ops::Range<usize>>, Error> {
        if !GROUP_VARS_RANGE.contains(&self.weight_group_vars) {
            return Err(Error::Statement(format!(
                "verifying key: weight group size 2^{} outside 2^{}..=2^{}",
                self.weight_group_vars,
                GROUP_VARS_RANGE.start(),
                GROUP_VARS_RANGE.end()
            )));
        }
        if let Some(i) = self
            .weight_layout
            .iter()
            .position(|&k| k > usize::from(self.weight_group_vars))
        {
            return Err(Error::Statement(format!(
                "verifying key: weight polynomial {i} has 2^{} padded entries, above its \
                 weight group size (2^{})",
                self.weight_layout[i], self.weight_group_vars
            )));
        }
        Ok(crate::weights::split(
            &self.weight_layout,
            self.weight_group_vars,
        ))
    }

    /// Each weight group's constant range, commitment and binding claims (with constant
    /// indices local to the group). Errors when the groups do not match the layout.
    pub(crate) fn weight_openings(&self) -> Result<Vec<GroupOpening>, Error> {
        let ranges = self.weight_ranges()?;
        if ranges.len() != self.weight_groups.len() {
            return Err(Error::Statement(
                "verifying key weight groups do not match its layout".into(),
            ));
        }
        ranges
            .into_iter()
            .zip(&self.weight_groups)
            .map(|(r, g)| {
                let layout = &self.weight_layout[r.clone()];
                let binding =
                    crate::bind::weight_claims(&g.root, layout, &g.binding).ok_or_else(|| {
                        Error::Statement(
                            "verifying key: weight binding values do not match its layout".into(),
                        )
                    })?;
                Ok(GroupOpening {
                    range: r,
                    commitment: crate::weights::commitment(g, layout),
                    binding,
                })
            })
            .collect()
    }

    /// Encodes (versioned envelope).
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_envelope(
            VK_KIND,
            FORMAT_VERSION,
            &postcard::to_allocvec(self).unwrap_or_default(),
        )
    }

    /// Decodes untrusted bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let body = decode_envelope(bytes, VK_KIND, FORMAT_VERSION).map_err(|e| Error::Decode {
            what: "verifying key",
            reason: e.to_string(),
        })?;
        let vk: Self = crate::keys::decode_exact(body).map_err(|e| Error::Decode {
            what: "verifying key",
            reason: e.to_string(),
        })?;
        if vk
            .graph
            .tensors
            .iter()
            .any(|t| matches!(&t.kind, QTensorKind::Const(d) if !d.is_empty()))
        {
            return Err(Error::Decode {
                what: "verifying key",
                reason: "a verifying key must not carry weights".into(),
            });
        }
        Ok(vk)
    }
}

/// One weight group as the walk's claims meet it.
pub(crate) struct GroupOpening {
    /// The group's constants (indices into the plan's constants).
    pub range: std::ops::Range<usize>,
    /// Its commitment.
    pub commitment: WhirCommitment,
    /// Its binding claims (indices local to the group).
    pub binding: Vec<zkinfer_pcs::Claim<EF>>,
}

/// The proving key: the full quantized graph, its plan, the verifying key and the weight
/// commitment's prover data.
pub struct ProvingKey {
    /// The quantized graph with weights (shared with the background weight commitment).
    pub graph: std::sync::Arc<QuantizedGraph>,
    /// The verifying key.
    pub vk: VerifyingKey,
    pub(crate) plan: Plan,
    weights: Held,
}

#[derive(Deserialize)]
struct PkFile {
    graph: QuantizedGraph,
    vk: VerifyingKey,
}

/// [`PkFile`]'s encoding side, borrowing (the same bytes without copying the weights).
#[derive(Serialize)]
struct PkFileRef<'a> {
    graph: &'a QuantizedGraph,
    vk: &'a VerifyingKey,
}

/// The graph without constant values (what the verifying key holds). Built tensor by tensor
/// so that the weights are never copied.
fn strip(g: &QuantizedGraph) -> QuantizedGraph {
    let tensors = g
        .tensors
        .iter()
        .map(|t| zkinfer_model::quant::QTensor {
            name: t.name.clone(),
            shape: t.shape.clone(),
            frac: t.frac,
            kind: match &t.kind {
                QTensorKind::Const(_) => QTensorKind::Const(Vec::new()),
                k => k.clone(),
            },
            float_id: t.float_id,
            bits: t.bits,
        })
        .collect();
    QuantizedGraph {
        config: g.config.clone(),
        tensors,
        nodes: g.nodes.clone(),
        tables: g.tables.clone(),
        inputs: g.inputs.clone(),
        outputs: g.outputs.clone(),
    }
}

/// Compiles a quantized graph: checks every op has a protocol, commits all constants in one
/// PCS commitment and builds the keys.
pub fn compile(graph: QuantizedGraph) -> Result<ProvingKey, Error> {
    compile_with(graph, Vec::new())
}

/// [`compile`] with application data `app` bound into the verifying key (and so into the
/// model commitment).
pub fn compile_with(graph: QuantizedGraph, app: Vec<u8>) -> Result<ProvingKey, Error> {
    compile_grouped(graph, app, GROUP_VARS)
}

/// [`compile_with`] with weight groups of at most 2^`group_vars` padded entries (in
/// [`GROUP_VARS_RANGE`]; smaller groups need less memory and give larger proofs).
pub fn compile_grouped(
    graph: QuantizedGraph,
    app: Vec<u8>,
    group_vars: u8,
) -> Result<ProvingKey, Error> {
    if !GROUP_VARS_RANGE.contains(&group_vars) {
        return Err(Error::Prover(format!(
            "weight group size 2^{group_vars} outside 2^{}..=2^{}",
            GROUP_VARS_RANGE.start(),
            GROUP_VARS_RANGE.end()
        )));
    }
    let plan = Plan::new(&graph)?;
    // A constant larger than a group is committed as parts of the group's size.
    let weight_layout = plan.weight_layout(&graph, group_vars);
    if let Some((slot, k)) = plan
        .const_vars(&graph)
        .into_iter()
        .enumerate()
        .find(|&(_, k)| k > zkinfer_pcs::MAX_VARS)
    {
        let name = &graph.tensors[plan.consts[slot].0].name;
        return Err(Error::Prover(format!(
            "weight `{name}` pads to 2^{k} entries, beyond the 2^{} a polynomial may have",
            zkinfer_pcs::MAX_VARS
        )));
    }
    // A model of one group keeps its commitment; larger ones recommit per proof.
    let keep = crate::weights::split(&weight_layout, group_vars).len() <= 1;
    let (weight_groups, kept) = crate::weights::commit_all(&graph, &plan, group_vars, keep)?;
    let vk = VerifyingKey {
        graph: strip(&graph),
        pcs_params: WhirParams::default().to_bytes(),
        weight_layout,
        weight_group_vars: group_vars,
        weight_groups,
        app,
    };
    let weights = if keep {
        Held::Kept(kept)
    } else {
        Held::Streamed(Default::default())
    };
    Ok(ProvingKey {
        graph: graph.into(),
        vk,
        plan,
        weights,
    })
}

impl ProvingKey {
    /// Encodes `model.zkm` (graph + verifying key; the commitment is recomputed on load).
    pub fn to_bytes(&self) -> Vec<u8> {
        let f = PkFileRef {
            graph: &self.graph,
            vk: &self.vk,
        };
        encode_envelope(
            PK_KIND,
            FORMAT_VERSION,
            &postcard::to_allocvec(&f).unwrap_or_default(),
        )
    }

    /// Decodes `model.zkm` into its graph and verifying key **without** re-committing the
    /// weights (cheap: for inspection and plain inference). Proving needs [`Self::from_bytes`].
    pub fn decode_unchecked(bytes: &[u8]) -> Result<(QuantizedGraph, VerifyingKey), Error> {
        let body = decode_envelope(bytes, PK_KIND, FORMAT_VERSION).map_err(|e| Error::Decode {
            what: "model",
            reason: e.to_string(),
        })?;
        let f: PkFile = crate::keys::decode_exact(body).map_err(|e| Error::Decode {
            what: "model",
            reason: e.to_string(),
        })?;
        Ok((f.graph, f.vk))
    }

    /// Lets a background weight re-commitment begin (see `weights::Held`); proving calls it
    /// once its own memory peaks (lookup argument, walk) are behind it.
    pub(crate) fn start_weight_commit(&self) {
        self.weights.start();
    }

    /// Calls `f(group, data)` for every weight group in order (waiting for a background
    /// re-commitment where one runs); each group's root is checked against the verifying key
    /// before `f` sees it.
    pub(crate) fn for_each_weight_group(
        &self,
        f: impl FnMut(usize, Opening<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.weights.for_each(
            &self.graph,
            &self.plan,
            self.vk.weight_group_vars,
            &self.vk.weight_groups,
            f,
        )
    }

    /// Decodes `model.zkm` and prepares re-committing the weights on a background thread,
    /// which a proof starts at the end of its walk (so a group's data is not held through the
    /// proof's lookup argument and walk, where its memory peaks) and which stays one group
    /// ahead of the openings: proving waits for it only at the weight opening, and fails there
    /// (before any proof exists) if the recomputed root does not match the stored key.
    /// [`Self::from_bytes`] does the same eagerly.
    pub fn from_bytes_background(bytes: &[u8]) -> Result<Self, Error> {
        let (graph, vk) = Self::decode_unchecked(bytes)?;
        let plan = Plan::new(&graph)?;
        if strip(&graph) != vk.graph {
            return Err(Error::Decode {
                what: "model",
                reason: "stored verifying key does not match the graph (corrupted file?)".into(),
            });
        }
        if !GROUP_VARS_RANGE.contains(&vk.weight_group_vars)
            || plan.weight_layout(&graph, vk.weight_group_vars) != vk.weight_layout
            || vk.pcs_params != WhirParams::default().to_bytes()
            || vk.weight_ranges()?.len() != vk.weight_groups.len()
        {
            return Err(Error::Decode {
                what: "model",
                reason: "stored verifying key does not match the weights (corrupted file?)".into(),
            });
        }
        // The thread shares the graph and needs its own plan (the planning is done once, here).
        let graph = std::sync::Arc::new(graph);
        let weights = Held::stream(
            std::sync::Arc::clone(&graph),
            plan.clone(),
            vk.weight_group_vars,
        )?;
        Ok(ProvingKey {
            graph,
            vk,
            plan,
            weights,
        })
    }

    /// Decodes `model.zkm`, re-commits the weights and checks the root matches the stored key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let (graph, vk) = Self::decode_unchecked(bytes)?;
        let f = PkFile { graph, vk };
        let pk = compile_grouped(f.graph, f.vk.app.clone(), f.vk.weight_group_vars)?;
        if pk.vk != f.vk {
            return Err(Error::Decode {
                what: "model",
                reason: "stored verifying key does not match the weights (corrupted file?)".into(),
            });
        }
        Ok(pk)
    }
}
