//! Compile: commit every constant once; the proving key (`model.zkm`) and the verifying key
//! (`model.vk`, no weights).

use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};
use zkinfer_model::quant::QTensorKind;
use zkinfer_model::QuantizedGraph;
use zkinfer_pcs::{MultilinearPcs, WhirCommitment, WhirParams, WhirPcs, WhirProverData};
use zkinfer_transcript::{decode_envelope, encode_envelope};

use crate::error::Error;
use crate::layout::Padded;
use crate::plan::{const_dims, Plan};
use crate::{Config, EF, F};

const VK_KIND: [u8; 4] = *b"ZKVK";
const PK_KIND: [u8; 4] = *b"ZKMD";
/// Format version of keys and proofs.
pub const FORMAT_VERSION: u16 = 5;

/// The verifying key: the quantized graph without weights, the weight commitment and the
/// proof-system parameters. Its hash is the model commitment `C_M`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyingKey {
    /// The graph; constants carry no data.
    pub graph: QuantizedGraph,
    /// PCS parameters (serialized `WhirParams`).
    pub pcs_params: Vec<u8>,
    /// Merkle root of the weight commitment (None for a graph without constants).
    pub weight_root: Option<[u8; 32]>,
    /// Variables of each committed constant, in plan order.
    pub weight_layout: Vec<usize>,
    /// Each committed constant's value at the binding point derived from the root
    /// (`bind::weight_point`): fixes which codeword the root stands for before any proof.
    pub weight_binding: Vec<EF>,
    /// The weight-range proof (`range`): every committed constant lies in its declared width.
    pub weight_range_proof: Vec<u8>,
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

    /// The weight commitment's binding claims (empty without constants).
    pub(crate) fn weight_binding_claims(&self) -> Result<Vec<zkinfer_pcs::Claim<EF>>, Error> {
        let Some(root) = &self.weight_root else {
            return Ok(Vec::new());
        };
        crate::bind::weight_claims(root, &self.weight_layout, &self.weight_binding).ok_or_else(
            || {
                Error::Statement(
                    "verifying key: weight binding values do not match its layout".into(),
                )
            },
        )
    }

    /// The weight commitment, if any.
    pub fn weight_commitment(&self) -> Option<WhirCommitment> {
        self.weight_root.map(|root| WhirCommitment {
            root,
            layout: self.weight_layout.clone(),
        })
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

/// The proving key: the full quantized graph, its plan, the verifying key and the weight
/// commitment's prover data.
pub struct ProvingKey {
    /// The quantized graph with weights.
    pub graph: QuantizedGraph,
    /// The verifying key.
    pub vk: VerifyingKey,
    pub(crate) plan: Plan,
    weights: Weights,
}

type WeightData = Option<WhirProverData<Config>>;

/// The weight commitment's prover data: computed, or being recomputed on a background thread
/// (see [`ProvingKey::from_bytes_background`]).
struct Weights {
    ready: OnceLock<Result<WeightData, String>>,
    pending: Mutex<Option<JoinHandle<Result<WeightData, String>>>>,
}

impl Weights {
    fn ready(d: WeightData) -> Self {
        Self {
            ready: OnceLock::from(Ok(d)),
            pending: Mutex::new(None),
        }
    }

    /// The data, waiting for the background commitment if one is running; its root is
    /// checked against `root` (the verifying key's) once.
    fn get(&self, root: Option<[u8; 32]>) -> Result<&WeightData, Error> {
        let r = self.ready.get_or_init(|| {
            let handle = self.pending.lock().ok().and_then(|mut h| h.take());
            let d = match handle.map(JoinHandle::join) {
                Some(Ok(r)) => r?,
                Some(Err(_)) => return Err("the weight commitment thread panicked".into()),
                None => return Err("no weight commitment".into()),
            };
            if d.as_ref().map(|w| w.commitment().root) != root {
                return Err(
                    "stored verifying key does not match the weights (corrupted file?)".into(),
                );
            }
            Ok(d)
        });
        r.as_ref().map_err(|e| Error::Decode {
            what: "model",
            reason: e.clone(),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct PkFile {
    graph: QuantizedGraph,
    vk: VerifyingKey,
}

fn strip(g: &QuantizedGraph) -> QuantizedGraph {
    let mut s = g.clone();
    for t in &mut s.tensors {
        if let QTensorKind::Const(d) = &mut t.kind {
            *d = Vec::new();
        }
    }
    s
}

/// The commitment's prover data, layout, binding values and the padded constants.
type CommittedWeights = (
    Option<WhirProverData<Config>>,
    Vec<usize>,
    Vec<EF>,
    Vec<Vec<F>>,
);

fn commit_weights(g: &QuantizedGraph, plan: &Plan) -> Result<CommittedWeights, Error> {
    if plan.consts.is_empty() {
        return Ok((None, Vec::new(), Vec::new(), Vec::new()));
    }
    let mut tables: Vec<Vec<F>> = Vec::with_capacity(plan.consts.len());
    for &(id, layout) in &plan.consts {
        let t = &g.tensors[id];
        let QTensorKind::Const(d) = &t.kind else {
            return Err(Error::Prover(format!("`{}` is not a constant", t.name)));
        };
        let pl = Padded::new(&const_dims(&t.shape, layout));
        tables.push(
            pl.pad(d)
                .into_iter()
                .map(zkinfer_field::from_signed::<F>)
                .collect(),
        );
    }
    let refs: Vec<&[F]> = tables.iter().map(Vec::as_slice).collect();
    let layout: Vec<usize> = tables
        .iter()
        .map(|t| t.len().trailing_zeros() as usize)
        .collect();
    let (_, data) = pcs()
        .commit(&refs)
        .map_err(|e| Error::Prover(format!("weight commitment: {e}")))?;
    let zeta = crate::bind::weight_point(&data.commitment().root, &layout);
    let binding = crate::bind::values(&refs, &zeta);
    Ok((Some(data), layout, binding, tables))
}

/// Compiles a quantized graph: checks every op has a protocol, commits all constants in one
/// PCS commitment and builds the keys.
pub fn compile(graph: QuantizedGraph) -> Result<ProvingKey, Error> {
    compile_with(graph, Vec::new())
}

/// [`compile`] with application data `app` bound into the verifying key (and so into the
/// model commitment).
pub fn compile_with(graph: QuantizedGraph, app: Vec<u8>) -> Result<ProvingKey, Error> {
    let plan = Plan::new(&graph)?;
    let (weights, weight_layout, weight_binding, tables) = commit_weights(&graph, &plan)?;
    let mut vk = VerifyingKey {
        graph: strip(&graph),
        pcs_params: WhirParams::default().to_bytes(),
        weight_root: weights.as_ref().map(|w| w.commitment().root),
        weight_layout,
        weight_binding,
        weight_range_proof: Vec::new(),
        app,
    };
    if let Some(data) = &weights {
        let refs: Vec<&[F]> = tables.iter().map(Vec::as_slice).collect();
        vk.weight_range_proof = crate::range::prove(&vk, &plan.consts, &refs, data)?;
    }
    drop(tables);
    Ok(ProvingKey {
        graph,
        vk,
        plan,
        weights: Weights::ready(weights),
    })
}

impl ProvingKey {
    /// Encodes `model.zkm` (graph + verifying key; the commitment is recomputed on load).
    pub fn to_bytes(&self) -> Vec<u8> {
        let f = PkFile {
            graph: self.graph.clone(),
            vk: self.vk.clone(),
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

    /// The weight commitment's prover data (waits for a background re-commitment and checks
    /// its root against the verifying key).
    pub(crate) fn weight_data(&self) -> Result<&WeightData, Error> {
        self.weights.get(self.vk.weight_root)
    }

    /// Decodes `model.zkm` and starts re-committing the weights on a background thread, so the
    /// caller's integer run and the first proving phases overlap it: proving waits for it only
    /// at the weight opening, and fails there (before any proof exists) if the recomputed root
    /// does not match the stored key. [`Self::from_bytes`] does the same eagerly.
    pub fn from_bytes_background(bytes: &[u8]) -> Result<Self, Error> {
        let (graph, vk) = Self::decode_unchecked(bytes)?;
        let plan = Plan::new(&graph)?;
        if strip(&graph) != vk.graph {
            return Err(Error::Decode {
                what: "model",
                reason: "stored verifying key does not match the graph (corrupted file?)".into(),
            });
        }
        // The thread needs its own graph and plan (the planning is done once, here).
        let (g2, plan2) = (graph.clone(), plan.clone());
        let handle = std::thread::Builder::new()
            .name("weight-commit".into())
            .spawn(move || {
                let (data, ..) = commit_weights(&g2, &plan2).map_err(|e| e.to_string())?;
                Ok(data)
            })
            .map_err(|e| Error::Prover(format!("cannot start the weight commitment: {e}")))?;
        let pk = ProvingKey {
            graph,
            vk,
            plan,
            weights: Weights {
                ready: OnceLock::new(),
                pending: Mutex::new(Some(handle)),
            },
        };
        if pk.plan.weight_layout(&pk.graph) != pk.vk.weight_layout
            || pk.vk.pcs_params != WhirParams::default().to_bytes()
        {
            return Err(Error::Decode {
                what: "model",
                reason: "stored verifying key does not match the weights (corrupted file?)".into(),
            });
        }
        Ok(pk)
    }

    /// Decodes `model.zkm`, re-commits the weights and checks the root matches the stored key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let (graph, vk) = Self::decode_unchecked(bytes)?;
        let f = PkFile { graph, vk };
        let pk = compile(f.graph)?;
        if pk.vk != f.vk {
            return Err(Error::Decode {
                what: "model",
                reason: "stored verifying key does not match the weights (corrupted file?)".into(),
            });
        }
        Ok(pk)
    }
}
