//! Quantization: calibrate on sample inputs, then lower each float node to integer relations.
//! Dispatch lives here; one module per op family does the lowering (`lower_linear`,
//! `lower_elem`).

use std::collections::HashMap;

use super::graph::{QTensor, QTensorKind, QuantConfig, QuantNode, QuantOp, QuantizedGraph};
use super::requant::Requant;
use super::table::{pow2, LookupTable, TableId};
use crate::error::{ModelError, Result};
use crate::eval::eval_all;
use crate::graph::{FloatGraph, FloatNode, FloatTensorKind, TensorId};
use crate::ops::{FloatOp, UnaryFn};

/// Per float tensor: largest and smallest non-zero |value| seen during calibration.
#[derive(Clone, Debug, Default)]
pub struct Calibration {
    /// max |x| per tensor.
    pub max_abs: Vec<f64>,
    /// min non-zero |x| per tensor (∞ when all zero).
    pub min_abs: Vec<f64>,
}

/// Bounds on |value| that hold for *every* input, where the graph structure gives one:
/// constants, comparisons (0/1) and what arithmetic and data movement make of them. Index
/// arithmetic (ArgMax's `e·(n − k)`, one-hot selections) is bounded this way whatever the
/// calibration samples happened to select; tensors fed by a model input get `None`.
pub fn static_bounds(g: &FloatGraph) -> Vec<Option<f64>> {
    use crate::ops::{BinaryKind as B, ReduceKind};
    let mut b: Vec<Option<f64>> = g
        .tensors
        .iter()
        .map(|t| match &t.kind {
            FloatTensorKind::Const(v) => {
                Some(v.iter().map(|x| f64::from(x.abs())).fold(0.0, f64::max))
            }
            _ => None,
        })
        .collect();
    for n in &g.nodes {
        let inb = |i: usize| n.inputs.get(i).and_then(|t| b.get(t.0).copied().flatten());
        let all = || -> Option<f64> {
            n.inputs
                .iter()
                .map(|t| b.get(t.0).copied().flatten())
                .try_fold(0.0f64, |m, x| x.map(|x| m.max(x)))
        };
        let v = match &n.op {
            FloatOp::Binary(k) if k.compare(0, 0).is_some() => Some(1.0),
            FloatOp::Binary(B::Mul) => inb(0).zip(inb(1)).map(|(x, y)| x * y),
            FloatOp::Binary(B::Add | B::Sub) => inb(0).zip(inb(1)).map(|(x, y)| x + y),
            FloatOp::Binary(B::Max | B::Min) => all(),
            FloatOp::Unary(f) => match f {
                UnaryFn::Not | UnaryFn::Sign => Some(1.0),
                UnaryFn::Abs | UnaryFn::Neg | UnaryFn::Relu => inb(0),
                UnaryFn::Scale(c) => inb(0).map(|x| x * f64::from(c.abs())),
                UnaryFn::Offset(c) => inb(0).map(|x| x + f64::from(c.abs())),
                _ => None,
            },
            // No bound for sums: `group × bound` is far too loose for a one-hot selection
            // (one non-zero term) and would cost it log2(group) bits.
            FloatOp::Reduce { kind, .. } => match kind {
                ReduceKind::Max | ReduceKind::Min | ReduceKind::Mean => inb(0),
                ReduceKind::Sum => None,
                ReduceKind::MeanOfSquares => inb(0).map(|x| x * x),
            },
            FloatOp::Where => inb(1).zip(inb(2)).map(|(x, y)| x.max(y)),
            FloatOp::Reshape
            | FloatOp::Transpose { .. }
            | FloatOp::Slice { .. }
            | FloatOp::Gather { .. }
            | FloatOp::Broadcast
            | FloatOp::Tile
            | FloatOp::Concat { .. } => all(),
            FloatOp::Pad { value, .. } => inb(0).map(|x| x.max(f64::from(value.abs()))),
            _ => None,
        };
        if let Some(slot) = b.get_mut(n.output.0) {
            *slot = v;
        }
    }
    b
}

/// Runs the float graph on every sample and records value ranges, widened to the
/// [`static_bounds`] where the structure gives one (so an input unlike the calibration
/// samples cannot push such a tensor out of its range).
pub fn calibrate(g: &FloatGraph, samples: &[Vec<Vec<f32>>]) -> Result<Calibration> {
    let mut c = Calibration {
        max_abs: static_bounds(g)
            .into_iter()
            .map(|b| b.filter(|b| b.is_finite()).unwrap_or(0.0))
            .collect(),
        min_abs: vec![f64::INFINITY; g.tensors.len()],
    };
    let mut observe = |i: usize, v: &[f32]| {
        for &x in v {
            let a = f64::from(x).abs();
            if a.is_finite() {
                c.max_abs[i] = c.max_abs[i].max(a);
                if a > 0.0 {
                    c.min_abs[i] = c.min_abs[i].min(a);
                }
            }
        }
    };
    // Constants once (the same in every sample); the run's values per sample.
    for (i, t) in g.tensors.iter().enumerate() {
        if let crate::graph::FloatTensorKind::Const(d) = &t.kind {
            if !samples.is_empty() {
                observe(i, d);
            }
        }
    }
    for s in samples {
        for (i, v) in eval_all(g, s)?.iter().enumerate() {
            observe(i, v);
        }
    }
    Ok(c)
}

/// Builder state shared by the per-family lowering modules.
pub(crate) struct Lowering<'a> {
    pub fg: &'a FloatGraph,
    pub cfg: QuantConfig,
    pub cal: Calibration,
    pub q: QuantizedGraph,
    pub map: Vec<Option<TensorId>>,
    const_cache: HashMap<(usize, i32), TensorId>,
    table_cache: HashMap<String, TableId>,
}

impl<'a> Lowering<'a> {
    /// Fraction bits so that `max · 2^frac` fits in `bits` signed bits (minus headroom).
    pub fn frac_for(&self, max: f64, bits: u32, headroom: u32) -> i32 {
        if max.is_nan() || max <= 0.0 || !max.is_finite() {
            return (bits as i32 - 2).max(0);
        }
        let limit = (pow2(bits as i32 - 1) - 1.0) / pow2(headroom as i32);
        (limit / max).log2().floor().clamp(-30.0, 40.0) as i32
    }

    /// Calibrated activation fraction of float tensor `fid`.
    pub fn act_frac(&self, fid: TensorId) -> i32 {
        self.frac_for(
            self.cal.max_abs.get(fid.0).copied().unwrap_or(0.0),
            self.cfg.act_bits,
            self.cfg.headroom_bits,
        )
    }

    /// Quantized id and frac of an operand; constants are quantized at `frac` (or their own
    /// `bits`-bit fraction when None).
    pub fn operand(
        &mut self,
        fid: TensorId,
        bits: u32,
        frac: Option<i32>,
    ) -> Result<(TensorId, i32)> {
        if let Some(Some(q)) = self.map.get(fid.0) {
            return Ok((*q, self.q.tensors[q.0].frac));
        }
        let t = self.fg.tensor(fid)?;
        let FloatTensorKind::Const(data) = &t.kind else {
            return Err(ModelError::InvalidGraph {
                node: t.name.clone(),
                reason: "tensor used before it is computed".into(),
            });
        };
        if data.iter().any(|x| x.is_nan()) {
            return Err(ModelError::InvalidGraph {
                node: t.name.clone(),
                reason: "constant contains NaN".into(),
            });
        }
        // Infinite entries (a mask's −∞ fill) take the extreme value of the operand's width;
        // the scale comes from the finite ones.
        let max = data
            .iter()
            .filter(|x| x.is_finite())
            .fold(0.0f64, |m, &x| m.max(f64::from(x).abs()));
        let own = self.frac_for(max, bits, 0);
        let f = frac.map_or(own, |f| f.min(own));
        if let Some(id) = self.const_cache.get(&(fid.0, f)) {
            return Ok((*id, f));
        }
        let extreme = (1i64 << (bits.clamp(2, 62) - 1)) - 1;
        let q: Vec<i64> = data
            .iter()
            .map(|&x| match x {
                f32::INFINITY => extreme,
                f32::NEG_INFINITY => -extreme,
                x => (f64::from(x) * pow2(f)).round() as i64,
            })
            .collect();
        let id = self.add_const(&t.name, t.shape.clone(), q, f, Some(fid));
        self.const_cache.insert((fid.0, f), id);
        Ok((id, f))
    }

    /// Whether float constant `fid` is both the table of a one-input gather by a public index
    /// (`IndexedMove`) and an operand of an einsum — a tied embedding and LM head. Both nodes
    /// then take one quantized constant (weight precision, one power-of-two scale), so the
    /// table is committed once instead of twice.
    pub fn tied_table(&self, fid: TensorId) -> bool {
        if self.fg.const_data(fid).is_none() {
            return false;
        }
        let gathered = self.fg.nodes.iter().any(|n| {
            matches!(n.op, FloatOp::IndexedMove { .. }) && n.inputs.len() == 2 && n.inputs[0] == fid
        });
        let einsum = self.fg.nodes.iter().any(|n| {
            matches!(n.op, FloatOp::Einsum { .. })
                && n.inputs.len() == 2
                && n.inputs[..2].contains(&fid)
        });
        gathered && einsum
    }

    /// Adds a constant tensor.
    pub fn add_const(
        &mut self,
        name: &str,
        shape: Vec<usize>,
        data: Vec<i64>,
        frac: i32,
        float_id: Option<TensorId>,
    ) -> TensorId {
        self.q.tensors.push(QTensor {
            name: name.to_string(),
            shape,
            frac,
            bits: super::graph::signed_bits(&data),
            kind: QTensorKind::Const(data),
            float_id,
        });
        TensorId(self.q.tensors.len() - 1)
    }

    /// Adds a node with a fresh activation output.
    pub fn push(
        &mut self,
        name: &str,
        op: QuantOp,
        inputs: Vec<TensorId>,
        shape: Vec<usize>,
        frac: i32,
        float_id: Option<TensorId>,
    ) -> TensorId {
        self.q.tensors.push(QTensor {
            name: name.to_string(),
            shape,
            frac,
            kind: QTensorKind::Activation,
            float_id,
            bits: self.cfg.act_bits,
        });
        let output = TensorId(self.q.tensors.len() - 1);
        self.q.nodes.push(QuantNode {
            name: name.to_string(),
            op,
            inputs,
            output,
        });
        output
    }

    /// A lookup table of `func` over the whole activation domain (deduplicated).
    pub fn table(
        &mut self,
        func: UnaryFn,
        in_frac: i32,
        out_frac: i32,
        in_min: i64,
        len: usize,
    ) -> TableId {
        let key = format!("{func:?}/{in_frac}/{out_frac}/{in_min}/{len}");
        if let Some(t) = self.table_cache.get(&key) {
            return *t;
        }
        let (lo, hi) = self.cfg.act_range();
        let t = LookupTable::build(func, in_frac, out_frac, in_min, len, lo, hi);
        // Equal rows are one table whatever produced them (relu, abs, clip… at any input
        // scale sample to the same integers): each distinct table costs the proof a
        // multiplicity column and a fraction tree over all its rows.
        let id = match self
            .q
            .tables
            .iter()
            .position(|u| u.in_min == t.in_min && u.outputs == t.outputs)
        {
            Some(i) => TableId(i),
            None => {
                self.q.tables.push(t);
                TableId(self.q.tables.len() - 1)
            }
        };
        self.table_cache.insert(key, id);
        id
    }

    /// Element-wise `func` on activation `x` (frac `fx`), output frac `fy`: a lookup in a
    /// table over the whole activation domain, except where arithmetic is cheaper to prove
    /// and exactly as accurate — ReLU at an unchanged scale is a max against 0, and `x²` a
    /// requantized product (each avoids a 2^A-row table: its multiplicity column and
    /// fraction tree cost more than the range checks that replace them).
    pub fn unary(
        &mut self,
        name: &str,
        func: UnaryFn,
        x: TensorId,
        fx: i32,
        fy: i32,
        fid: Option<TensorId>,
    ) -> TensorId {
        let (lo, hi) = self.cfg.act_range();
        let shape = self.q.tensors[x.0].shape.clone();
        let relu = match func {
            UnaryFn::Relu => true,
            UnaryFn::Clip(a, b) => a == 0.0 && b == f32::INFINITY,
            _ => false,
        };
        if relu && fx == fy {
            return self.push(name, QuantOp::Relu, vec![x], shape, fy, fid);
        }
        if matches!(func, UnaryFn::Square) {
            let requant = Requant::from_ratio(pow2(fy - 2 * fx), lo, hi);
            return self.push(name, QuantOp::Mul { requant }, vec![x, x], shape, fy, fid);
        }
        let table = self.table(func, fx, fy, lo, 1usize << self.cfg.act_bits);
        self.push(name, QuantOp::Lookup { table }, vec![x], shape, fy, fid)
    }

    pub fn unquantizable(node: &FloatNode, reason: impl Into<String>) -> ModelError {
        ModelError::Unquantizable {
            node: node.name.clone(),
            op: node.op.name(),
            reason: reason.into(),
        }
    }
}

/// Quantizes `g` with the given calibration samples (each: one flat array per input).
pub fn quantize(
    g: &FloatGraph,
    samples: &[Vec<Vec<f32>>],
    cfg: &QuantConfig,
) -> Result<QuantizedGraph> {
    if samples.is_empty() {
        return Err(ModelError::InvalidInput(
            "at least one calibration sample is required".into(),
        ));
    }
    if !(4..=20).contains(&cfg.act_bits) || !(2..=24).contains(&cfg.weight_bits) {
        return Err(ModelError::InvalidInput(
            "act_bits must be in 4..=20 and weight_bits in 2..=24".into(),
        ));
    }
    g.validate()?;
    let cal = calibrate(g, samples)?;
    let mut l = Lowering {
        fg: g,
        cfg: cfg.clone(),
        cal,
        q: QuantizedGraph {
            config: cfg.clone(),
            tensors: vec![],
            nodes: vec![],
            tables: vec![],
            inputs: vec![],
            outputs: vec![],
        },
        map: vec![None; g.tensors.len()],
        const_cache: HashMap::new(),
        table_cache: HashMap::new(),
    };
    for &i in &g.inputs {
        let t = g.tensor(i)?;
        // Index-only inputs (token ids, positions) are exact integers of their own width.
        let (frac, bits) = if super::graph::index_only(g, i) {
            (0, super::graph::INDEX_BITS)
        } else {
            (l.act_frac(i), cfg.act_bits)
        };
        l.q.tensors.push(QTensor {
            name: t.name.clone(),
            shape: t.shape.clone(),
            frac,
            kind: QTensorKind::Input,
            float_id: Some(i),
            bits,
        });
        let id = TensorId(l.q.tensors.len() - 1);
        l.q.inputs.push(id);
        l.map[i.0] = Some(id);
    }
    for node in &g.nodes {
        let out = match &node.op {
            FloatOp::Einsum { .. }
            | FloatOp::Conv(_)
            | FloatOp::MaxPool(_)
            | FloatOp::AvgPool { .. } => super::lower_linear::lower(&mut l, node)?,
            _ => super::lower_elem::lower(&mut l, node)?,
        };
        l.map[node.output.0] = Some(out);
    }
    for &o in &g.outputs {
        let id = match l.map[o.0] {
            Some(id) => id,
            None => {
                // A constant output (e.g. a folded Range): committed like any weight and
                // reached through an identity move, so the proof binds it to the commitment.
                let (c, f) = l.operand(o, cfg.act_bits, None)?;
                let t = &l.q.tensors[c.0];
                let (name, shape) = (format!("{}.out", t.name), t.shape.clone());
                l.push(
                    &name,
                    QuantOp::Move(FloatOp::Reshape),
                    vec![c],
                    shape,
                    f,
                    Some(o),
                )
            }
        };
        l.q.outputs.push(id);
    }
    super::bounds::check_bounds(&l.q)?;
    Ok(l.q)
}
