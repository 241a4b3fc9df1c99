//! The proof plan: what a proof of a given quantized graph commits and looks up. Derived from
//! the public graph alone, identically by prover and verifier, so the two cannot disagree on
//! the statement's shape.

use std::collections::HashMap;

use zkinfer_model::quant::bounds::MAX_CONST_BITS;
use zkinfer_model::quant::{QTensorKind, RequantIndex};
use zkinfer_model::{QuantOp, QuantizedGraph};

use crate::error::Error;
use crate::layout::{compact_vars, log2_ceil};

/// Bits per remainder limb (the range tables hold at most 2^16 rows).
pub const LIMB_BITS: u32 = 16;

/// A lookup table of the proof.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TableSpec {
    /// `[0, 2^bits)` (signed ranges use it through [`LookupPlan::shift`]).
    Range(u32),
    /// Graph table `i`: (input, output) rows, padded to a power of two with row 0.
    Graph(usize),
}

/// A lookup column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    /// A tensor's compact values, tail-padded with `fill`.
    Tensor {
        /// Tensor id.
        id: usize,
        /// Padding value (a table row's entry).
        fill: i64,
    },
    /// A committed witness polynomial (already padded with a table row).
    Poly(usize),
    /// The exp arguments `x_i − m_row(i)` of softmax node `node`, tail-padded with the exp
    /// table's first input.
    SmArg {
        /// Node index.
        node: usize,
    },
    /// The differences `±(y_o − x_q)` of max node `node`, tail-padded with 0.
    Diff {
        /// Node index.
        node: usize,
    },
    /// The differences `x_{o,t_o} − x_{o,k} − [k < t_o]` of ArgMax node `node` (public `t`),
    /// tail-padded with 0.
    ArgDiff {
        /// Node index.
        node: usize,
    },
}

/// One lookup: columns into a table.
#[derive(Clone, Debug)]
pub struct LookupPlan {
    /// Index into [`Plan::tables`].
    pub table: usize,
    /// Columns (one per table column).
    pub cols: Vec<Col>,
    /// Number of real rows.
    pub rows: usize,
    /// The node whose relation it checks.
    pub node: usize,
    /// Added to every entry of every column before the lookup: a signed range
    /// `[−2^(b−1), 2^(b−1))` is the range table `[0, 2^b)` shifted by `2^(b−1)`, so both share
    /// one table (the column's evaluation shifts by the same constant, as `Σ eq = 1`).
    pub shift: i64,
    /// Every entry is multiplied by this (before the shift): the looked-up column is
    /// `scale·col + shift`, and a claim `v` on it is the claim `(v − shift)/scale` on `col`.
    pub scale: i64,
}

/// What a committed witness polynomial holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolyRole {
    /// Limb `j` of node `node`'s requantization remainder.
    Limb {
        /// Node index.
        node: usize,
        /// Limb index (little-endian).
        j: usize,
    },
    /// The output tensor of a lookup or max node, tail-padded with a table row.
    Output {
        /// Node index.
        node: usize,
    },
    /// Softmax row maxima of node `node`.
    SmMax {
        /// Node index.
        node: usize,
    },
    /// Softmax exponentials of node `node` (tail-padded with the exp table's first output).
    SmExp {
        /// Node index.
        node: usize,
    },
    /// Parity bits of softmax row sums of node `node`.
    SmBit {
        /// Node index.
        node: usize,
    },
    /// The one-hot attainment selector of max or softmax node `node` (`ops::attain`), one
    /// 0/1 entry per (group, member) pair.
    Selector {
        /// Node index.
        node: usize,
    },
    /// Multiplicities of table `table`.
    Mult {
        /// Table index.
        table: usize,
    },
}

/// How a constant is laid out in the weight commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConstLayout {
    /// Every dimension padded.
    Natural,
    /// A convolution weight `[O, C/g, K…]` viewed as `[g, O/g, C/g, K…]`, each padded.
    Conv {
        /// Groups.
        groups: usize,
    },
}

/// The plan of a proof for one graph.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Tables, in proof order.
    pub tables: Vec<TableSpec>,
    /// Lookups, in proof order.
    pub lookups: Vec<LookupPlan>,
    /// Committed witness polynomials: role and number of variables.
    pub polys: Vec<(PolyRole, usize)>,
    /// Per node: remainder limb polys with their bit widths.
    pub limbs: Vec<Vec<(usize, u32)>>,
    /// Per node: the committed output poly (lookup nodes).
    pub out_poly: Vec<Option<usize>>,
    /// Committed constants: tensor id and layout, in commitment order.
    pub consts: Vec<(usize, ConstLayout)>,
    /// Tensor id → index into `consts`.
    pub const_slot: HashMap<usize, usize>,
}

/// The dimensions of a constant in its committed layout.
pub fn const_dims(shape: &[usize], layout: ConstLayout) -> Vec<usize> {
    match layout {
        ConstLayout::Natural => shape.to_vec(),
        ConstLayout::Conv { groups } => {
            let g = groups.max(1);
            let mut d = vec![g, shape[0] / g];
            d.extend_from_slice(&shape[1..]);
            d
        }
    }
}

/// The requantization of a node, if it has one.
pub fn requant(op: &QuantOp) -> Option<&zkinfer_model::quant::Requant> {
    op.requant()
}

/// Limbs narrower than this keep their own range table; wider ones are checked in the 16-bit
/// table twice (below).
const OWN_TABLE_MAX_BITS: u32 = 8;

/// Appends committed limbs of a `total`-bit non-negative value (16-bit limbs, the top one
/// narrower), each range-checked: limb `j` gets role `Limb { node, j: first + j }`.
///
/// A `b`-bit top limb with `8 < b < 16` is looked up in the 16-bit table as `limb` and as
/// `limb·2^(16−b)`: the first makes it an integer below 2^16, so the product is below
/// 2^32 < p (no wrap-around) and lies below 2^16 exactly when `limb < 2^b`. This replaces a
/// `2^b`-row table — its multiplicity column and fraction tree — by one more column over the
/// limb's rows (lenet_5 drops four tables, halving its committed witness).
#[allow(clippy::too_many_arguments)]
fn push_limbs(
    node: usize,
    total: u32,
    first: usize,
    nv: usize,
    rows: usize,
    polys: &mut Vec<(PolyRole, usize)>,
    limbs: &mut Vec<(usize, u32)>,
    lookups: &mut Vec<LookupPlan>,
    tables: &mut Vec<TableSpec>,
) {
    let mut left = total;
    let mut j = first;
    while left > 0 {
        let bits = left.min(LIMB_BITS);
        let p = polys.len();
        polys.push((PolyRole::Limb { node, j }, nv));
        limbs.push((p, bits));
        let shared = bits > OWN_TABLE_MAX_BITS;
        let spec = TableSpec::Range(if shared { LIMB_BITS } else { bits });
        let table = tables.iter().position(|t| *t == spec).unwrap_or_else(|| {
            tables.push(spec);
            tables.len() - 1
        });
        let scales: &[i64] = if shared && bits < LIMB_BITS {
            &[1, 1 << (LIMB_BITS - bits)]
        } else {
            &[1]
        };
        for &scale in scales {
            lookups.push(LookupPlan {
                table,
                cols: vec![Col::Poly(p)],
                rows,
                node,
                shift: 0,
                scale,
            });
        }
        left -= bits;
        j += 1;
    }
}

/// The shift mapping `[−2^(bits−1), 2^(bits−1))` onto the range table `[0, 2^bits)`.
pub fn signed_shift(bits: u32) -> i64 {
    1i64 << bits.saturating_sub(1)
}

/// Plans the attainment selector of a max or softmax node with `pairs` (group, member) pairs
/// in groups of at most `k`, when `ops::attain` proves them with one: a 0/1 column in pairs
/// order, looked up in the 1-bit range table.
fn push_selector(
    node: usize,
    pairs: usize,
    k: usize,
    polys: &mut Vec<(PolyRole, usize)>,
    lookups: &mut Vec<LookupPlan>,
    tables: &mut Vec<TableSpec>,
) {
    if !crate::ops::attain::uses_selector(k) {
        return;
    }
    let p = polys.len();
    polys.push((PolyRole::Selector { node }, compact_vars(pairs)));
    let spec = TableSpec::Range(1);
    let table = tables.iter().position(|t| *t == spec).unwrap_or_else(|| {
        tables.push(spec);
        tables.len() - 1
    });
    lookups.push(LookupPlan {
        table,
        cols: vec![Col::Poly(p)],
        rows: pairs,
        node,
        shift: 0,
        scale: 1,
    });
}

/// How many inputs an op takes (min, max).
fn arity(op: &QuantOp) -> (usize, usize) {
    match op {
        QuantOp::Einsum { .. } | QuantOp::Conv { .. } => (2, 3),
        QuantOp::AddSub { .. }
        | QuantOp::Mul { .. }
        | QuantOp::MaxMin { .. }
        | QuantOp::Compare { .. } => (2, 2),
        QuantOp::Select { .. } => (3, 3),
        QuantOp::Concat { .. } => (1, usize::MAX),
        QuantOp::IndexedMove { kind, .. } => {
            let k = 2 + usize::from(kind.has_updates());
            (k, k)
        }
        _ => (1, 1),
    }
}

/// Structural checks on a (possibly hostile) graph, so later stages can index safely.
fn validate(g: &QuantizedGraph) -> Result<(), Error> {
    let nt = g.tensors.len();
    let bad = |node: &str, op: String, reason: &str| Error::Unsupported {
        node: node.to_string(),
        op,
        reason: reason.to_string(),
    };
    let graph = |reason: String| bad("<graph>", "graph".into(), &reason);
    let c = &g.config;
    if !(2..=LIMB_BITS).contains(&c.act_bits) {
        return Err(graph(format!(
            "activation width {} bits (supported: 2..={LIMB_BITS})",
            c.act_bits
        )));
    }
    if !(1..=MAX_CONST_BITS).contains(&c.weight_bits) || c.headroom_bits > c.act_bits {
        return Err(graph(format!(
            "weight width {} / headroom {} bits out of range",
            c.weight_bits, c.headroom_bits
        )));
    }
    for id in g.inputs.iter().chain(&g.outputs) {
        if id.0 >= nt {
            return Err(graph("input or output id out of range".into()));
        }
    }
    let mut seen = vec![false; nt];
    for id in &g.inputs {
        if std::mem::replace(&mut seen[id.0], true) {
            return Err(graph(format!(
                "tensor `{}` listed twice among the inputs",
                g.tensors[id.0].name
            )));
        }
        if g.tensors[id.0].kind != QTensorKind::Input {
            return Err(graph(format!(
                "graph input `{}` is not an input tensor",
                g.tensors[id.0].name
            )));
        }
    }
    let mut produced = vec![false; nt];
    for (i, t) in g.tensors.iter().enumerate() {
        let numel = t
            .shape
            .iter()
            .try_fold(1usize, |m, &d| m.checked_mul(d))
            .filter(|&n| n <= MAX_TENSOR_ELEMS);
        if numel.is_none() || t.shape.len() > 16 {
            return Err(graph(format!(
                "tensor `{}`: shape {:?} too large",
                t.name, t.shape
            )));
        }
        if t.frac.unsigned_abs() > MAX_FRAC {
            return Err(graph(format!(
                "tensor `{}`: fraction {} out of range",
                t.name, t.frac
            )));
        }
        let bits_ok = match t.kind {
            QTensorKind::Const(_) => (1..=MAX_CONST_BITS).contains(&t.bits),
            // Token ids and positions: exact integers, used only as public indices.
            QTensorKind::Input if t.bits == zkinfer_model::quant::graph::INDEX_BITS => {
                t.frac == 0 && g.index_only(zkinfer_model::TensorId(i))
            }
            _ => t.bits == c.act_bits,
        };
        if !bits_ok {
            return Err(graph(format!(
                "tensor `{}`: declared width {} bits",
                t.name, t.bits
            )));
        }
        if t.kind == QTensorKind::Input && !seen[i] {
            return Err(graph(format!(
                "input tensor `{}` is not a graph input",
                t.name
            )));
        }
    }
    let (alo, ahi) = c.act_range();
    for (i, t) in g.tables.iter().enumerate() {
        let end = i64::try_from(t.outputs.len())
            .ok()
            .and_then(|n| t.in_min.checked_add(n));
        // Inputs are activations or softmax differences `x − m` (A + 1 bits); outputs become
        // activations.
        let dom = 2 * (ahi + 1);
        let domain_ok = t.in_min >= -dom && end.is_some_and(|e| e <= dom);
        let range_ok = t.outputs.iter().all(|&v| v >= alo && v <= ahi);
        if !domain_ok || !range_ok || t.in_frac.unsigned_abs() > MAX_FRAC {
            return Err(graph(format!(
                "table {i}: domain beyond A + 1 bits or outputs outside the activation range"
            )));
        }
    }
    for n in &g.nodes {
        let (lo, hi) = arity(&n.op);
        if n.inputs.len() < lo || n.inputs.len() > hi {
            return Err(bad(&n.name, n.op.name(), "wrong number of inputs"));
        }
        if n.output.0 >= nt || n.inputs.iter().any(|i| i.0 >= nt) {
            return Err(bad(&n.name, n.op.name(), "tensor id out of range"));
        }
        if g.tensors[n.output.0].kind != QTensorKind::Activation
            || std::mem::replace(&mut produced[n.output.0], true)
        {
            return Err(bad(
                &n.name,
                n.op.name(),
                "output is not a fresh activation (an input, a constant or produced twice)",
            ));
        }
        if let Some(k) = n
            .inputs
            .iter()
            .find(|i| g.tensors[i.0].kind == QTensorKind::Activation && !produced[i.0])
        {
            return Err(bad(
                &n.name,
                n.op.name(),
                &format!(
                    "input `{}` is used before it is computed",
                    g.tensors[k.0].name
                ),
            ));
        }
        check_node_params(g, n).map_err(|r| bad(&n.name, n.op.name(), &r))?;
        let table = match &n.op {
            QuantOp::Lookup { table } => Some(table.0),
            QuantOp::Softmax { exp_table, .. } => Some(exp_table.0),
            _ => None,
        };
        if table.is_some_and(|t| t >= g.tables.len()) {
            return Err(bad(&n.name, n.op.name(), "table id out of range"));
        }
    }
    Ok(())
}

/// Largest tensor (elements).
const MAX_TENSOR_ELEMS: usize = 1 << 34;
/// Largest |fraction| of a tensor or table.
const MAX_FRAC: u32 = 62;
/// Largest |requantization multiplier| (the quantizer keeps 15 bits; 2^40 is its clamp).
const MAX_MULTIPLIER: u64 = 1 << 40;

/// Whether `shape` broadcasts to `out` (numpy rules, no rank above the output's).
fn broadcasts(shape: &[usize], out: &[usize]) -> bool {
    shape.len() <= out.len()
        && shape
            .iter()
            .rev()
            .zip(out.iter().rev())
            .all(|(&d, &o)| d == o || d == 1)
}

/// A window's per-axis parameters agree in number; kernel sizes, strides and dilations ≥ 1.
fn window_ok(wn: &zkinfer_model::ops::WindowSpec) -> bool {
    let sp = wn.kernel.len();
    wn.strides.len() == sp
        && wn.dilations.len() == sp
        && wn.pads_before.len() == sp
        && wn
            .strides
            .iter()
            .chain(&wn.dilations)
            .all(|&v| (1..=1 << 16).contains(&v))
        && wn.kernel.iter().all(|&k| k >= 1)
}

/// Per-op parameter checks of a (possibly hostile) node, from the graph alone.
fn check_node_params(
    g: &QuantizedGraph,
    n: &zkinfer_model::quant::QuantNode,
) -> Result<(), String> {
    let shape = |k: usize| g.tensors[n.inputs[k].0].shape.as_slice();
    let out = g.tensors[n.output.0].shape.as_slice();
    let numel: usize = out.iter().product();
    if let Some(rq) = requant(&n.op) {
        let want = match rq.index {
            RequantIndex::Tensor => Some(1),
            RequantIndex::Element => Some(numel),
            RequantIndex::Axis(a) => out.get(a).copied(),
        };
        if want != Some(rq.multipliers.len()) {
            return Err(format!(
                "{} requantization multipliers for {:?} of an output {:?}",
                rq.multipliers.len(),
                rq.index,
                out
            ));
        }
        if rq
            .multipliers
            .iter()
            .any(|m| m.unsigned_abs() > MAX_MULTIPLIER)
        {
            return Err("requantization multiplier above 2^40".into());
        }
    }
    match &n.op {
        QuantOp::AddSub { .. }
        | QuantOp::Mul { .. }
        | QuantOp::Compare { .. }
        | QuantOp::Select { .. } => {
            for k in 0..n.inputs.len() {
                if !broadcasts(shape(k), out) {
                    return Err(format!(
                        "operand {k} of shape {:?} does not broadcast to the output {:?}",
                        shape(k),
                        out
                    ));
                }
            }
        }
        QuantOp::Conv { spec, .. } => {
            let (x, w) = (shape(0), shape(1));
            let wn = &spec.window;
            let sp = wn.kernel.len();
            let grp = spec.group;
            let ok = w.len() == sp + 2
                && x.len() > sp
                && out.len() == x.len()
                && w[2..] == wn.kernel[..]
                && window_ok(wn)
                && grp >= 1
                && w[0] % grp == 0
                && x[x.len() - sp - 1] == w[1] * grp
                && out[out.len() - sp - 1] == w[0];
            if !ok {
                return Err(format!(
                    "convolution geometry inconsistent: input {x:?}, weight {w:?}, output {out:?}, {wn:?}, groups {grp}"
                ));
            }
            if n.inputs.len() == 3 && shape(2).iter().product::<usize>() != w[0] {
                return Err("convolution bias is not one value per output channel".into());
            }
        }
        QuantOp::MaxPool(wn) | QuantOp::SumPool { window: wn, .. }
            if !window_ok(wn) || out.len() < wn.kernel.len() =>
        {
            return Err(format!("window geometry inconsistent: {wn:?}"));
        }
        QuantOp::ArgMax => {
            let x = shape(0);
            if x.is_empty() || out[..] != x[..x.len() - 1] {
                return Err(format!(
                    "argmax output {out:?} is not the input {x:?} without its last axis"
                ));
            }
        }
        QuantOp::IndexedMove { index_frac, .. } if index_frac.unsigned_abs() > MAX_FRAC => {
            return Err(format!("index fraction {index_frac} out of range"));
        }
        QuantOp::Softmax {
            out_frac,
            exp_table,
            ..
        } => {
            if *out_frac > g.config.act_bits {
                return Err(format!(
                    "softmax output fraction {out_frac} above the activation width"
                ));
            }
            // The maxima are proven attained and every `x − m` is looked up in the table: a
            // domain reaching above 0 would let a smaller element pass as the maximum.
            let t = g
                .tables
                .get(exp_table.0)
                .ok_or("exp table id out of range")?;
            let last = t.in_min.checked_add(t.outputs.len() as i64 - 1);
            if last != Some(0) || t.outputs.iter().any(|&v| v < 0) {
                return Err(
                    "exp table must cover [−n, 0] exactly, with non-negative outputs".into(),
                );
            }
        }
        _ => {}
    }
    Ok(())
}

impl Plan {
    /// Derives the plan; refuses ops without a proof protocol yet, naming node and op, and any
    /// graph whose parameters are out of range or whose relations are not field-safe
    /// (`zkinfer_model::quant::bounds`): prover and verifier both run it on the graph alone.
    pub fn new(g: &QuantizedGraph) -> Result<Self, Error> {
        validate(g)?;
        zkinfer_model::quant::bounds::check_bounds(g).map_err(|e| match e {
            zkinfer_model::ModelError::FieldUnsafe { node, op, reason } => Error::Unsupported {
                node,
                op,
                reason: format!("not field-safe: {reason}"),
            },
            other => Error::Unsupported {
                node: "<graph>".into(),
                op: "bounds".into(),
                reason: other.to_string(),
            },
        })?;
        let mut tables: Vec<TableSpec> = Vec::new();
        let table_of = |spec: TableSpec, tables: &mut Vec<TableSpec>| {
            tables.iter().position(|t| *t == spec).unwrap_or_else(|| {
                tables.push(spec);
                tables.len() - 1
            })
        };
        let mut lookups = Vec::new();
        let mut polys = Vec::new();
        let mut limbs = vec![Vec::new(); g.nodes.len()];
        let mut out_poly = vec![None; g.nodes.len()];
        let mut consts: Vec<(usize, ConstLayout)> = Vec::new();
        let mut const_slot = HashMap::new();
        let (lo, hi) = g.config.act_range();
        let act_bits = g.config.act_bits;
        for (ni, n) in g.nodes.iter().enumerate() {
            let unsupported = |why: &str| Error::Unsupported {
                node: n.name.clone(),
                op: n.op.name(),
                reason: why.to_string(),
            };
            let out = g
                .tensors
                .get(n.output.0)
                .ok_or_else(|| unsupported("bad output tensor id"))?;
            let numel: usize = out.shape.iter().product();
            if numel == 0 {
                return Err(unsupported("empty output tensor"));
            }
            for (k, inp) in n.inputs.iter().enumerate() {
                let t = g
                    .tensors
                    .get(inp.0)
                    .ok_or_else(|| unsupported("bad input tensor id"))?;
                if let QTensorKind::Const(_) = t.kind {
                    let layout = match (&n.op, k) {
                        (QuantOp::Conv { spec, .. }, 1) => ConstLayout::Conv {
                            groups: spec.group.max(1),
                        },
                        _ => ConstLayout::Natural,
                    };
                    match const_slot.get(&inp.0) {
                        Some(&s) => {
                            let (_, l): (usize, ConstLayout) = consts[s];
                            if l != layout {
                                return Err(unsupported(
                                    "a constant used both as a grouped-convolution weight and otherwise",
                                ));
                            }
                        }
                        None => {
                            const_slot.insert(inp.0, consts.len());
                            consts.push((inp.0, layout));
                        }
                    }
                }
            }
            match &n.op {
                QuantOp::Einsum { .. }
                | QuantOp::Conv { .. }
                | QuantOp::SumPool { .. }
                | QuantOp::AddSub { .. }
                | QuantOp::Mul { .. }
                | QuantOp::Rescale { .. }
                | QuantOp::ReduceSum { .. }
                | QuantOp::Select { .. } => {
                    if let QuantOp::Select { .. } = &n.op {
                        // The condition must be 0/1.
                        let c = n
                            .inputs
                            .first()
                            .ok_or_else(|| unsupported("no condition"))?;
                        let rows: usize = g.tensors[c.0].shape.iter().product();
                        let t = table_of(TableSpec::Range(1), &mut tables);
                        lookups.push(LookupPlan {
                            table: t,
                            cols: vec![Col::Tensor { id: c.0, fill: 0 }],
                            rows: rows.max(1),
                            node: ni,
                            shift: 0,
                            scale: 1,
                        });
                    }
                    let rq = requant(&n.op).ok_or_else(|| unsupported("no requant"))?;
                    if rq.lo != lo || rq.hi != hi {
                        return Err(unsupported(
                            "requantization clamp differs from the activation range",
                        ));
                    }
                    if let RequantIndex::Axis(a) = rq.index {
                        if a >= out.shape.len() {
                            return Err(unsupported("requantization axis out of range"));
                        }
                    }
                    let nv = compact_vars(numel);
                    let t = table_of(TableSpec::Range(act_bits), &mut tables);
                    lookups.push(LookupPlan {
                        table: t,
                        cols: vec![Col::Tensor {
                            id: n.output.0,
                            fill: 0,
                        }],
                        rows: numel,
                        node: ni,
                        shift: signed_shift(act_bits),
                        scale: 1,
                    });
                    push_limbs(
                        ni,
                        rq.shift,
                        0,
                        nv,
                        numel,
                        &mut polys,
                        &mut limbs[ni],
                        &mut lookups,
                        &mut tables,
                    );
                }
                QuantOp::Lookup { table } => {
                    let tab = g
                        .tables
                        .get(table.0)
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| unsupported("bad table"))?;
                    if log2_ceil(tab.len()) > 20 {
                        return Err(unsupported("lookup table above 2^20 rows"));
                    }
                    let x = n.inputs.first().ok_or_else(|| unsupported("no input"))?;
                    let p = polys.len();
                    polys.push((PolyRole::Output { node: ni }, compact_vars(numel)));
                    out_poly[ni] = Some(p);
                    let t = table_of(TableSpec::Graph(table.0), &mut tables);
                    lookups.push(LookupPlan {
                        table: t,
                        cols: vec![
                            Col::Tensor {
                                id: x.0,
                                fill: tab.in_min,
                            },
                            Col::Poly(p),
                        ],
                        rows: numel,
                        node: ni,
                        shift: 0,
                        scale: 1,
                    });
                }
                QuantOp::MaxPool(_) | QuantOp::ReduceMax { .. } | QuantOp::Relu => {
                    let (grs, _) = crate::ops::max::groups(g, ni)
                        .ok_or_else(|| unsupported("bad window or axes"))?;
                    let k = grs.iter().map(Vec::len).max().unwrap_or(0);
                    if k == 0 || k > crate::ops::max::MAX_GROUP {
                        return Err(unsupported(&format!(
                            "max over {k} elements (supported: 1..={})",
                            crate::ops::max::MAX_GROUP
                        )));
                    }
                    let pairs = crate::ops::max::pairs(&grs).len();
                    if pairs > crate::ops::attain::MAX_PAIRS {
                        return Err(unsupported(&format!(
                            "max over {pairs} (output, input) pairs (supported: up to 2^34)"
                        )));
                    }
                    let p = polys.len();
                    polys.push((PolyRole::Output { node: ni }, compact_vars(numel)));
                    out_poly[ni] = Some(p);
                    let t = table_of(TableSpec::Range(act_bits), &mut tables);
                    lookups.push(LookupPlan {
                        table: t,
                        cols: vec![Col::Diff { node: ni }],
                        rows: pairs,
                        node: ni,
                        shift: 0,
                        scale: 1,
                    });
                    push_selector(ni, pairs, k, &mut polys, &mut lookups, &mut tables);
                }
                QuantOp::Compare {
                    lhs_shift,
                    rhs_shift,
                    kind,
                } => {
                    let fm = crate::ops::compare::form(*kind)
                        .ok_or_else(|| unsupported("not a comparison"))?;
                    let nv = compact_vars(numel);
                    let p = polys.len();
                    polys.push((PolyRole::Output { node: ni }, nv));
                    out_poly[ni] = Some(p);
                    let t = table_of(TableSpec::Range(1), &mut tables);
                    lookups.push(LookupPlan {
                        table: t,
                        cols: vec![Col::Poly(p)],
                        rows: numel,
                        node: ni,
                        shift: 0,
                        scale: 1,
                    });
                    match fm {
                        crate::ops::compare::Form::Order { .. } => {
                            push_limbs(
                                ni,
                                crate::ops::compare::excess_bits(act_bits, *lhs_shift, *rhs_shift),
                                0,
                                nv,
                                numel,
                                &mut polys,
                                &mut limbs[ni],
                                &mut lookups,
                                &mut tables,
                            );
                        }
                        crate::ops::compare::Form::Equal { .. } => {
                            let p = polys.len();
                            polys.push((PolyRole::Limb { node: ni, j: 0 }, nv));
                            limbs[ni].push((p, 0));
                        }
                    }
                }
                QuantOp::Softmax { exp_table, .. } => {
                    let rs = crate::ops::softmax::rows(g, ni)
                        .ok_or_else(|| unsupported("bad softmax axis"))?;
                    let len = rs.iter().map(Vec::len).max().unwrap_or(0);
                    if len == 0 || len > crate::ops::softmax::MAX_ROW {
                        return Err(unsupported(&format!(
                            "softmax rows of {len} elements (supported: 1..={})",
                            crate::ops::softmax::MAX_ROW
                        )));
                    }
                    g.tables
                        .get(exp_table.0)
                        .filter(|t| t.get(0).is_some_and(|v| v >= 1))
                        .ok_or_else(|| unsupported("exp table must map 0 to at least 1"))?;
                    let (nv, nvr) = (compact_vars(numel), compact_vars(rs.len()));
                    polys.push((PolyRole::SmMax { node: ni }, nvr));
                    let pe = polys.len();
                    polys.push((PolyRole::SmExp { node: ni }, nv));
                    let pb = polys.len();
                    polys.push((PolyRole::SmBit { node: ni }, nvr));
                    let py = polys.len();
                    polys.push((PolyRole::Output { node: ni }, nv));
                    out_poly[ni] = Some(py);
                    let t = table_of(TableSpec::Graph(exp_table.0), &mut tables);
                    lookups.push(LookupPlan {
                        table: t,
                        cols: vec![Col::SmArg { node: ni }, Col::Poly(pe)],
                        rows: numel,
                        node: ni,
                        shift: 0,
                        scale: 1,
                    });
                    let t = table_of(TableSpec::Range(act_bits), &mut tables);
                    lookups.push(LookupPlan {
                        table: t,
                        cols: vec![Col::Poly(py)],
                        rows: numel,
                        node: ni,
                        shift: signed_shift(act_bits),
                        scale: 1,
                    });
                    let t = table_of(TableSpec::Range(1), &mut tables);
                    lookups.push(LookupPlan {
                        table: t,
                        cols: vec![Col::Poly(pb)],
                        rows: rs.len(),
                        node: ni,
                        shift: 0,
                        scale: 1,
                    });
                    for part in 0..2 {
                        push_limbs(
                            ni,
                            crate::ops::softmax::rem_bits(act_bits, len),
                            part * 100,
                            nv,
                            numel,
                            &mut polys,
                            &mut limbs[ni],
                            &mut lookups,
                            &mut tables,
                        );
                    }
                    push_selector(ni, numel, len, &mut polys, &mut lookups, &mut tables);
                }
                QuantOp::ArgMax => {
                    let (no, v) = crate::ops::argmax::rows(g, ni)
                        .ok_or_else(|| unsupported("argmax over an empty axis"))?;
                    // The indices are read from the statement: the output must be public and
                    // feed nothing else.
                    let public = g.outputs.contains(&n.output);
                    let consumed = g.nodes.iter().any(|m| m.inputs.contains(&n.output));
                    if !public || consumed {
                        return Err(unsupported(
                            "an argmax output must be a graph output that no node consumes",
                        ));
                    }
                    let rows = no
                        .checked_mul(v)
                        .filter(|&r| r <= 1 << 34)
                        .ok_or_else(|| unsupported("argmax too large"))?;
                    let t = table_of(TableSpec::Range(act_bits), &mut tables);
                    lookups.push(LookupPlan {
                        table: t,
                        cols: vec![Col::ArgDiff { node: ni }],
                        rows,
                        node: ni,
                        shift: 0,
                        scale: 1,
                    });
                }
                QuantOp::Move(_)
                | QuantOp::IndexedMove { .. }
                | QuantOp::Pad { .. }
                | QuantOp::Concat { .. } => {}
                _ => return Err(unsupported("no proof protocol for this op yet")),
            }
        }
        for t in 0..tables.len() {
            let nv = match tables[t] {
                TableSpec::Range(b) => b as usize,
                TableSpec::Graph(i) => log2_ceil(g.tables[i].len()),
            };
            polys.push((PolyRole::Mult { table: t }, nv));
        }
        Ok(Plan {
            tables,
            lookups,
            polys,
            limbs,
            out_poly,
            consts,
            const_slot,
        })
    }

    /// Number of variables of each committed constant in its padded layout (the weight
    /// commitment's layout).
    pub fn weight_layout(&self, g: &QuantizedGraph) -> Vec<usize> {
        self.consts
            .iter()
            .map(|&(id, l)| {
                crate::layout::Padded::new(&const_dims(&g.tensors[id].shape, l)).num_vars()
            })
            .collect()
    }

    /// Number of variables of each committed witness polynomial (the witness layout).
    pub fn witness_layout(&self) -> Vec<usize> {
        self.polys.iter().map(|p| p.1).collect()
    }

    /// The multiplicity poly of table `t`.
    pub fn mult_poly(&self, t: usize) -> usize {
        self.polys.len() - self.tables.len() + t
    }
}
