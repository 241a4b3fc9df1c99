//! Linear family: EinSum (Gemm, MatMul), Conv, MaxPool, SumPool (AveragePool).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{
    Conv, KernelFormat, MaxPool, PaddingSpec, PoolSpec, SumPool,
};
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::nn::DataFormat;
use zkinfer_model::{ConvSpec, FloatOp, TensorId, WindowSpec};

use crate::{Ctx, LoadError};

fn window(ctx: &Ctx, node: &TypedNode, ps: &PoolSpec) -> Result<WindowSpec, LoadError> {
    if !matches!(ps.data_format, DataFormat::NCHW | DataFormat::CHW) {
        return Err(ctx.unsupported(node));
    }
    let r = ps.kernel_shape.len();
    let kernel: Vec<usize> = ps.kernel_shape.to_vec();
    let strides = ps
        .strides
        .as_ref()
        .map(|s| s.to_vec())
        .unwrap_or_else(|| vec![1; r]);
    let dilations = ps
        .dilations
        .as_ref()
        .map(|s| s.to_vec())
        .unwrap_or_else(|| vec![1; r]);
    let pads_before = match &ps.padding {
        PaddingSpec::Explicit(b, _) | PaddingSpec::ExplicitOnnxPool(b, _, _) => b.to_vec(),
        PaddingSpec::Valid => vec![0; r],
        PaddingSpec::SameUpper | PaddingSpec::SameLower => {
            let sx = ctx.in_shape(node, 0)?;
            let sp = &sx[sx.len() - r..];
            (0..r)
                .map(|a| {
                    let out = sp[a].div_ceil(strides[a]);
                    let need =
                        (out.saturating_sub(1) * strides[a] + (kernel[a] - 1) * dilations[a] + 1)
                            .saturating_sub(sp[a]);
                    if matches!(ps.padding, PaddingSpec::SameUpper) {
                        need / 2
                    } else {
                        need - need / 2
                    }
                })
                .collect()
        }
    };
    Ok(WindowSpec {
        kernel,
        strides,
        dilations,
        pads_before,
    })
}

/// Converts linear-family nodes.
pub fn convert(ctx: &mut Ctx, node: &TypedNode) -> Result<Option<TensorId>, LoadError> {
    if let Some(op) = node.op_as::<EinSum>() {
        if op.q_params.is_some() || node.inputs.len() != 2 {
            return Err(ctx.unsupported(node));
        }
        let expr = op.axes.to_string();
        let (a, b) = (ctx.input(node, 0)?, ctx.input(node, 1)?);
        return ctx
            .emit(node, FloatOp::Einsum { expr }, vec![a, b])
            .map(Some);
    }
    if let Some(op) = node.op_as::<Conv>() {
        if op.q_params.is_some() {
            return Err(ctx.unsupported(node));
        }
        let win = window(ctx, node, &op.pool_spec)?;
        let x = ctx.input(node, 0)?;
        let kshape = ctx.in_shape(node, 1)?;
        let mut kdata = ctx
            .konst_f32(node, 1)
            .ok_or_else(|| ctx.unsupported(node))?;
        let r = win.kernel.len();
        // Normalise the kernel layout to OIHW.
        let (kshape, name) = match op.kernel_fmt {
            KernelFormat::OIHW => (kshape, "w"),
            KernelFormat::HWIO | KernelFormat::OHWI => {
                let perm: Vec<usize> = if matches!(op.kernel_fmt, KernelFormat::HWIO) {
                    [r + 1, r].into_iter().chain(0..r).collect()
                } else {
                    [0, r + 1].into_iter().chain(1..=r).collect()
                };
                kdata = zkinfer_model::kernels::shape::transpose(&kdata, &kshape, &perm)
                    .ok_or_else(|| ctx.unsupported(node))?;
                (perm.iter().map(|&p| kshape[p]).collect(), "w_oihw")
            }
        };
        let o = kshape[0];
        let w = ctx.g.add_tensor(
            format!("{}.{name}", node.name),
            kshape,
            zkinfer_model::FloatTensorKind::Const(kdata),
        );
        let mut inputs = vec![x, w];
        if let Some(b) = ctx.konst_f32(node, 2) {
            if b.iter().any(|&v| v != 0.0) {
                let b = if b.len() == 1 { vec![b[0]; o] } else { b };
                inputs.push(ctx.g.add_tensor(
                    format!("{}.bias", node.name),
                    vec![o],
                    zkinfer_model::FloatTensorKind::Const(b),
                ));
            }
        } else if node.inputs.len() > 2 {
            return Err(ctx.unsupported(node));
        }
        let spec = ConvSpec {
            window: win,
            group: op.group,
        };
        return ctx.emit(node, FloatOp::Conv(spec), inputs).map(Some);
    }
    if let Some(op) = node.op_as::<MaxPool>() {
        if op.with_index_outputs.is_some() {
            return Err(ctx.unsupported(node));
        }
        let w = window(ctx, node, &op.pool_spec)?;
        let x = ctx.input(node, 0)?;
        return ctx.emit(node, FloatOp::MaxPool(w), vec![x]).map(Some);
    }
    if let Some(op) = node.op_as::<SumPool>() {
        if !op.normalize {
            return Err(ctx.unsupported(node));
        }
        let w = window(ctx, node, &op.pool_spec)?;
        let x = ctx.input(node, 0)?;
        return ctx
            .emit(
                node,
                FloatOp::AvgPool {
                    window: w,
                    count_include_pad: op.count_include_pad,
                },
                vec![x],
            )
            .map(Some);
    }
    Ok(None)
}
