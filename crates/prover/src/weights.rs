//! The weight commitment, in groups: the committed constants (in plan order) are the weight
//! polynomials (`Plan::weight_polys`: a constant larger than a group becomes consecutive parts
//! of the group's size), split into consecutive groups of at most 2^`group_vars` padded
//! entries, and each group is one WHIR commitment with its own root, binding values and
//! weight-range proof. Claims on a constant in parts are split in the walk
//! (`walk::Ctx::split_consts`: one claim per part, exact).
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
use crate::plan::{const_dims, Plan, WeightPoly};
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

/// The groups of a weight layout: consecutive ranges of constants of at most 2^`group_vars`
/// padded entries together (a larger polynomial alone; [`crate::plan::Plan::weight_polys`]
/// makes none).
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

/// One weight polynomial's source: a constant's values, its padded layout, and which block of
/// 2^`vars` padded entries the polynomial is (the whole table for a constant committed whole).
pub(crate) struct PolySource<'g> {
    vals: &'g [i64],
    layout: Padded,
    start: usize,
    vars: usize,
}

impl PolySource<'_> {
    /// Writes the polynomial into `slot` (zeroed, 2^`vars` entries): the padded table's entries
    /// `[start, start + 2^vars)`, one contiguous row of the last dimension at a time.
    pub(crate) fn fill(&self, slot: &mut [F]) {
        let n = 1usize << self.vars;
        if self.start == 0 && self.layout.num_vars() == self.vars {
            self.layout
                .pad_into(self.vals, &mut slot[..n], zkinfer_field::from_signed::<F>);
            return;
        }
        let row = self.layout.dims.last().copied().unwrap_or(1).max(1);
        let end = self.start + n;
        for (r, xs) in self.vals.chunks(row).enumerate() {
            let o = self.layout.pad_index(r * row);
            if o + xs.len() <= self.start || o >= end {
                continue;
            }
            for (j, &x) in xs.iter().enumerate() {
                if (self.start..end).contains(&(o + j)) {
                    slot[o + j - self.start] = zkinfer_field::from_signed::<F>(x);
                }
            }
        }
    }

    /// Number of variables.
    pub(crate) fn vars(&self) -> usize {
        self.vars
    }
}

/// The weight polynomials `r` (indices into `polys`, [`Plan::weight_polys`]), in commitment
/// order.
fn group_sources<'g>(
    g: &'g QuantizedGraph,
    plan: &Plan,
    polys: &[WeightPoly],
    r: Range<usize>,
) -> Result<Vec<PolySource<'g>>, Error> {
    polys
        .get(r)
        .ok_or_else(|| Error::Prover("weight group past the layout".into()))?
        .iter()
        .map(|p| {
            let (id, layout) = plan.consts[p.slot];
            let t = &g.tensors[id];
            let QTensorKind::Const(d) = &t.kind else {
                return Err(Error::Prover(format!("`{}` is not a constant", t.name)));
            };
            Ok(PolySource {
                vals: d.as_slice(),
                layout: Padded::new(&const_dims(&t.shape, layout)),
                start: p.part << p.vars,
                vars: p.vars,
            })
        })
        .collect()
}

/// The padded weight polynomials of one group, in commitment order.
fn padded(
    g: &QuantizedGraph,
    plan: &Plan,
    polys: &[WeightPoly],
    r: Range<usize>,
) -> Result<Vec<Vec<F>>, Error> {
    Ok(group_sources(g, plan, polys, r)?
        .into_iter()
        .map(|s| {
            let mut v = vec![F::ZERO; 1 << s.vars()];
            s.fill(&mut v);
            v
        })
        .collect())
}

/// Commits group `r`, each polynomial written straight into the stack (the group's data only).
fn commit(
    g: &QuantizedGraph,
    plan: &Plan,
    polys: &[WeightPoly],
    r: Range<usize>,
) -> Result<WhirProverData<Config>, Error> {
    let sources = group_sources(g, plan, polys, r)?;
    let layout: Vec<usize> = sources.iter().map(PolySource::vars).collect();
    let (_, data) = pcs()
        .commit_with(&layout, |i, slot| sources[i].fill(slot))
        .map_err(|e| Error::Prover(format!("weight commitment: {e}")))?;
    Ok(data)
}

/// Commits every group (one at a time), computes its binding values and range proof. Returns
/// the groups and, when `keep`, their prover data.
pub(crate) fn commit_all(
    g: &QuantizedGraph,
    plan: &Plan,
    group_vars: u8,
    keep: bool,
) -> Result<(Vec<WeightGroup>, Vec<WhirProverData<Config>>), Error> {
    let (mut groups, mut kept) = (Vec::new(), Vec::new());
    let wpolys = plan.weight_polys(g, group_vars);
    let layout: Vec<usize> = wpolys.iter().map(|p| p.vars).collect();
    let bits = poly_bits(g, plan, &wpolys);
    for (gi, r) in split(&layout, group_vars).into_iter().enumerate() {
        // The range proof and binding values read the padded constants: kept here (compile).
        let polys = padded(g, plan, &wpolys, r.clone())?;
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

/// The bit width of each weight polynomial (its constant's).
pub(crate) fn poly_bits(g: &QuantizedGraph, plan: &Plan, polys: &[WeightPoly]) -> Vec<u32> {
    polys
        .iter()
        .map(|p| g.tensors[plan.consts[p.slot].0].bits)
        .collect()
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
        group_vars: u8,
    ) -> Result<Self, Error> {
        let polys = plan.weight_polys(&g, group_vars);
        let layout: Vec<usize> = polys.iter().map(|p| p.vars).collect();
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
                    let d = commit(&g, &plan, &polys, r).map_err(|e| e.to_string());
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
        group_vars: u8,
        groups: &[WeightGroup],
        mut f: impl FnMut(usize, Opening<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let polys = plan.weight_polys(g, group_vars);
        let layout: Vec<usize> = polys.iter().map(|p| p.vars).collect();
        let ranges = split(&layout, group_vars);
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
                (_, None) => Opening::Owned(Box::new(commit(g, plan, &polys, r)?)),
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
