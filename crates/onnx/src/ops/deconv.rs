//! ConvTranspose (tract `Deconv`) as data movement plus an ordinary convolution.
//!
//! Per spatial axis with stride `s`, dilation `d`, kernel `K`, pads `p_b`/`p_a`:
//! `y[o] = Σ_{i,k: o = i·s − p_b + k·d} x[i]·w[k]`. With `z` the input with `s − 1` zeros
//! inserted after each element, `y[o] = Σ_k z[o + k·d − P]·w[K−1−k]`, `P = d(K−1) − p_b`:
//! a stride-1 convolution of `z` with the spatially flipped kernel, padded `P` in front (the
//! back padding is implied by the output shape). Zero insertion is reshape `[.., L, 1]` →
//! pad to `[.., L, s]` → reshape `[.., L·s]`; a negative `P` becomes a slice. tract has
//! already reordered the ONNX kernel `[C_in, C_out/g, K…]` to `[C_out, C_in/g, K…]`
//! (group-major), the convolution layout, so only the flip remains.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Deconv, KernelFormat, PaddingSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;
use zkinfer_model::{ConvSpec, FloatGraph, FloatOp, FloatTensorKind, TensorId, WindowSpec};

use crate::{Ctx, LoadError};

/// Reverses every spatial axis of an `[O, I, K…]` kernel.
pub fn flip_spatial(data: &[f32], shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let mut out = vec![0.0; n];
    let mut idx = vec![0usize; shape.len()];
    for (src, &v) in data.iter().enumerate().take(n) {
        let mut rem = src;
        for a in (0..shape.len()).rev() {
            idx[a] = rem % shape[a];
            rem /= shape[a];
        }
        let mut dst = 0;
        for (a, &d) in shape.iter().enumerate() {
            let i = if a >= 2 { d - 1 - idx[a] } else { idx[a] };
            dst = dst * d + i;
        }
        out[dst] = v;
    }
    out
}

/// A transposed convolution with its kernel already in `[C_out, C_in/g, K…]` layout.
#[derive(Clone, Debug)]
pub struct Transposed {
    /// Kernel values, row-major.
    pub kernel: Vec<f32>,
    /// Kernel shape `[C_out, C_in/g, K…]`.
    pub kshape: Vec<usize>,
    /// Bias per output channel.
    pub bias: Option<Vec<f32>>,
    /// Stride per spatial axis.
    pub strides: Vec<usize>,
    /// Dilation per spatial axis.
    pub dilations: Vec<usize>,
    /// Padding (before, after) per spatial axis.
    pub pads: Vec<(usize, usize)>,
    /// Extra output length per spatial axis (ONNX `output_padding`).
    pub adjustments: Vec<usize>,
    /// Groups.
    pub group: usize,
}

/// Adds the lowering of `t` applied to `x` (shape `sx`, output shape `sy`) to `g`; returns
/// the output tensor, or why the geometry is inconsistent.
pub fn lower(
    g: &mut FloatGraph,
    name: &str,
    x: TensorId,
    sx: &[usize],
    sy: &[usize],
    t: &Transposed,
) -> Result<TensorId, String> {
    let r = t.kshape.len().saturating_sub(2);
    if r == 0
        || sx.len() < r
        || sy.len() != sx.len()
        || [
            t.strides.len(),
            t.dilations.len(),
            t.pads.len(),
            t.adjustments.len(),
        ] != [r; 4]
    {
        return Err("ConvTranspose shapes do not match its kernel".into());
    }
    let lead = sx.len() - r;
    let (mut pads_before, mut crop) = (Vec::with_capacity(r), vec![0usize; r]);
    for a in 0..r {
        let (l, s, d, k) = (sx[lead + a], t.strides[a], t.dilations[a], t.kshape[2 + a]);
        if s == 0 || d == 0 || k == 0 || l == 0 {
            return Err(format!("degenerate ConvTranspose geometry on axis {a}"));
        }
        let full = (l - 1) * s + d * (k - 1) + 1 + t.adjustments[a];
        if full.checked_sub(t.pads[a].0 + t.pads[a].1) != Some(sy[lead + a]) {
            return Err(format!("unexpected ConvTranspose output size on axis {a}"));
        }
        let p = (d * (k - 1)) as i64 - t.pads[a].0 as i64;
        pads_before.push(p.max(0) as usize);
        crop[a] = (-p).max(0) as usize;
    }
    let o = t.kshape[0];
    let w = g.add_tensor(
        format!("{name}.w_flipped"),
        t.kshape.clone(),
        FloatTensorKind::Const(flip_spatial(&t.kernel, &t.kshape)),
    );
    let (mut x, mut cur) = (x, sx.to_vec());
    if t.strides.iter().any(|&s| s > 1) {
        let (mut split, mut pads) = (Vec::new(), Vec::new());
        for (i, &d) in sx.iter().enumerate() {
            split.push(d);
            pads.push((0, 0));
            let s = if i >= lead { t.strides[i - lead] } else { 1 };
            if s > 1 {
                split.push(1);
                pads.push((0, s - 1));
            }
        }
        let padded: Vec<usize> = split.iter().zip(&pads).map(|(d, p)| d + p.1).collect();
        x = g.add_node(format!("{name}.split"), FloatOp::Reshape, vec![x], split);
        let zeros = FloatOp::Pad { pads, value: 0.0 };
        x = g.add_node(format!("{name}.zeros"), zeros, vec![x], padded);
        for a in 0..r {
            cur[lead + a] *= t.strides[a];
        }
        x = g.add_node(
            format!("{name}.dilated"),
            FloatOp::Reshape,
            vec![x],
            cur.clone(),
        );
    }
    for (a, &c) in crop.iter().enumerate().filter(|(_, &c)| c > 0) {
        let axis = lead + a;
        cur[axis] = cur[axis].saturating_sub(c);
        let op = FloatOp::Slice {
            axis,
            start: c,
            step: 1,
        };
        x = g.add_node(format!("{name}.crop{a}"), op, vec![x], cur.clone());
    }
    let spec = ConvSpec {
        window: WindowSpec {
            kernel: t.kshape[2..].to_vec(),
            strides: vec![1; r],
            dilations: t.dilations.clone(),
            pads_before,
        },
        group: t.group,
    };
    let mut inputs = vec![x, w];
    if let Some(b) = &t.bias {
        let b = g.add_tensor(
            format!("{name}.bias"),
            vec![o],
            FloatTensorKind::Const(b.clone()),
        );
        inputs.push(b);
    }
    Ok(g.add_node(name, FloatOp::Conv(spec), inputs, sy.to_vec()))
}

/// Converts Deconv nodes.
pub fn convert(ctx: &mut Ctx, node: &TypedNode) -> Result<Option<TensorId>, LoadError> {
    let Some(op) = node.op_as::<Deconv>() else {
        return Ok(None);
    };
    let bad = |reason: String| LoadError::Shape {
        node: node.name.clone(),
        reason,
    };
    let ps = &op.pool_spec;
    if !matches!(ps.data_format, DataFormat::NCHW | DataFormat::CHW)
        || op.kernel_format != KernelFormat::OIHW
    {
        return Err(ctx.unsupported(node));
    }
    let r = ps.kernel_shape.len();
    let pads: Vec<(usize, usize)> = match &ps.padding {
        PaddingSpec::Explicit(b, a) | PaddingSpec::ExplicitOnnxPool(b, a, _) => {
            b.iter().copied().zip(a.iter().copied()).collect()
        }
        PaddingSpec::Valid => vec![(0, 0); r],
        _ => {
            return Err(bad(
                "ConvTranspose with auto_pad SAME is not supported".into()
            ))
        }
    };
    let kshape = ctx.in_shape(node, 1)?;
    let kernel = ctx
        .konst_f32(node, 1)
        .ok_or_else(|| bad("ConvTranspose needs a constant kernel".into()))?;
    let o = kshape.first().copied().unwrap_or(0);
    let bias = match ctx.konst_f32(node, 2) {
        Some(b) if b.iter().all(|&v| v == 0.0) => None,
        Some(b) if b.len() == 1 => Some(vec![b[0]; o]),
        Some(b) if b.len() == o => Some(b),
        None if node.inputs.len() <= 2 => None,
        _ => return Err(bad("ConvTranspose needs a constant per-channel bias".into())),
    };
    let t = Transposed {
        kernel,
        kshape,
        bias,
        strides: ps.strides().to_vec(),
        dilations: ps.dilations().to_vec(),
        pads,
        adjustments: op.adjustments.to_vec(),
        group: op.group,
    };
    let (sx, sy) = (ctx.in_shape(node, 0)?, ctx.out_shape(node)?);
    let x = ctx.input(node, 0)?;
    let y = lower(&mut ctx.g, &node.name, x, &sx, &sy, &t).map_err(bad)?;
    Ok(Some(ctx.alias(node, y)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flips_only_spatial_axes() {
        // [O=1, I=2, K=3]: each channel's taps reversed, channels kept.
        let w = [1., 2., 3., 4., 5., 6.];
        assert_eq!(flip_spatial(&w, &[1, 2, 3]), [3., 2., 1., 6., 5., 4.]);
        // [1, 1, 2, 2]: both spatial axes reversed.
        assert_eq!(
            flip_spatial(&[1., 2., 3., 4.], &[1, 1, 2, 2]),
            [4., 3., 2., 1.]
        );
    }

    /// Naive 1-D transposed convolution, `x [C_in, L]`, kernel `[C_out, C_in/g, K]`.
    fn naive(x: &[f32], cin: usize, t: &Transposed, out_len: usize) -> Vec<f32> {
        let (co, ig, k) = (t.kshape[0], t.kshape[1], t.kshape[2]);
        let og = co / t.group;
        let l = x.len() / cin;
        let mut y = vec![0f32; co * out_len];
        for oc in 0..co {
            let g = oc / og;
            for i in 0..ig {
                for j in 0..l {
                    for kk in 0..k {
                        let o =
                            (j * t.strides[0] + kk * t.dilations[0]) as i64 - t.pads[0].0 as i64;
                        if (0..out_len as i64).contains(&o) {
                            y[oc * out_len + o as usize] +=
                                x[(g * ig + i) * l + j] * t.kernel[(oc * ig + i) * k + kk];
                        }
                    }
                }
            }
            if let Some(b) = &t.bias {
                for v in &mut y[oc * out_len..(oc + 1) * out_len] {
                    *v += b[oc];
                }
            }
        }
        y
    }

    #[test]
    fn lowering_matches_naive_transposed_convolution() {
        // (stride, dilation, pads, adjustment, group): front padding positive, zero and
        // negative (a crop), grouped.
        for (s, d, pads, adj, group) in [
            (2, 1, (1, 0), 1, 1),
            (3, 2, (0, 2), 0, 1),
            (2, 1, (4, 1), 1, 2),
            (1, 1, (0, 0), 0, 2),
        ] {
            let (cin, cout, k, l) = (2, 4, 3, 5);
            let kshape = vec![cout, cin / group, k];
            let kernel: Vec<f32> = (0..cout * (cin / group) * k)
                .map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0)
                .collect();
            let t = Transposed {
                kernel,
                kshape,
                bias: Some(vec![0.5, -1.0, 0.25, 2.0]),
                strides: vec![s],
                dilations: vec![d],
                pads: vec![pads],
                adjustments: vec![adj],
                group,
            };
            let out_len = (l - 1) * s + d * (k - 1) + 1 + adj - pads.0 - pads.1;
            let mut g = FloatGraph::default();
            let x = g.add_tensor("x", vec![1, cin, l], FloatTensorKind::Input);
            g.inputs.push(x);
            let y =
                lower(&mut g, "deconv", x, &[1, cin, l], &[1, cout, out_len], &t).expect("lower");
            g.outputs.push(y);
            let xs: Vec<f32> = (0..cin * l).map(|i| (i as f32 * 0.37).sin()).collect();
            let got = zkinfer_model::eval(&g, std::slice::from_ref(&xs)).expect("eval");
            let want = naive(&xs, cin, &t, out_len);
            for (a, b) in got[0].iter().zip(&want) {
                assert!(
                    (a - b).abs() < 1e-5,
                    "s={s} d={d} {pads:?}: {:?} vs {want:?}",
                    got[0]
                );
            }
        }
    }
}
