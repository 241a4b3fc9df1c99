//! Einsum and convolution.

use super::{next_index, strides, Elem};

/// Parsed two-input einsum: per-input axis labels and output labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EinsumExpr {
    /// Axis labels of each input.
    pub inputs: Vec<Vec<char>>,
    /// Axis labels of the output.
    pub output: Vec<char>,
}

impl EinsumExpr {
    /// Parses `"ab,bc->ac"`.
    pub fn parse(expr: &str) -> Option<Self> {
        let (lhs, rhs) = expr.split_once("->")?;
        let inputs = lhs.split(',').map(|s| s.chars().collect()).collect();
        Some(EinsumExpr {
            inputs,
            output: rhs.chars().collect(),
        })
    }

    /// Summed axes (in inputs, not in the output), in first-seen order.
    pub fn summed(&self) -> Vec<char> {
        let mut v = Vec::new();
        for c in self.inputs.iter().flatten() {
            if !self.output.contains(c) && !v.contains(c) {
                v.push(*c);
            }
        }
        v
    }

    /// Size of every axis label, or None on inconsistent shapes (size-1 broadcasts allowed).
    pub fn sizes(&self, shapes: &[&[usize]]) -> Option<Vec<(char, usize)>> {
        let mut sizes: Vec<(char, usize)> = Vec::new();
        for (labels, shape) in self.inputs.iter().zip(shapes) {
            if labels.len() != shape.len() {
                return None;
            }
            for (c, &d) in labels.iter().zip(shape.iter()) {
                match sizes.iter_mut().find(|(l, _)| l == c) {
                    Some((_, s)) if *s == d || d == 1 => {}
                    Some((_, s)) if *s == 1 => *s = d,
                    Some(_) => return None,
                    None => sizes.push((*c, d)),
                }
            }
        }
        Some(sizes)
    }
}

/// Evaluates a two-input einsum; `out_shape` must match the output labels.
pub fn einsum<T: Elem>(
    e: &EinsumExpr,
    a: &[T],
    sa: &[usize],
    b: &[T],
    sb: &[usize],
    out_shape: &[usize],
) -> Option<Vec<T>> {
    let sizes = e.sizes(&[sa, sb])?;
    let size = |c: char| {
        sizes
            .iter()
            .find(|(l, _)| *l == c)
            .map(|x| x.1)
            .unwrap_or(1)
    };
    let summed = e.summed();
    let sum_shape: Vec<usize> = summed.iter().map(|&c| size(c)).collect();
    let labels: Vec<char> = e.output.iter().chain(summed.iter()).copied().collect();
    // stride of each (output ++ summed) label in each input (0 when absent or broadcast)
    let stride_in = |lab: &[char], shape: &[usize]| -> Vec<usize> {
        let st = strides(shape);
        labels
            .iter()
            .map(|c| {
                lab.iter()
                    .position(|x| x == c)
                    .map(|p| if shape[p] == 1 { 0 } else { st[p] })
                    .unwrap_or(0)
            })
            .collect()
    };
    let (ta, tb) = (stride_in(&e.inputs[0], sa), stride_in(&e.inputs[1], sb));
    if out_shape.len() != e.output.len()
        || e.output.iter().zip(out_shape).any(|(c, &d)| size(*c) != d)
    {
        return None;
    }
    let no = e.output.len();
    let n: usize = out_shape.iter().product();
    let mut res = Vec::with_capacity(n);
    if n == 0 {
        return Some(res);
    }
    let mut oi = vec![0; no];
    loop {
        let ba: usize = oi.iter().zip(&ta).map(|(i, s)| i * s).sum();
        let bb: usize = oi.iter().zip(&tb).map(|(i, s)| i * s).sum();
        let mut acc = T::default();
        let mut si = vec![0; summed.len()];
        loop {
            let oa: usize = ba + si.iter().zip(&ta[no..]).map(|(i, s)| i * s).sum::<usize>();
            let ob: usize = bb + si.iter().zip(&tb[no..]).map(|(i, s)| i * s).sum::<usize>();
            acc = acc.add(a[oa].mul(b[ob]));
            if !next_index(&mut si, &sum_shape) {
                break;
            }
        }
        res.push(acc);
        if !next_index(&mut oi, out_shape) {
            break;
        }
    }
    Some(res)
}

/// Splits `[N?, C, S...]` into (batch, channels, spatial) given the spatial rank.
pub fn split_layout(shape: &[usize], spatial: usize) -> Option<(usize, usize, &[usize])> {
    match shape.len().checked_sub(spatial)? {
        2 => Some((shape[0], shape[1], &shape[2..])),
        1 => Some((1, shape[0], &shape[1..])),
        _ => None,
    }
}

/// Input position of output position `o` and kernel offset `k` on one axis, or None in padding.
#[inline]
pub fn window_pos(
    o: usize,
    k: usize,
    stride: usize,
    dil: usize,
    pad: usize,
    len: usize,
) -> Option<usize> {
    (o * stride + k * dil).checked_sub(pad).filter(|&p| p < len)
}

/// Convolution; returns None on inconsistent shapes. Output is `[N?, O, S'...]`.
pub fn conv<T: Elem>(
    spec: &crate::ops::ConvSpec,
    x: &[T],
    sx: &[usize],
    w: &[T],
    sw: &[usize],
    bias: Option<&[T]>,
    out_shape: &[usize],
) -> Option<Vec<T>> {
    let win = &spec.window;
    let r = win.kernel.len();
    let (n, c, sp) = split_layout(sx, r)?;
    let (_, o, osp) = split_layout(out_shape, r)?;
    let g = spec.group.max(1);
    if sw.len() != r + 2
        || sw[0] != o
        || c % g != 0
        || o % g != 0
        || sw[1] * g != c
        || sw[2..] != win.kernel[..]
    {
        return None;
    }
    let (cg, og) = (c / g, o / g);
    let ksz: usize = win.kernel.iter().product();
    let (spn, ospn): (usize, usize) = (sp.iter().product(), osp.iter().product());
    let sst = strides(sp);
    let mut res = vec![T::default(); n * o * ospn];
    let mut op = vec![0; r];
    let mut kp = vec![0; r];
    for oc in 0..o {
        let gi = oc / og;
        let b0 = bias.and_then(|b| b.get(oc).copied()).unwrap_or_default();
        for ni in 0..n {
            op.iter_mut().for_each(|v| *v = 0);
            for opos in 0..ospn {
                let mut acc = b0;
                kp.iter_mut().for_each(|v| *v = 0);
                for kpos in 0..ksz {
                    let mut off = Some(0usize);
                    for a in 0..r {
                        off = off.and_then(|f| {
                            window_pos(
                                op[a],
                                kp[a],
                                win.strides[a],
                                win.dilations[a],
                                win.pads_before[a],
                                sp[a],
                            )
                            .map(|p| f + p * sst[a])
                        });
                    }
                    if let Some(off) = off {
                        for ci in 0..cg {
                            let xi = (ni * c + gi * cg + ci) * spn + off;
                            let wi = (oc * cg + ci) * ksz + kpos;
                            acc = acc.add(x[xi].mul(w[wi]));
                        }
                    }
                    next_index(&mut kp, &win.kernel);
                }
                res[(ni * o + oc) * ospn + opos] = acc;
                next_index(&mut op, osp);
            }
        }
    }
    Some(res)
}
