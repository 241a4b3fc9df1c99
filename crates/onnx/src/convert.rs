//! Loading with tract and walking its typed graph through the converter registry.

use std::collections::HashMap;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::source::TypedSource;
use tract_onnx::tract_hir::internal::{DimLike, Factoid};
use zkinfer_model::{FloatGraph, FloatOp, FloatTensorKind, TensorId};

use crate::{guard, ops, LoadError};

fn tract_err(stage: &'static str) -> impl Fn(TractError) -> LoadError {
    move |e| LoadError::Tract {
        stage,
        msg: format!("{e:#}"),
    }
}

/// Conversion state handed to the per-family converters.
pub struct Ctx<'a> {
    /// The decluttered tract model.
    pub model: &'a TypedModel,
    /// The float graph being built.
    pub g: FloatGraph,
    /// Default-domain opset.
    pub opset: i64,
    map: HashMap<OutletId, TensorId>,
    onnx_nodes: Vec<(String, String)>,
}

impl<'a> Ctx<'a> {
    /// Constant value of input `i` of `node`, if tract proved it constant.
    pub fn konst(&self, node: &TypedNode, i: usize) -> Option<Arc<Tensor>> {
        let o = *node.inputs.get(i)?;
        self.model.outlet_fact(o).ok()?.konst.clone()
    }

    /// Constant input `i` as f32 values.
    pub fn konst_f32(&self, node: &TypedNode, i: usize) -> Option<Vec<f32>> {
        let t = self.konst(node, i)?;
        let t = t.cast_to::<f32>().ok()?;
        Some(
            t.to_plain_array_view::<f32>()
                .ok()?
                .iter()
                .copied()
                .collect(),
        )
    }

    fn shape_of(&self, o: OutletId, node: &str) -> Result<Vec<usize>, LoadError> {
        let f = self.model.outlet_fact(o).map_err(tract_err("facts"))?;
        f.shape
            .as_concrete()
            .map(<[usize]>::to_vec)
            .ok_or_else(|| LoadError::Shape {
                node: node.to_string(),
                reason: format!("shape {:?} is not concrete", f.shape),
            })
    }

    /// Concrete shape of input `i`.
    pub fn in_shape(&self, node: &TypedNode, i: usize) -> Result<Vec<usize>, LoadError> {
        let o = *node.inputs.get(i).ok_or_else(|| self.unsupported(node))?;
        self.shape_of(o, &node.name)
    }

    /// Concrete shape of the node's first output.
    pub fn out_shape(&self, node: &TypedNode) -> Result<Vec<usize>, LoadError> {
        self.shape_of(OutletId::new(node.id, 0), &node.name)
    }

    /// The float-graph tensor feeding input `i` (constants are materialised on first use).
    pub fn input(&mut self, node: &TypedNode, i: usize) -> Result<TensorId, LoadError> {
        let o = *node.inputs.get(i).ok_or_else(|| self.unsupported(node))?;
        self.outlet(o)
    }

    fn outlet(&mut self, o: OutletId) -> Result<TensorId, LoadError> {
        if let Some(t) = self.map.get(&o) {
            return Ok(*t);
        }
        let f = self.model.outlet_fact(o).map_err(tract_err("facts"))?;
        let name = self.model.node(o.node).name.clone();
        let k = f.konst.clone().ok_or_else(|| LoadError::Shape {
            node: name.clone(),
            reason: "tensor used before it is computed".into(),
        })?;
        let data = k.cast_to::<f32>().map_err(tract_err("constant cast"))?;
        let data: Vec<f32> = data
            .to_plain_array_view::<f32>()
            .map_err(tract_err("constant cast"))?
            .iter()
            .copied()
            .collect();
        let id = self
            .g
            .add_tensor(name, k.shape().to_vec(), FloatTensorKind::Const(data));
        self.map.insert(o, id);
        Ok(id)
    }

    /// Emits a node producing the tract node's first output.
    pub fn emit(
        &mut self,
        node: &TypedNode,
        op: FloatOp,
        inputs: Vec<TensorId>,
    ) -> Result<TensorId, LoadError> {
        let shape = self.out_shape(node)?;
        let id = self.g.add_node(node.name.clone(), op, inputs, shape);
        self.map.insert(OutletId::new(node.id, 0), id);
        Ok(id)
    }

    /// Emits an intermediate node `{node}.{suffix}` of the given shape, for converters that
    /// lower one tract op into several zkinfer ops (the last one goes through [`Ctx::emit`]).
    pub fn emit_step(
        &mut self,
        node: &TypedNode,
        suffix: &str,
        op: FloatOp,
        inputs: Vec<TensorId>,
        shape: Vec<usize>,
    ) -> TensorId {
        self.g
            .add_node(format!("{}.{suffix}", node.name), op, inputs, shape)
    }

    /// [`Ctx::emit_step`] with the node's output shape.
    pub fn emit_helper(
        &mut self,
        node: &TypedNode,
        suffix: &str,
        op: FloatOp,
        inputs: Vec<TensorId>,
    ) -> Result<TensorId, LoadError> {
        let shape = self.out_shape(node)?;
        Ok(self.emit_step(node, suffix, op, inputs, shape))
    }

    /// Datum type of input `i` (None when it cannot be read).
    pub fn in_type(&self, node: &TypedNode, i: usize) -> Option<DatumType> {
        let o = *node.inputs.get(i)?;
        Some(self.model.outlet_fact(o).ok()?.datum_type)
    }

    /// Adds a constant `{node}.{suffix}` (for converters that lower one op into several).
    pub fn constant(
        &mut self,
        node: &TypedNode,
        suffix: &str,
        shape: Vec<usize>,
        data: Vec<f32>,
    ) -> TensorId {
        self.g.add_tensor(
            format!("{}.{suffix}", node.name),
            shape,
            FloatTensorKind::Const(data),
        )
    }

    /// Binds output `slot` of a multi-output node (TopK) to a tensor.
    pub fn bind(&mut self, node: &TypedNode, slot: usize, t: TensorId) {
        self.map.insert(OutletId::new(node.id, slot), t);
    }

    /// Aliases the node's output to an existing tensor (identity-like ops).
    pub fn alias(&mut self, node: &TypedNode, t: TensorId) -> TensorId {
        self.map.insert(OutletId::new(node.id, 0), t);
        t
    }

    /// The "unsupported op" error for `node`.
    pub fn unsupported(&self, node: &TypedNode) -> LoadError {
        let onnx = self
            .onnx_nodes
            .iter()
            .filter(|(n, _)| !n.is_empty() && node.name.starts_with(n.as_str()))
            .max_by_key(|(n, _)| n.len())
            .map(|(_, t)| format!(" (ONNX {t})"))
            .unwrap_or_default();
        LoadError::Unsupported {
            op: format!("{}{onnx}", node.op.name()),
            node: node.name.clone(),
            opset: self.opset,
        }
    }
}

pub(crate) fn load(
    bytes: &[u8],
    input_shapes: Option<&[Vec<usize>]>,
) -> Result<FloatGraph, LoadError> {
    let mut onnx = tract_onnx::onnx()
        .with_ignore_output_shapes(true)
        .with_ignore_value_info(true);
    crate::legacy::register(&mut onnx);
    let mut proto = onnx
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| LoadError::Malformed(format!("{e:#}")))?;
    let opset = guard::check(&proto)?;
    crate::legacy::rewrite(&mut proto, opset)?;
    let onnx_nodes = proto
        .graph
        .as_ref()
        .map(|g| {
            g.node
                .iter()
                .map(|n| (n.name.clone(), n.op_type.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut model = onnx
        .model_for_proto_model(&proto)
        .map_err(tract_err("parse"))?;
    for i in 0..model.inputs.len() {
        let fact = model.input_fact(i).map_err(tract_err("inputs"))?.clone();
        let dt = fact.datum_type.concretize().unwrap_or(DatumType::F32);
        let declared: Vec<usize> = fact
            .shape
            .dims()
            .map(|d| d.concretize().and_then(|d| d.to_usize().ok()).unwrap_or(1))
            .collect();
        // EZKL's input.json often gives a flattened shape (`[4]` for a `[batch, 4]` input);
        // the graph's own shape wins when it holds the same number of elements.
        let shape: Vec<usize> = match input_shapes.and_then(|s| s.get(i)) {
            Some(s)
                if declared.is_empty()
                    || s.iter().product::<usize>() != declared.iter().product::<usize>() =>
            {
                s.clone()
            }
            _ => declared,
        };
        model
            .set_input_fact(i, InferenceFact::dt_shape(dt, &shape))
            .map_err(tract_err("inputs"))?;
    }
    let typed = model.into_typed().map_err(tract_err("type analysis"))?;
    // Some exporters leave shape annotations tract's declutter trips on (large_mlp: Tile after
    // a symbolic batch); fall back to the un-decluttered typed graph then.
    let typed = match typed.clone().into_decluttered() {
        Ok(t) => t,
        Err(_) => typed,
    };
    let mut ctx = Ctx {
        model: &typed,
        g: FloatGraph::default(),
        opset,
        map: HashMap::new(),
        onnx_nodes,
    };
    // Graph inputs in the model's declared order (not evaluation order: input.json lists
    // them by declaration), unused ones included.
    for &o in &typed.inputs {
        let node = typed.node(o.node);
        let shape = ctx.out_shape(node)?;
        let t = ctx
            .g
            .add_tensor(node.name.clone(), shape, FloatTensorKind::Input);
        ctx.g.inputs.push(t);
        ctx.map.insert(o, t);
    }
    for id in typed.eval_order().map_err(tract_err("order"))? {
        let node = typed.node(id);
        if node.op_as::<TypedSource>().is_some() {
            continue;
        }
        let all_const = (0..node.outputs.len()).all(|o| {
            typed
                .outlet_fact(OutletId::new(id, o))
                .map(|f| f.konst.is_some())
                .unwrap_or(false)
        });
        if all_const {
            continue;
        }
        let mut done = false;
        for conv in ops::REGISTRY {
            if conv(&mut ctx, node)?.is_some() {
                done = true;
                break;
            }
        }
        // A converter binds every output of the node (most ops have one; TopK has two).
        let bound = (0..node.outputs.len()).all(|o| ctx.map.contains_key(&OutletId::new(id, o)));
        if !done || !bound {
            return Err(ctx.unsupported(node));
        }
    }
    for &o in &typed.outputs {
        let t = ctx.outlet(o)?;
        ctx.g.outputs.push(t);
    }
    Ok(zkinfer_model::simplify::simplified(ctx.g)?)
}
