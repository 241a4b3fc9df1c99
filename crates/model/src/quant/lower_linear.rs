//! Lowering of linear ops (Einsum, Conv) and pools.
//!
//! Weights: symmetric per output channel, `w_q = round(w / s_c)`, `s_c = max|w_c| / (2^(N−1)−1)`.
//! With input `x ≈ x_q·2^−fx`, the exact accumulator `acc = Σ x_q·w_q + b_q` represents
//! `acc·s_c·2^−fx`, with `b_q = round(b / (s_c·2^−fx))`; the output is requantized with ratio
//! `s_c·2^(fy−fx)` per channel.

use super::graph::QuantOp;
use super::lower::Lowering;
use super::requant::{Requant, RequantIndex};
use super::table::pow2;
use crate::error::Result;
use crate::graph::{numel, FloatNode, TensorId};
use crate::kernels::{linear::EinsumExpr, pool, strides};
use crate::ops::FloatOp;

/// Per-channel symmetric quantization of `w` along `axis` (None: per tensor); a channel's
/// scale is at least `min_scale[c]` when given.
fn quantize_weights(
    w: &[f32],
    shape: &[usize],
    axis: Option<usize>,
    bits: u32,
    min_scale: &[f64],
) -> (Vec<i64>, Vec<f64>) {
    let nc = axis.map_or(1, |a| shape[a]);
    let step = axis.map(|a| (strides(shape)[a], shape[a]));
    let chan = |i: usize| step.map_or(0, |(st, d)| (i / st) % d);
    let mut max = vec![0.0f64; nc];
    for (i, &v) in w.iter().enumerate() {
        max[chan(i)] = max[chan(i)].max(f64::from(v).abs());
    }
    let qmax = pow2(bits as i32 - 1) - 1.0;
    // A channel of small integers (a tree ensemble's routing matrix, a 0/1 mask) keeps
    // scale 1: its products stay exact integers, so a later comparison or index sees the
    // exact value instead of one off by a requantization rounding.
    let mut integral = vec![true; nc];
    for (i, &v) in w.iter().enumerate() {
        integral[chan(i)] &= v.fract() == 0.0;
    }
    let scales: Vec<f64> = max
        .iter()
        .enumerate()
        .map(|(c, &m)| {
            let s = if integral[c] && m <= qmax {
                1.0
            } else if m > 0.0 {
                m / qmax
            } else {
                1.0
            };
            s.max(min_scale.get(c).copied().unwrap_or(0.0))
        })
        .collect();
    let q = w
        .iter()
        .enumerate()
        .map(|(i, &v)| (f64::from(v) / scales[chan(i)]).round() as i64)
        .collect();
    (q, scales)
}

/// Per-channel scale floors that keep a bias within `2^(A + N + 4)` accumulator units
/// (`|b_q| = |b|·2^fx / s_c`). Only a channel whose weights are negligible next to its bias
/// (fr_age: a dead channel with weights ~1e-40) is affected: its weights get a coarser grid,
/// an error of at most `K·|b|·2^−(N+5)` on an output dominated by `b`; without the floor
/// `b_q` would not fit the field.
fn bias_scale_floor(
    l: &Lowering,
    bias: Option<TensorId>,
    out_shape: &[usize],
    ch_axis: Option<usize>,
    fx: i32,
) -> Result<Vec<f64>> {
    let Some(full) = bias
        .map(|b| full_bias(l, b, out_shape))
        .transpose()?
        .flatten()
    else {
        return Ok(Vec::new());
    };
    let mut max = vec![0.0f64; ch_axis.map_or(1, |a| out_shape[a])];
    for (i, &b) in full.iter().enumerate() {
        let c = channel(i, out_shape, ch_axis);
        max[c] = max[c].max(f64::from(b).abs());
    }
    let limit = pow2((l.cfg.act_bits + l.cfg.weight_bits + 4) as i32);
    Ok(max.iter().map(|m| m * pow2(fx) / limit).collect())
}

/// A constant bias broadcast to the output shape (None if it is not a constant).
fn full_bias(l: &Lowering, bid: TensorId, out_shape: &[usize]) -> Result<Option<Vec<f32>>> {
    let bt = l.fg.tensor(bid)?;
    Ok(l.fg.const_data(bid).map(|data| {
        crate::kernels::binary(
            &vec![0f32; numel(out_shape)],
            out_shape,
            data,
            &bt.shape,
            out_shape,
            |_, b| b,
        )
    }))
}

/// The output channel of flat output index `i` (0 without a channel axis).
fn channel(i: usize, out_shape: &[usize], ch_axis: Option<usize>) -> usize {
    ch_axis.map_or(0, |a| (i / strides(out_shape)[a]) % out_shape[a])
}

/// The shape a bias is committed at and the axis its quantization unit runs along: the bias
/// at its own shape (leading 1s added up to the output's rank), broadcast by the relation —
/// `[1, dout]` instead of `[rows, dout]`, so a linear layer's committed bias does not grow
/// with the sequence length. `None` when it broadcasts along the channel axis with different
/// units per channel (then it is quantized in full, at the output shape).
fn compact_bias_shape(
    bias_shape: &[usize],
    out_shape: &[usize],
    ch_axis: Option<usize>,
    unit: &[f64],
) -> Option<(Vec<usize>, Option<usize>)> {
    if bias_shape.len() > out_shape.len() {
        return None;
    }
    let mut shape = vec![1; out_shape.len() - bias_shape.len()];
    shape.extend(bias_shape);
    let fits = shape.iter().zip(out_shape).all(|(&b, &o)| b == o || b == 1);
    if !fits || numel(&shape) == numel(out_shape) {
        return None;
    }
    // The channel of each compact entry: its coordinate on the channel axis, or — where the
    // bias broadcasts along that axis — one unit shared by every channel.
    match ch_axis {
        Some(a) if shape[a] == 1 && out_shape[a] > 1 => {
            unit.iter().all(|u| u == &unit[0]).then_some((shape, None))
        }
        a => Some((shape, a)),
    }
}

/// Quantizes a constant bias in accumulator units, at its compact shape where it can be
/// ([`compact_bias_shape`]), else broadcast to the output shape.
fn quantize_bias(
    l: &mut Lowering,
    node: &FloatNode,
    bid: TensorId,
    out_shape: &[usize],
    ch_axis: Option<usize>,
    unit: &[f64],
) -> Result<TensorId> {
    let data =
        l.fg.const_data(bid)
            .ok_or_else(|| Lowering::unquantizable(node, "bias must be constant"))?;
    let compact = compact_bias_shape(&l.fg.tensor(bid)?.shape, out_shape, ch_axis, unit)
        .filter(|(shape, _)| numel(shape) == data.len());
    let (shape, along, floats) = match compact {
        Some((shape, along)) => (shape, along, data.to_vec()),
        None => {
            let full = full_bias(l, bid, out_shape)?
                .ok_or_else(|| Lowering::unquantizable(node, "bias must be constant"))?;
            (out_shape.to_vec(), ch_axis, full)
        }
    };
    let vals: Vec<i64> = floats
        .iter()
        .enumerate()
        .map(|(i, &b)| (f64::from(b) / unit[channel(i, &shape, along)]).round() as i64)
        .collect();
    Ok(l.add_const(&format!("{}.bias_q", node.name), shape, vals, 0, Some(bid)))
}

pub(crate) fn lower(l: &mut Lowering, node: &FloatNode) -> Result<TensorId> {
    let (lo, hi) = l.cfg.act_range();
    let out_shape = l.fg.tensor(node.output)?.shape.clone();
    let fy = l.act_frac(node.output);
    let wb = l.cfg.weight_bits;
    match &node.op {
        FloatOp::Einsum { expr } => {
            let e = EinsumExpr::parse(expr)
                .ok_or_else(|| Lowering::unquantizable(node, "bad einsum expression"))?;
            let [a, b] = [node.inputs[0], node.inputs[1]];
            let (ca, cb) = (l.fg.const_data(a).is_some(), l.fg.const_data(b).is_some());
            if !ca && !cb {
                let (qa, fa) = l.operand(a, l.cfg.act_bits, None)?;
                let (qb, fb) = l.operand(b, l.cfg.act_bits, None)?;
                if node.inputs.len() > 2 {
                    return Err(Lowering::unquantizable(
                        node,
                        "bias on an activation×activation product",
                    ));
                }
                let requant = Requant::from_ratio(pow2(fy - fa - fb), lo, hi);
                return Ok(l.push(
                    &node.name,
                    QuantOp::Einsum {
                        expr: expr.clone(),
                        requant,
                    },
                    vec![qa, qb],
                    out_shape,
                    fy,
                    Some(node.output),
                ));
            }
            let (wi, xi) = if cb { (1, 0) } else { (0, 1) };
            let (wid, xid) = (node.inputs[wi], node.inputs[xi]);
            let (qx, fx) = l.operand(xid, l.cfg.act_bits, None)?;
            let wt = l.fg.tensor(wid)?.clone();
            let wl = &e.inputs[wi];
            let chans: Vec<char> = wl
                .iter()
                .copied()
                .filter(|c| e.output.contains(c) && !e.inputs[xi].contains(c))
                .collect();
            let (waxis, oaxis) = match chans.as_slice() {
                [c] => (
                    wl.iter().position(|x| x == c),
                    e.output.iter().position(|x| x == c),
                ),
                _ => (None, None),
            };
            let tied = l.tied_table(wid) && node.inputs.len() == 2;
            let (waxis, oaxis) = if tied { (None, None) } else { (waxis, oaxis) };
            let (qw, scales) = if tied {
                // Also gathered as a table (a tied LM head): the one constant both nodes use,
                // per tensor at a power-of-two scale (the gather's output fraction).
                let (qw, f) = l.operand(wid, wb, None)?;
                (qw, vec![pow2(-f)])
            } else {
                let data = l.fg.const_data(wid).unwrap_or(&[]).to_vec();
                let floor =
                    bias_scale_floor(l, node.inputs.get(2).copied(), &out_shape, oaxis, fx)?;
                let (wq, scales) = quantize_weights(&data, &wt.shape, waxis, wb, &floor);
                (
                    l.add_const(&wt.name, wt.shape.clone(), wq, 0, Some(wid)),
                    scales,
                )
            };
            let ratios: Vec<f64> = scales.iter().map(|s| s * pow2(fy - fx)).collect();
            let index = oaxis.map_or(RequantIndex::Tensor, RequantIndex::Axis);
            let requant = Requant::from_ratios(&ratios, index, lo, hi);
            let mut inputs = if wi == 1 { vec![qx, qw] } else { vec![qw, qx] };
            if let Some(&bid) = node.inputs.get(2) {
                let unit: Vec<f64> = scales.iter().map(|s| s * pow2(-fx)).collect();
                inputs.push(quantize_bias(l, node, bid, &out_shape, oaxis, &unit)?);
            }
            Ok(l.push(
                &node.name,
                QuantOp::Einsum {
                    expr: expr.clone(),
                    requant,
                },
                inputs,
                out_shape,
                fy,
                Some(node.output),
            ))
        }
        FloatOp::Conv(spec) => {
            let (qx, fx) = l.operand(node.inputs[0], l.cfg.act_bits, None)?;
            let wid = node.inputs[1];
            let data =
                l.fg.const_data(wid)
                    .ok_or_else(|| Lowering::unquantizable(node, "conv weights must be constant"))?
                    .to_vec();
            let wt = l.fg.tensor(wid)?.clone();
            let oaxis = out_shape.len() - spec.window.kernel.len() - 1;
            // A conv bias is one value per output channel (see `bias_scale_floor`).
            let limit = pow2((l.cfg.act_bits + l.cfg.weight_bits + 4) as i32);
            let floor: Vec<f64> = node
                .inputs
                .get(2)
                .and_then(|&b| l.fg.const_data(b))
                .unwrap_or(&[])
                .iter()
                .map(|b| f64::from(*b).abs() * pow2(fx) / limit)
                .collect();
            let (wq, scales) = quantize_weights(&data, &wt.shape, Some(0), wb, &floor);
            let qw = l.add_const(&wt.name, wt.shape.clone(), wq, 0, Some(wid));
            let ratios: Vec<f64> = scales.iter().map(|s| s * pow2(fy - fx)).collect();
            let requant = Requant::from_ratios(&ratios, RequantIndex::Axis(oaxis), lo, hi);
            let mut inputs = vec![qx, qw];
            if let Some(&bid) = node.inputs.get(2) {
                let bdata =
                    l.fg.const_data(bid)
                        .ok_or_else(|| Lowering::unquantizable(node, "bias must be constant"))?;
                let q: Vec<i64> = bdata
                    .iter()
                    .zip(&scales)
                    .map(|(&b, s)| (f64::from(b) / (s * pow2(-fx))).round() as i64)
                    .collect();
                inputs.push(l.add_const(
                    &format!("{}.bias_q", node.name),
                    vec![q.len()],
                    q,
                    0,
                    Some(bid),
                ));
            }
            Ok(l.push(
                &node.name,
                QuantOp::Conv {
                    spec: spec.clone(),
                    requant,
                },
                inputs,
                out_shape,
                fy,
                Some(node.output),
            ))
        }
        FloatOp::MaxPool(w) => {
            let (qx, fx) = l.operand(node.inputs[0], l.cfg.act_bits, None)?;
            Ok(l.push(
                &node.name,
                QuantOp::MaxPool(w.clone()),
                vec![qx],
                out_shape,
                fx,
                Some(node.output),
            ))
        }
        FloatOp::AvgPool {
            window,
            count_include_pad,
        } => {
            let (qx, fx) = l.operand(node.inputs[0], l.cfg.act_bits, None)?;
            let sx = l.q.tensors[qx.0].shape.clone();
            let zeros = vec![0i64; numel(&sx)];
            let (_, counts) = pool::window_fold(window, &zeros, &sx, &out_shape, 0, |a, _| a)
                .ok_or_else(|| Lowering::unquantizable(node, "pool shape mismatch"))?;
            let div = pool::avg_divisors(window, &counts, *count_include_pad);
            let requant = if div.iter().all(|&d| d == div[0]) {
                Requant::from_ratio(1.0 / div[0] as f64, lo, hi)
            } else {
                Requant::from_ratios(
                    &div.iter().map(|&d| 1.0 / d as f64).collect::<Vec<_>>(),
                    RequantIndex::Element,
                    lo,
                    hi,
                )
            };
            Ok(l.push(
                &node.name,
                QuantOp::SumPool {
                    window: window.clone(),
                    requant,
                },
                vec![qx],
                out_shape,
                fx,
                Some(node.output),
            ))
        }
        _ => Err(Lowering::unquantizable(node, "not a linear op")),
    }
}

#[cfg(test)]
mod tests {
    use super::quantize_weights;

    #[test]
    fn integer_channels_keep_scale_one() {
        // Channel 0 small integers, channel 1 fractional (axis 0 = channel).
        let w = [1.0, -2.0, 0.0, 0.5, -0.25, 1.0];
        let (q, s) = quantize_weights(&w, &[2, 3], Some(0), 12, &[]);
        assert_eq!(s[0], 1.0);
        assert_eq!(&q[..3], &[1, -2, 0]);
        assert!((s[1] - 1.0 / 2047.0).abs() < 1e-12, "{s:?}");
        // Integers beyond the code range fall back to a max-based scale.
        let (_, s) = quantize_weights(&[4096.0, 1.0], &[2], None, 12, &[]);
        assert!((s[0] - 4096.0 / 2047.0).abs() < 1e-9, "{s:?}");
    }
}
