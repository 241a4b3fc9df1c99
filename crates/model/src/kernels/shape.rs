//! Structural kernels: data movement only, any element type.

use super::{next_index, strides};

/// Transpose: output axis i is input axis `perm[i]`.
pub fn transpose<T: Copy>(x: &[T], shape: &[usize], perm: &[usize]) -> Option<Vec<T>> {
    if perm.len() != shape.len() || perm.iter().any(|&p| p >= shape.len()) {
        return None;
    }
    let st = strides(shape);
    let out: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let ost: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    let n: usize = out.iter().product();
    let mut res = Vec::with_capacity(n);
    if n == 0 {
        return Some(res);
    }
    let mut idx = vec![0; out.len()];
    loop {
        res.push(x[idx.iter().zip(&ost).map(|(i, s)| i * s).sum::<usize>()]);
        if !next_index(&mut idx, &out) {
            break;
        }
    }
    Some(res)
}

/// Concatenation along `axis`.
pub fn concat<T: Copy>(parts: &[(&[T], &[usize])], axis: usize) -> Option<Vec<T>> {
    let first = parts.first()?.1;
    let outer: usize = first.get(..axis)?.iter().product();
    let mut res = Vec::new();
    for o in 0..outer {
        for (x, s) in parts {
            let chunk: usize = s.get(axis..)?.iter().product();
            res.extend_from_slice(x.get(o * chunk..(o + 1) * chunk)?);
        }
    }
    Some(res)
}

/// Maps every output element to its input flat index (None = fill value).
pub fn gather_map<T: Copy>(x: &[T], map: &[Option<usize>], fill: T) -> Vec<T> {
    map.iter()
        .map(|m| m.and_then(|i| x.get(i).copied()).unwrap_or(fill))
        .collect()
}

/// Index map of a slice `start + step·j` along `axis` into `out` positions.
pub fn slice_map(
    shape: &[usize],
    axis: usize,
    start: usize,
    step: usize,
    out: &[usize],
) -> Vec<Option<usize>> {
    index_map(shape, out, |i, a| {
        if a == axis {
            Some(start + step * i)
        } else {
            Some(i)
        }
    })
}

/// Index map of constant padding.
pub fn pad_map(shape: &[usize], pads: &[(usize, usize)], out: &[usize]) -> Vec<Option<usize>> {
    index_map(shape, out, |i, a| {
        i.checked_sub(pads.get(a).map(|p| p.0).unwrap_or(0))
    })
}

/// Index map of a gather along `axis` with (flattened) indices, output `[pre, idx..., post]`.
pub fn gather_index_map(
    shape: &[usize],
    axis: usize,
    indices: &[usize],
    out: &[usize],
) -> Vec<Option<usize>> {
    let st = strides(shape);
    let pre: usize = shape[..axis].iter().product();
    let post: usize = shape[axis + 1..].iter().product();
    let n: usize = out.iter().product();
    let mut m = Vec::with_capacity(n);
    for p in 0..pre {
        for &ix in indices {
            for q in 0..post {
                m.push((ix < shape[axis]).then(|| p * shape[axis] * post + ix * st[axis] + q));
            }
        }
    }
    m
}

/// Index map of a tiling of `shape` to `out` (same rank).
pub fn tile_map(shape: &[usize], out: &[usize]) -> Vec<Option<usize>> {
    index_map(shape, out, |i, a| Some(i % shape[a].max(1)))
}

/// Index map of a broadcast to `out`.
pub fn broadcast_map(shape: &[usize], out: &[usize]) -> Vec<Option<usize>> {
    let off = out.len().saturating_sub(shape.len());
    let st = strides(shape);
    let n: usize = out.iter().product();
    let mut res = Vec::with_capacity(n);
    if n == 0 || shape.len() > out.len() {
        return res;
    }
    let mut idx = vec![0; out.len()];
    loop {
        let f: usize = (off..out.len())
            .map(|a| {
                if shape[a - off] == 1 {
                    0
                } else {
                    idx[a] * st[a - off]
                }
            })
            .sum();
        res.push(Some(f));
        if !next_index(&mut idx, out) {
            break;
        }
    }
    res
}

fn index_map(
    shape: &[usize],
    out: &[usize],
    f: impl Fn(usize, usize) -> Option<usize>,
) -> Vec<Option<usize>> {
    let st = strides(shape);
    let n: usize = out.iter().product();
    let mut res = Vec::with_capacity(n);
    if n == 0 || shape.len() != out.len() {
        return res;
    }
    let mut idx = vec![0; out.len()];
    loop {
        let mut flat = Some(0usize);
        for (a, &i) in idx.iter().enumerate() {
            flat = flat.and_then(|fl| f(i, a).filter(|&p| p < shape[a]).map(|p| fl + p * st[a]));
        }
        res.push(flat);
        if !next_index(&mut idx, out) {
            break;
        }
    }
    res
}
