//! The weight commitment, in groups: the committed constants (in plan order) are split into
//! consecutive groups of at most [`GROUP_ENTRIES`] padded entries (a constant larger than that
//! is a group of its own), and each group is one WHIR commitment with its own root, binding
//! values and weight-range proof.
//!
//! Why groups: one commitment of a full-size LLM's weights (GPT-2 124M: ~2^28 padded entries)
//! needs its stacked polynomial, codeword and Merkle tree in memory at once (> 20 GiB), and
//! WHIR's soundness is claimed only up to 2^26 stacked variables (docs/PCS.md). A group needs
//! ~4 × 8 bytes per entry while it is committed or opened, and nothing after: `compile`
//! commits one group at a time; a proof opens them one after another, each recommitted (on a
//! background thread, at most [`PREFETCH`] ahead) and dropped after its opening. A model of one
//! group keeps its data, as before.
//!
//! Soundness: each group's opening is a separate WHIR opening of its own commitment, with its
//! own out-of-domain binding (`bind`); the union bound adds one PCS error per group opened.
//! The grouping is a function of the public layout, so the verifier recomputes it.

use std::ops::Range;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use zkinfer_field::p3_field::PrimeCharacteristicRing;
use zkinfer_model::quant::QTensorKind;
use zkinfer_model::QuantizedGraph;
use zkinfer_pcs::{Claim, MultilinearPcs, PcsError, WhirCommitment, WhirProverData};
use zkinfer_transcript::ProverTranscript;

use crate::error::Error;
use crate::keys::pcs;
use crate::layout::Padded;
use crate::plan::{const_dims, Plan};
use crate::{Config, EF, F};

/// Default log2 of the most padded entries of one weight group (2^25: 256 MiB of field
/// elements).
pub const GROUP_VARS: u8 = 25;
/// The group sizes a verifying key may declare: from 2^10 up to the largest stack WHIR's
/// soundness is claimed for (2^26, docs/PCS.md).
pub const GROUP_VARS_RANGE: std::ops::RangeInclusive<u8> = 10..=26;
/// Groups committed ahead of the one being opened when a proof streams them. The committing
/// thread holds one finished group while it waits to hand it over, so the channel buffers
/// `PREFETCH - 1` more (a buffer of 1 kept two groups ahead: ~1 GiB more at GPT-2's peak).
const PREFETCH: usize = 1;

/// One weight group in the verifying key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightGroup {
    /// Merkle root of the group's commitment.
    pub root: [u8; 32],
    /// Each constant's value at the binding point derived from the root (`bind::weight_point`):
    /// fixes which codeword the root stands for before any proof.
    pub binding: Vec<EF>,
    /// The weight-range proof (`range`): every constant of the group lies in its width.
    pub range_proof: Vec<u8>,
}

/// The first constant (index, log2 padded size) too large for any weight group: WHIR's
/// soundness is stated only up to 2^[`GROUP_VARS_RANGE`]`.end()` entries, so such a constant
/// is refused rather than committed alone with a weaker bound.
pub(crate) fn oversized(layout: &[usize]) -> Option<(usize, usize)> {
    let max = usize::from(*GROUP_VARS_RANGE.end());
    layout.iter().copied().enumerate().find(|&(_, k)| k > max)
}

/// The groups of a weight layout: consecutive ranges of constants of at most 2^`group_vars`
/// padded entries together (a larger constant alone).
pub fn split(layout: &[usize], group_vars: u8) -> Vec<Range<usize>> {
    let limit = 1u64 << group_vars.min(63);
    let mut out = Vec::new();
    let (mut start, mut size) = (0usize, 0u64);
    for (i, &k) in layout.iter().enumerate() {
        let n = 1u64 << k.min(63);
        if i > start && size.saturating_add(n) > limit {
            out.push(start..i);
            (start, size) = (i, 0);
        }
        size = size.saturating_add(n);
    }
    if start < layout.len() {
        out.push(start..layout.len());
    }
    out
}

/// The constants of one group, in commitment order: values and padded layout.
fn group_consts<'g>(
    g: &'g QuantizedGraph,
    plan: &Plan,
    r: Range<usize>,
) -> Result<Vec<(&'g [i64], Padded)>, Error> {
    plan.consts[r]
        .iter()
        .map(|&(id, layout)| {
            let t = &g.tensors[id];
            let QTensorKind::Const(d) = &t.kind else {
                return Err(Error::Prover(format!("`{}` is not a constant", t.name)));
            };
            Ok((d.as_slice(), Padded::new(&const_dims(&t.shape, layout))))
        })
        .collect()
}

/// The padded constants of one group, in commitment order.
fn padded(g: &QuantizedGraph, plan: &Plan, r: Range<usize>) -> Result<Vec<Vec<F>>, Error> {
    Ok(group_consts(g, plan, r)?
        .into_iter()
        .map(|(d, p)| {
            let mut v = vec![F::ZERO; 1 << p.num_vars()];
            p.pad_into(d, &mut v, zkinfer_field::from_signed::<F>);
            v
        })
        .collect())
}

/// Commits group `r`, each constant padded straight into the stack (the group's data only).
fn commit(
    g: &QuantizedGraph,
    plan: &Plan,
    r: Range<usize>,
) -> Result<WhirProverData<Config>, Error> {
    let consts = group_consts(g, plan, r)?;
    let layout: Vec<usize> = consts.iter().map(|(_, p)| p.num_vars()).collect();
    let (_, data) = pcs()
        .commit_with(&layout, |i, slot| {
            let (d, p) = &consts[i];
            p.pad_into(d, slot, zkinfer_field::from_signed::<F>);
        })
        .map_err(|e| Error::Prover(format!("weight commitment: {e}")))?;
    Ok(data)
}

/// Commits every group (one at a time), computes its binding values and range proof. Returns
/// the groups and, when `keep`, their prover data.
pub(crate) fn commit_all(
    g: &QuantizedGraph,
    plan: &Plan,
    layout: &[usize],
    group_vars: u8,
    keep: bool,
) -> Result<(Vec<WeightGroup>, Vec<WhirProverData<Config>>), Error> {
    let (mut groups, mut kept) = (Vec::new(), Vec::new());
    let bits: Vec<u32> = plan
        .consts
        .iter()
        .map(|&(id, _)| g.tensors[id].bits)
        .collect();
    for (gi, r) in split(layout, group_vars).into_iter().enumerate() {
        // The range proof and binding values read the padded constants: kept here (compile).
        let polys = padded(g, plan, r.clone())?;
        let refs: Vec<&[F]> = polys.iter().map(Vec::as_slice).collect();
        let (_, data) = pcs()
            .commit(&refs)
            .map_err(|e| Error::Prover(format!("weight commitment: {e}")))?;
        let root = data.commitment().root;
        let zeta = crate::bind::weight_point(&root, &layout[r.clone()]);
        let mut group = WeightGroup {
            root,
            binding: crate::bind::values(&refs, &zeta),
            range_proof: Vec::new(),
        };
        let st = crate::range::Statement {
            index: gi,
            root: &group.root,
            binding: &group.binding,
            layout: &layout[r.clone()],
            bits: &bits[r],
        };
        group.range_proof = if keep {
            let proof = crate::range::prove(&st, &refs, Opening::Shared(&data))?;
            kept.push(data);
            proof
        } else {
            crate::range::prove(&st, &refs, Opening::Owned(Box::new(data)))?
        };
        groups.push(group);
    }
    Ok((groups, kept))
}

/// Prover data for one opening: borrowed (kept by the key; the opening copies it) or owned
/// (streamed; the opening consumes it).
pub(crate) enum Opening<'a> {
    Shared(&'a WhirProverData<Config>),
    Owned(Box<WhirProverData<Config>>),
}

impl Opening<'_> {
    pub(crate) fn root(&self) -> [u8; 32] {
        match self {
            Opening::Shared(d) => d.commitment().root,
            Opening::Owned(d) => d.commitment().root,
        }
    }

    pub(crate) fn open(
        self,
        claims: &[Claim<EF>],
        t: &mut ProverTranscript<F>,
    ) -> Result<(), PcsError> {
        match self {
            Opening::Shared(d) => pcs().open(d, claims, t),
            Opening::Owned(d) => pcs().open_owned(*d, claims, t),
        }
    }
}

/// Receiving end of the background thread that recommits one group at a time, and the
/// signal that lets it start.
type GroupStream = (
    Receiver<Result<WhirProverData<Config>, String>>,
    SyncSender<()>,
);

/// The weight groups' prover data held by a proving key.
pub(crate) enum Held {
    /// Every group's data, kept (models of one group, compiled in this process).
    Kept(Vec<WhirProverData<Config>>),
    /// Recommitted per proof: the first proof takes the background stream (groups in order),
    /// later proofs recommit inline. The stream waits for [`Held::start`]: a group's data
    /// (2 GiB for GPT-2's 2^26-entry embedding group) is then not held through the proof's
    /// lookup argument and walk, where its memory peaks.
    Streamed(Mutex<Option<GroupStream>>),
}

impl Held {
    /// Lets the background re-commitment begin (idempotent; nothing for kept data).
    pub(crate) fn start(&self) {
        if let Held::Streamed(m) = self {
            if let Some((_, go)) = m.lock().ok().as_deref().and_then(Option::as_ref) {
                // Full (already started) or closed (the thread ended): nothing to do.
                let _ = go.try_send(());
            }
        }
    }

    /// Prepares a background thread that recommits every group, [`PREFETCH`] ahead of use,
    /// once [`Held::start`] is called (or the first group is asked for).
    pub(crate) fn stream(
        g: std::sync::Arc<QuantizedGraph>,
        plan: Plan,
        layout: Vec<usize>,
        group_vars: u8,
    ) -> Result<Self, Error> {
        let (tx, rx) = sync_channel(PREFETCH - 1);
        let (go, wait) = sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("weight-commit".into())
            .spawn(move || {
                // A dropped key (no proof) ends the thread before any work.
                if wait.recv().is_err() {
                    return;
                }
                for r in split(&layout, group_vars) {
                    let d = commit(&g, &plan, r).map_err(|e| e.to_string());
                    let failed = d.is_err();
                    // A dropped receiver (the proof failed or finished) ends the thread.
                    if tx.send(d).is_err() || failed {
                        return;
                    }
                }
            })
            .map_err(|e| Error::Prover(format!("cannot start the weight commitment: {e}")))?;
        Ok(Held::Streamed(Mutex::new(Some((rx, go)))))
    }

    /// Calls `f(group, data)` for every group in order, each group's root checked against
    /// `groups` (the verifying key's) before `f` sees it.
    pub(crate) fn for_each(
        &self,
        g: &QuantizedGraph,
        plan: &Plan,
        layout: &[usize],
        group_vars: u8,
        groups: &[WeightGroup],
        mut f: impl FnMut(usize, Opening<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let ranges = split(layout, group_vars);
        if ranges.len() != groups.len() {
            return Err(Error::Statement(
                "verifying key weight groups do not match its layout".into(),
            ));
        }
        self.start();
        let mut stream = match self {
            Held::Kept(_) => None,
            Held::Streamed(m) => m.lock().ok().and_then(|mut s| s.take()).map(|(rx, _)| rx),
        };
        for (gi, r) in ranges.into_iter().enumerate() {
            let data = match (self, stream.as_mut()) {
                (Held::Kept(v), _) => Opening::Shared(v.get(gi).ok_or_else(|| {
                    Error::Prover("the key holds fewer weight groups than its layout".into())
                })?),
                (_, Some(rx)) => match rx.recv() {
                    Ok(Ok(d)) => Opening::Owned(Box::new(d)),
                    Ok(Err(e)) => return Err(Error::Prover(format!("weight commitment: {e}"))),
                    Err(_) => {
                        return Err(Error::Prover("the weight commitment thread ended".into()))
                    }
                },
                (_, None) => Opening::Owned(Box::new(commit(g, plan, r)?)),
            };
            if data.root() != groups[gi].root {
                return Err(Error::Decode {
                    what: "model",
                    reason: format!(
                        "weight group {gi}: stored verifying key does not match the weights \
                         (corrupted file?)"
                    ),
                });
            }
            f(gi, data)?;
        }
        Ok(())
    }
}

/// The commitment of group `gi` with layout `layout` (the verifier's view).
pub(crate) fn commitment(group: &WeightGroup, layout: &[usize]) -> WhirCommitment {
    WhirCommitment {
        root: group.root,
        layout: layout.to_vec(),
    }
}
