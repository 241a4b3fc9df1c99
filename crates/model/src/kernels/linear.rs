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
    let so = strides(out_shape);
    let out_strides: Vec<[usize; 3]> = (0..no).map(|d| [ta[d], tb[d], so[d]]).collect();
    let sum_strides: Vec<[usize; 2]> = (no..labels.len()).map(|d| [ta[d], tb[d]]).collect();
    let plan = super::gemm::GemmPlan::new(out_shape, &out_strides, &sum_shape, &sum_strides);
    // Every offset stays inside its operand (sizes checked above); a hostile shape that
    // would not is refused rather than indexed.
    let last = |t: &[usize], dims: &[usize]| -> usize {
        t.iter()
            .zip(dims)
            .map(|(s, d)| s * d.saturating_sub(1))
            .sum()
    };
    let dims: Vec<usize> = out_shape.iter().chain(&sum_shape).copied().collect();
    if (!a.is_empty() && last(&ta, &dims) >= a.len())
        || (!b.is_empty() && last(&tb, &dims) >= b.len())
    {
        return None;
    }
    if out_shape.iter().product::<usize>() == 0 {
        return Some(Vec::new());
    }
    Some(T::gemm(&plan, a, b))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: `out[o] = Σ_s a[o, s]·b[o, s]` by odometers over every label.
    fn naive(e: &EinsumExpr, a: &[i64], sa: &[usize], b: &[i64], sb: &[usize]) -> Vec<i64> {
        let sizes = e.sizes(&[sa, sb]).expect("sizes");
        let size = |c: &char| sizes.iter().find(|(l, _)| l == c).map_or(1, |x| x.1);
        let out: Vec<usize> = e.output.iter().map(size).collect();
        let summed = e.summed();
        let sum: Vec<usize> = summed.iter().map(size).collect();
        let at = |labels: &[char], shape: &[usize], v: &[i64], oi: &[usize], si: &[usize]| {
            let st = strides(shape);
            let mut off = 0;
            for (p, c) in labels.iter().enumerate() {
                let i = match e.output.iter().position(|x| x == c) {
                    Some(k) => oi[k],
                    None => si[summed.iter().position(|x| x == c).expect("label")],
                };
                off += if shape[p] == 1 { 0 } else { i * st[p] };
            }
            v[off]
        };
        let n: usize = out.iter().product();
        let mut res = Vec::new();
        let mut oi = vec![0; out.len()];
        for _ in 0..n {
            let mut acc = 0i64;
            let mut si = vec![0; sum.len()];
            for _ in 0..sum.iter().product::<usize>() {
                let x = at(&e.inputs[0], sa, a, &oi, &si);
                let y = at(&e.inputs[1], sb, b, &oi, &si);
                acc = acc.wrapping_add(x.wrapping_mul(y));
                next_index(&mut si, &sum);
            }
            res.push(acc);
            next_index(&mut oi, &out);
        }
        res
    }

    fn values(n: usize, seed: u64, wide: bool) -> Vec<i64> {
        let mut next = crate::kernels::test_stream(seed);
        (0..n)
            .map(|_| {
                let v = next() - (1 << 30);
                if wide {
                    v << 20
                } else {
                    v >> 14
                }
            })
            .collect()
    }

    #[test]
    fn blocked_product_equals_the_definition() {
        let cases: &[(&str, &[usize], &[usize])] = &[
            ("ik,vk->iv", &[3, 70], &[150, 70]),
            ("ij,jk->ik", &[5, 9], &[9, 130]),
            ("bhqd,bhkd->bhqk", &[1, 2, 7, 4], &[1, 2, 7, 4]),
            ("bhqk,bhkd->bhqd", &[1, 2, 7, 7], &[1, 2, 7, 4]),
            ("ij,j->i", &[4, 6], &[6]),
            ("i,i->i", &[5], &[5]),
            ("i,j->ij", &[3], &[4]),
            ("ij,ij->", &[3, 4], &[3, 4]),
            ("ab,cb->ca", &[1, 8], &[3, 8]),
            ("ijk,k->ji", &[2, 3, 4], &[1]),
            ("qhd,khd->hqk", &[6, 2, 3], &[6, 1, 3]),
        ];
        for (k, (expr, sa, sb)) in cases.iter().enumerate() {
            let e = EinsumExpr::parse(expr).expect("expr");
            for wide in [false, true] {
                let a = values(sa.iter().product(), 11 + k as u64, wide);
                let b = values(sb.iter().product(), 97 + k as u64, wide);
                let want = naive(&e, &a, sa, &b, sb);
                let sizes = e.sizes(&[sa, sb]).expect("sizes");
                let out: Vec<usize> = e
                    .output
                    .iter()
                    .map(|c| sizes.iter().find(|(l, _)| l == c).map_or(1, |x| x.1))
                    .collect();
                let got = einsum(&e, &a, sa, &b, sb, &out).expect("einsum");
                assert_eq!(got, want, "{expr} (wide: {wide})");
            }
        }
    }

    #[test]
    fn large_product_on_threads_equals_the_definition() {
        let e = EinsumExpr::parse("ik,vk->iv").expect("expr");
        let (sa, sb) = ([4usize, 300], [1000usize, 300]);
        let a = values(1200, 5, false);
        let b = values(300_000, 6, false);
        let want = naive(&e, &a, &sa, &b, &sb);
        assert_eq!(einsum(&e, &a, &sa, &b, &sb, &[4, 1000]), Some(want));
    }

    /// Activation-width (16-bit) times weight-width (12-bit) operands take the i16 path; its
    /// i32 lanes are widened exactly when the bound says, including at the extremes.
    #[test]
    fn narrow_operands_take_the_i16_path_exactly() {
        use crate::kernels::gemm::{dot_i16, i16_steps};
        let steps = i16_steps(1 << 15, 1 << 11).expect("16 x 12 bits is narrow");
        assert_eq!(
            i16_steps(1 << 15, 1 << 15),
            None,
            "one product could reach 2^30"
        );
        assert_eq!(i16_steps(1 << 16, 1), None, "outside i16");
        // Every product at the bound: a lane reaches steps·2^26 before it is widened.
        for n in [
            0,
            1,
            15,
            16,
            17,
            16 * steps,
            16 * steps + 1,
            3 * 16 * steps + 5,
        ] {
            for (x0, y0) in [(-32768i16, -2048i16), (-32768, 2047), (32767, -2048)] {
                let (x, y) = (vec![x0; n], vec![y0; n]);
                let want = n as i64 * i64::from(x0) * i64::from(y0);
                assert_eq!(dot_i16(&x, &y, steps), want, "n {n}, {x0}·{y0}");
            }
        }
        let e = EinsumExpr::parse("ik,vk->iv").expect("expr");
        let (sa, sb) = ([3usize, 1001], [70usize, 1001]);
        let narrow = |n: usize, seed: u64, bits: u32| -> Vec<i64> {
            let mut v = values(n, seed, false);
            for (i, x) in v.iter_mut().enumerate() {
                *x = match i % 97 {
                    0 => -(1 << (bits - 1)),
                    1 => (1 << (bits - 1)) - 1,
                    _ => x.rem_euclid(1 << bits) - (1 << (bits - 1)),
                };
            }
            v
        };
        let a = narrow(3 * 1001, 3, 16);
        let b = narrow(70 * 1001, 4, 12);
        assert!(i16_steps(1 << 15, 1 << 11).is_some());
        assert_eq!(
            einsum(&e, &a, &sa, &b, &sb, &[3, 70]),
            Some(naive(&e, &a, &sa, &b, &sb))
        );
    }

    /// `+2^15` is within the i16 path's bound but not in i16: it must not be narrowed (it
    /// would wrap to `-2^15`).
    #[test]
    fn plus_two_to_the_fifteen_is_not_narrowed() {
        let e = EinsumExpr::parse("ik,vk->iv").expect("expr");
        let a = vec![1i64 << 15; 16];
        let b = vec![3i64; 16];
        assert_eq!(
            einsum(&e, &a, &[1, 16], &b, &[1, 16], &[1, 1]),
            Some(vec![(16 * 3) << 15])
        );
    }

    #[test]
    fn short_operands_are_refused() {
        let e = EinsumExpr::parse("ij,jk->ik").expect("expr");
        assert_eq!(
            einsum(&e, &[1i64; 5], &[2, 3], &[1; 6], &[3, 2], &[2, 2]),
            None
        );
    }
}
