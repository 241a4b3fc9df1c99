//! ONNX ops tract cannot type, made loadable before tract sees them.
//!
//! - **Upsample** (opsets 7–9, deprecated since 10): parsed here into tract's own `Resize`
//!   with Upsample's coordinate rule — `out[i] = in[⌊i / scale⌋]`, i.e. `asymmetric`
//!   coordinates with `floor` rounding — and output size `⌊len · scale⌋`. Opset 7 gives the
//!   scales as an attribute (wired as a constant), opset 9 as an input. Only `nearest` (the
//!   default) is supported; `linear` is refused by name. The typed `Resize` is then lowered
//!   like any nearest Resize (a reshape/broadcast for integer scales, a probed constant move
//!   otherwise).
//! - **LpPool**: rewritten in the protobuf into standard ops with the same value,
//!   `(Σ_window |x|^p)^(1/p) = pow(K · AveragePool_incl_pad(|x|^p), 1/p)` with `K` the window
//!   size (padding contributes 0 to the sum, which `count_include_pad = 1` keeps). `p = 1` and
//!   `p = 2` use `Abs` / `x·x` and `Sqrt` instead of the general power. `ceil_mode = 1` and
//!   dilations ≠ 1 are refused (the average's divisor is then not always `K`).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::{attribute_proto, AttributeProto, ModelProto, NodeProto, TensorProto};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::nn::resize::{CoordTransformer, Interpolator};
use tract_onnx::tract_hir::internal::*;
use tract_onnx::Onnx;
use tract_onnx_opl::resize::{AspectRatio, CoordTransform, Nearest, Resize};

use crate::LoadError;

/// Registers the parsers of this module with tract's ONNX frontend.
pub(crate) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("Upsample", upsample);
}

/// Upsample as an inference op wiring tract's `Resize`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Upsample {
    resize: Resize,
    /// Opset-7 attribute scales (f32 bits); `None` when they are input 1.
    scales_attr: Option<Vec<u32>>,
}

fn upsample(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let mode = node.get_attr_opt::<&str>("mode")?.unwrap_or("nearest");
    if mode != "nearest" {
        bail!("Upsample mode `{mode}` is not supported (only `nearest`)");
    }
    let scales_attr = if ctx.onnx_operator_set_version < 9 {
        let s: Vec<f32> = node
            .get_attr_opt_vec("scales")?
            .ok_or_else(|| format_err!("Upsample (opset < 9) without a `scales` attribute"))?;
        Some(s.iter().map(|v| v.to_bits()).collect())
    } else {
        None
    };
    let resize = Resize {
        axes: None,
        coord_transformer: CoordTransform::Plain(CoordTransformer::Asymmetric),
        interpolator: Interpolator::Nearest,
        nearest: Nearest::Floor,
        antialias: false,
        cubic_coeff_a_bits: (-0.75f32).to_bits(),
        exclude_outside: false,
        extrapolation_value_bits: 0f32.to_bits(),
        keep_aspect_ratio_policy: AspectRatio::Stretch,
        optional_roi_input: None,
        optional_scales_input: Some(1),
        optional_sizes_input: None,
    };
    Ok((
        expand(Upsample {
            resize,
            scales_attr,
        }),
        vec![],
    ))
}

impl Upsample {
    fn attr_scales(&self) -> Option<Tensor> {
        let s: Vec<f32> = self
            .scales_attr
            .as_ref()?
            .iter()
            .map(|&b| f32::from_bits(b))
            .collect();
        Some(tensor1(&s))
    }
}

impl Expansion for Upsample {
    fn name(&self) -> StaticName {
        "Upsample".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1 + usize::from(self.scales_attr.is_none()))?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].rank, &outputs[0].rank)?;
        let out_shape = move |s: &mut Solver<'r>, shape: TVec<TDim>, scales: &Tensor| {
            let out = self
                .resize
                .compute_output_shape(&shape, Some(scales), None)?;
            for (i, d) in out.iter().enumerate() {
                s.equals(&outputs[0].shape[i], d.clone())?;
            }
            Ok(())
        };
        if let Some(scales) = self.attr_scales() {
            s.given(&inputs[0].shape, move |s, shape| {
                out_shape(s, shape, &scales)
            })
        } else {
            s.given_2(&inputs[0].shape, &inputs[1].value, move |s, shape, sc| {
                out_shape(s, shape, &sc)
            })
        }
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let scales = match self.attr_scales() {
            Some(t) => model.add_const(format!("{prefix}.scales"), t)?,
            None => *inputs
                .get(1)
                .ok_or_else(|| format_err!("Upsample without scales"))?,
        };
        model.wire_node(prefix, self.resize.clone(), &[inputs[0], scales])
    }
}

fn int_attr(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

fn ints_attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a [i64]> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.ints.as_slice())
}

fn float_scalar(name: String, v: f32) -> TensorProto {
    TensorProto {
        name,
        data_type: 1, // FLOAT
        float_data: vec![v],
        ..Default::default()
    }
}

fn simple(op: &str, name: String, input: Vec<String>, output: String) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name,
        input,
        output: vec![output],
        ..Default::default()
    }
}

/// Rewrites every LpPool node of the main graph (see the module docs).
pub(crate) fn rewrite(proto: &mut ModelProto, opset: i64) -> Result<(), LoadError> {
    let Some(graph) = proto.graph.as_mut() else {
        return Ok(());
    };
    if !graph.node.iter().any(|n| n.op_type == "LpPool") {
        return Ok(());
    }
    let mut nodes = Vec::with_capacity(graph.node.len() + 8);
    for (i, n) in std::mem::take(&mut graph.node).into_iter().enumerate() {
        if n.op_type != "LpPool" || !n.domain.is_empty() {
            nodes.push(n);
            continue;
        }
        let bad = |reason: &str| LoadError::Unsupported {
            op: format!("LpPool ({reason})"),
            node: n.name.clone(),
            opset,
        };
        let (Some(x), Some(y)) = (n.input.first(), n.output.first()) else {
            return Err(LoadError::Malformed(format!(
                "LpPool node `{}` without input or output",
                n.name
            )));
        };
        let p = int_attr(&n, "p").unwrap_or(2);
        if p < 1 {
            return Err(LoadError::Malformed(format!(
                "LpPool node `{}` has p = {p}",
                n.name
            )));
        }
        if int_attr(&n, "ceil_mode").unwrap_or(0) != 0 {
            return Err(bad("ceil_mode = 1"));
        }
        if ints_attr(&n, "dilations").is_some_and(|d| d.iter().any(|&d| d != 1)) {
            return Err(bad("dilations ≠ 1"));
        }
        let kernel = ints_attr(&n, "kernel_shape")
            .filter(|k| !k.is_empty() && k.iter().all(|&d| d > 0))
            .ok_or_else(|| {
                LoadError::Malformed(format!("LpPool node `{}` without kernel_shape", n.name))
            })?;
        let k: i64 = kernel.iter().product();
        // Unique names: the node's output is unique in the graph; `i` guards empty names.
        let base = format!("{y}.lppool{i}");
        let t = |s: &str| format!("{base}.{s}");
        let powered = match p {
            1 => {
                nodes.push(simple("Abs", t("abs"), vec![x.clone()], t("abs")));
                t("abs")
            }
            2 => {
                nodes.push(simple("Mul", t("sq"), vec![x.clone(), x.clone()], t("sq")));
                t("sq")
            }
            _ => {
                nodes.push(simple("Abs", t("abs"), vec![x.clone()], t("abs")));
                graph.initializer.push(float_scalar(t("p"), p as f32));
                nodes.push(simple("Pow", t("pow"), vec![t("abs"), t("p")], t("pow")));
                t("pow")
            }
        };
        let mut attribute: Vec<AttributeProto> = n
            .attribute
            .iter()
            .filter(|a| {
                matches!(
                    a.name.as_str(),
                    "kernel_shape" | "strides" | "pads" | "auto_pad"
                )
            })
            .cloned()
            .collect();
        attribute.push(AttributeProto {
            name: "count_include_pad".into(),
            r#type: attribute_proto::AttributeType::Int as i32,
            i: 1,
            ..Default::default()
        });
        nodes.push(NodeProto {
            op_type: "AveragePool".into(),
            name: t("avg"),
            input: vec![powered],
            output: vec![t("avg")],
            attribute,
            ..Default::default()
        });
        graph.initializer.push(float_scalar(t("k"), k as f32));
        let sum_out = if p == 1 { y.clone() } else { t("sum") };
        nodes.push(simple("Mul", t("sum"), vec![t("avg"), t("k")], sum_out));
        match p {
            1 => {}
            2 => nodes.push(simple("Sqrt", t("root"), vec![t("sum")], y.clone())),
            _ => {
                graph
                    .initializer
                    .push(float_scalar(t("inv_p"), 1.0 / p as f32));
                nodes.push(simple(
                    "Pow",
                    t("root"),
                    vec![t("sum"), t("inv_p")],
                    y.clone(),
                ));
            }
        }
    }
    graph.node = nodes;
    Ok(())
}
