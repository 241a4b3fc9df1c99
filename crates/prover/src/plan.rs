//! The proof plan: what a proof of a given quantized graph commits and looks up. Derived from
//! the public graph alone, identically by prover and verifier, so the two cannot disagree on
//! the statement's shape.

use std::collections::HashMap;

use zkinfer_model::quant::bounds::MAX_CONST_BITS;
use zkinfer_model::quant::{QTensorKind, RequantIndex};
use zkinfer_model::{QuantOp, QuantizedGraph};

use crate::error::Error;
use crate::layout::{compact_vars, log2_ceil};
use crate::ops::Family;

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
    /// A column computed from other columns by node `node`'s op family (differences,
    /// arguments), never committed: the family supplies its values to the prover
    /// (`OpFamily::column`) and turns a claim on it into claims on committed data
    /// (`OpFamily::absorb`). `tag` tells a family's virtual columns apart.
    Virtual {
        /// Node index.
        node: usize,
        /// Which of the family's virtual columns.
        tag: u8,
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

/// One polynomial of the weight commitment: constant `slot` whole (`part` 0), or its `part`-th
/// block of 2^`vars` padded entries when the constant is larger than a weight group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightPoly {
    /// The constant (index into [`Plan::consts`]).
    pub slot: usize,
    /// Which block of the constant's padded table.
    pub part: usize,
    /// Number of variables.
    pub vars: usize,
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
/// table twice ([`PlanBuilder::limbs`]).
const OWN_TABLE_MAX_BITS: u32 = 8;

/// The shift mapping `[−2^(bits−1), 2^(bits−1))` onto the range table `[0, 2^bits)`.
pub fn signed_shift(bits: u32) -> i64 {
    1i64 << bits.saturating_sub(1)
}

/// What the op families fill in while the plan is derived (`OpFamily::plan`): committed
/// polys, lookups and tables, in proof order.
pub struct PlanBuilder<'g> {
    /// The graph.
    pub g: &'g QuantizedGraph,
    tables: Vec<TableSpec>,
    lookups: Vec<LookupPlan>,
    polys: Vec<(PolyRole, usize)>,
    limbs: Vec<Vec<(usize, u32)>>,
    out_poly: Vec<Option<usize>>,
}

impl<'g> PlanBuilder<'g> {
    fn new(g: &'g QuantizedGraph) -> Self {
        Self {
            g,
            tables: Vec::new(),
            lookups: Vec::new(),
            polys: Vec::new(),
            limbs: vec![Vec::new(); g.nodes.len()],
            out_poly: vec![None; g.nodes.len()],
        }
    }

    /// The index of table `spec`, added on first use (tables are shared by all lookups).
    pub fn table(&mut self, spec: TableSpec) -> usize {
        self.tables
            .iter()
            .position(|t| *t == spec)
            .unwrap_or_else(|| {
                self.tables.push(spec);
                self.tables.len() - 1
            })
    }

    /// A committed poly of `nv` variables.
    pub fn poly(&mut self, role: PolyRole, nv: usize) -> usize {
        self.polys.push((role, nv));
        self.polys.len() - 1
    }

    /// Node `node`'s committed output (a lookup, max, comparison or softmax output).
    pub fn output(&mut self, node: usize, nv: usize) -> usize {
        let p = self.poly(PolyRole::Output { node }, nv);
        self.out_poly[node] = Some(p);
        p
    }

    /// A lookup of `cols` (`rows` real rows, each entry mapped to `scale·v + shift`) into
    /// `table`, checking node `node`'s relation.
    pub fn lookup(&mut self, node: usize, table: TableSpec, cols: Vec<Col>, rows: usize) {
        self.lookup_scaled(node, table, cols, rows, 0, 1);
    }

    /// [`Self::lookup`] with a shift and a scale (see [`LookupPlan`]).
    pub fn lookup_scaled(
        &mut self,
        node: usize,
        table: TableSpec,
        cols: Vec<Col>,
        rows: usize,
        shift: i64,
        scale: i64,
    ) {
        let table = self.table(table);
        self.lookups.push(LookupPlan {
            table,
            cols,
            rows,
            node,
            shift,
            scale,
        });
    }

    /// A committed 0/1 column of `rows` entries (range-checked in the 1-bit table).
    pub fn bits(&mut self, node: usize, role: PolyRole, rows: usize) -> usize {
        let p = self.poly(role, compact_vars(rows));
        self.lookup(node, TableSpec::Range(1), vec![Col::Poly(p)], rows);
        p
    }

    /// Appends committed limbs of a `total`-bit non-negative value (16-bit limbs, the top one
    /// narrower), each range-checked: limb `j` gets role `Limb { node, j: first + j }` and
    /// joins `Plan::limbs[node]`.
    ///
    /// A `b`-bit top limb with `8 < b < 16` is looked up in the 16-bit table as `limb` and as
    /// `limb·2^(16−b)`: the first makes it an integer below 2^16, so the product is below
    /// 2^32 < p (no wrap-around) and lies below 2^16 exactly when `limb < 2^b`. This replaces
    /// a `2^b`-row table — its multiplicity column and fraction tree — by one more column over
    /// the limb's rows (lenet_5 drops four tables, halving its committed witness).
    pub fn limbs(&mut self, node: usize, total: u32, first: usize, rows: usize) {
        let nv = compact_vars(rows);
        let mut left = total;
        let mut j = first;
        while left > 0 {
            let bits = left.min(LIMB_BITS);
            let p = self.poly(PolyRole::Limb { node, j }, nv);
            self.limbs[node].push((p, bits));
            let shared = bits > OWN_TABLE_MAX_BITS;
            let spec = TableSpec::Range(if shared { LIMB_BITS } else { bits });
            let scales: &[i64] = if shared && bits < LIMB_BITS {
                &[1, 1 << (LIMB_BITS - bits)]
            } else {
                &[1]
            };
            for &scale in scales {
                self.lookup_scaled(node, spec.clone(), vec![Col::Poly(p)], rows, 0, scale);
            }
            left -= bits;
            j += 1;
        }
    }

    /// A committed auxiliary column of node `node` listed with its limbs but not
    /// range-checked (`bits` = 0; e.g. the inverses of an equality test).
    pub fn unchecked_limb(&mut self, node: usize, j: usize, nv: usize) -> usize {
        let p = self.poly(PolyRole::Limb { node, j }, nv);
        self.limbs[node].push((p, 0));
        p
    }

    fn finish(
        mut self,
        consts: Vec<(usize, ConstLayout)>,
        const_slot: HashMap<usize, usize>,
    ) -> Plan {
        for t in 0..self.tables.len() {
            let nv = match self.tables[t] {
                TableSpec::Range(b) => b as usize,
                TableSpec::Graph(i) => log2_ceil(self.g.tables[i].len()),
            };
            self.polys.push((PolyRole::Mult { table: t }, nv));
        }
        Plan {
            tables: self.tables,
            lookups: self.lookups,
            polys: self.polys,
            limbs: self.limbs,
            out_poly: self.out_poly,
            consts,
            const_slot,
        }
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
    let mut activation_total = 0usize;
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
        // The verifier's memory and time: its claim vectors live on inputs, activations and
        // their padded layouts (constants are bounded by the weight groups).
        if !matches!(t.kind, QTensorKind::Const(_)) {
            let padded = crate::layout::Padded::new(&t.shape).num_vars();
            if padded > MAX_ACTIVATION_VARS {
                return Err(graph(format!(
                    "tensor `{}`: shape {:?} pads to 2^{padded} entries, beyond the verifier's \
                     limit of 2^{MAX_ACTIVATION_VARS} per activation (docs/FUZZING.md)",
                    t.name, t.shape
                )));
            }
            activation_total += 1usize << padded;
            if activation_total > MAX_ACTIVATION_TOTAL {
                return Err(graph(format!(
                    "the activations pad to more than 2^{} entries in all, beyond the \
                     verifier's limit (docs/FUZZING.md)",
                    MAX_ACTIVATION_TOTAL.trailing_zeros()
                )));
            }
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
        let fam = Family::of(&n.op)
            .ok_or_else(|| bad(&n.name, n.op.name(), "no proof protocol for this op yet"))?;
        let (lo, hi) = fam.arity(&n.op);
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
        check_node_params(g, n, fam).map_err(|r| bad(&n.name, n.op.name(), &r))?;
    }
    Ok(())
}

/// Largest tensor (elements).
const MAX_TENSOR_ELEMS: usize = 1 << 34;
/// Largest input or activation in its padded layout (log2 entries): the verifier holds
/// extension-field claim vectors of this length (16 bytes per entry, 2 GiB at 2^27).
pub(crate) const MAX_ACTIVATION_VARS: usize = 27;
/// Largest sum of the inputs' and activations' padded sizes: bounds the verifier's walk time.
pub(crate) const MAX_ACTIVATION_TOTAL: usize = 1 << 32;
/// Largest |fraction| of a tensor or table.
pub(crate) const MAX_FRAC: u32 = 62;
/// Largest |requantization multiplier| (the quantizer keeps 15 bits; 2^40 is its clamp).
const MAX_MULTIPLIER: u64 = 1 << 40;

/// Whether `shape` broadcasts to `out` (numpy rules, no rank above the output's).
pub(crate) fn broadcasts(shape: &[usize], out: &[usize]) -> bool {
    shape.len() <= out.len()
        && shape
            .iter()
            .rev()
            .zip(out.iter().rev())
            .all(|(&d, &o)| d == o || d == 1)
}

/// A window's per-axis parameters agree in number; kernel sizes, strides and dilations ≥ 1.
pub(crate) fn window_ok(wn: &zkinfer_model::ops::WindowSpec) -> bool {
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

/// Parameter checks of a (possibly hostile) node, from the graph alone: its requantization
/// here, the rest by its family (`OpFamily::check`).
fn check_node_params(
    g: &QuantizedGraph,
    n: &zkinfer_model::quant::QuantNode,
    fam: Family,
) -> Result<(), String> {
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
    fam.check(g, n)
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
        let mut b = PlanBuilder::new(g);
        let mut consts: Vec<(usize, ConstLayout)> = Vec::new();
        let mut const_slot = HashMap::new();
        for (ni, n) in g.nodes.iter().enumerate() {
            let unsupported = |why: &str| Error::Unsupported {
                node: n.name.clone(),
                op: n.op.name(),
                reason: why.to_string(),
            };
            let fam = Family::of(&n.op)
                .ok_or_else(|| unsupported("no proof protocol for this op yet"))?;
            let out = g
                .tensors
                .get(n.output.0)
                .ok_or_else(|| unsupported("bad output tensor id"))?;
            if out.shape.iter().product::<usize>() == 0 {
                return Err(unsupported("empty output tensor"));
            }
            for (k, inp) in n.inputs.iter().enumerate() {
                let t = g
                    .tensors
                    .get(inp.0)
                    .ok_or_else(|| unsupported("bad input tensor id"))?;
                if let QTensorKind::Const(_) = t.kind {
                    let layout = fam.const_layout(&n.op, k);
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
            fam.plan(&mut b, ni).map_err(|why| unsupported(&why))?;
        }
        Ok(b.finish(consts, const_slot))
    }

    /// Number of variables of each committed constant in its padded layout.
    pub fn const_vars(&self, g: &QuantizedGraph) -> Vec<usize> {
        self.consts
            .iter()
            .map(|&(id, l)| {
                crate::layout::Padded::new(&const_dims(&g.tensors[id].shape, l)).num_vars()
            })
            .collect()
    }

    /// The weight commitment's polynomials: every constant in plan order, one polynomial each,
    /// except that a constant of more than 2^`group_vars` padded entries is committed as
    /// consecutive parts of 2^`group_vars` entries (part `b` holds padded entries
    /// `[b·2^g, (b+1)·2^g)`), so that no polynomial exceeds a weight group.
    pub fn weight_polys(&self, g: &QuantizedGraph, group_vars: u8) -> Vec<WeightPoly> {
        let gv = usize::from(group_vars);
        self.const_vars(g)
            .into_iter()
            .enumerate()
            .flat_map(|(slot, k)| {
                let (parts, vars) = if k > gv {
                    (1usize << (k - gv), gv)
                } else {
                    (1, k)
                };
                (0..parts).map(move |part| WeightPoly { slot, part, vars })
            })
            .collect()
    }

    /// Number of variables of each weight polynomial (the weight commitment's layout; see
    /// [`Plan::weight_polys`]).
    pub fn weight_layout(&self, g: &QuantizedGraph, group_vars: u8) -> Vec<usize> {
        self.weight_polys(g, group_vars)
            .iter()
            .map(|p| p.vars)
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
