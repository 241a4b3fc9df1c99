//! Float-graph simplification, run by loaders before quantization.
//!
//! Every rewrite keeps the float function (up to f32 rounding of folded constants) and removes
//! proof work: each node left in the graph becomes a relation with its own requantization,
//! range checks and lookups.
//!
//! * **Constant folding**: a node whose inputs are all constants is evaluated once and its
//!   output becomes a constant (exporters leave `Reshape(bias)`, `Mul(β, bias)` chains that a
//!   loader may not fold). Skipped where the result is not finite or over
//!   [`MAX_FOLDED_ELEMENTS`], so folding cannot turn a small graph into a huge constant.
//! * **Bias fusion**: `Einsum(x, W) + c` (or `− c`) with constant `W` and `c`, where the product
//!   feeds nothing else and `c` broadcasts to the product's shape, becomes one
//!   `Einsum(x, W, c)`: the bias enters the exact integer accumulator (`b_q` in accumulator
//!   units, see the crate docs) instead of a second requantized Add.
//! * **Scale fusion**: `Einsum(x, W) · c` with a scalar constant `c` (Gemm's α) becomes
//!   `Einsum(x, c·W)` when `W` is used only there.
//! * **Axis merging**: contracted axes that sit next to each other, in the same order, in
//!   both operands of an einsum with a constant operand (`"abcd,ebcd->ae"`: the Flatten that
//!   exporters leave between a conv stack and its Gemm, folded into the weight by the loader)
//!   become one axis (`"ab,eb->ae"`; the activation gets a free Reshape, the weight its merged
//!   shape). Each axis is padded to a power of two where it is committed or summed over, so
//!   `16×5×5 → 16×8×8 = 1024` becomes `400 → 512`: lenet_5's largest weight halves.
//! * **Function fusion** ([`crate::fuse`]): a decomposed GELU / SiLU / Mish / Softplus chain
//!   becomes one unary op (one lookup).
//! * **Pruning**: tensors nothing refers to any more are dropped (ids are renumbered; graph
//!   inputs keep their order).

use crate::error::Result;
use crate::eval::eval_node;
use crate::graph::{numel, FloatGraph, FloatTensorKind, TensorId};
use crate::ops::{BinaryKind, FloatOp};

/// Largest constant (elements) constant folding may create.
pub const MAX_FOLDED_ELEMENTS: usize = 1 << 22;

/// Applies every rewrite of this module; the result is validated.
pub fn simplify(g: &mut FloatGraph) -> Result<()> {
    fold_constants(g)?;
    fuse_einsum_scale(g);
    fuse_einsum_bias(g);
    merge_einsum_axes(g);
    crate::fuse::fuse_functions(g);
    prune(g);
    g.validate()
}

fn is_const(g: &FloatGraph, t: TensorId) -> bool {
    g.const_data(t).is_some()
}

/// Evaluates nodes whose inputs are all constants.
fn fold_constants(g: &mut FloatGraph) -> Result<()> {
    let mut keep = Vec::with_capacity(g.nodes.len());
    for node in std::mem::take(&mut g.nodes) {
        let out = g.tensor(node.output)?;
        let foldable = !node.inputs.is_empty()
            && node.inputs.iter().all(|&i| is_const(g, i))
            && numel(&out.shape) <= MAX_FOLDED_ELEMENTS;
        let value = foldable
            .then(|| {
                let shapes: Vec<&[usize]> = node
                    .inputs
                    .iter()
                    .map(|i| g.tensors[i.0].shape.as_slice())
                    .collect();
                let ins: Vec<&[f32]> = node
                    .inputs
                    .iter()
                    .map(|&i| g.const_data(i).unwrap_or(&[]))
                    .collect();
                eval_node(&node.op, &ins, &shapes, &out.shape)
            })
            .flatten()
            .filter(|v| v.len() == numel(&out.shape) && v.iter().all(|x| x.is_finite()));
        match value {
            Some(v) => g.tensors[node.output.0].kind = FloatTensorKind::Const(v),
            None => keep.push(node),
        }
    }
    g.nodes = keep;
    Ok(())
}

/// The node consuming `t`, if exactly one node does and `t` is not a graph output.
fn sole_consumer(g: &FloatGraph, t: TensorId) -> Option<usize> {
    if g.consumers(t) != 1 || g.outputs.contains(&t) {
        return None;
    }
    g.nodes.iter().position(|n| n.inputs.contains(&t))
}

/// An einsum `x·W` with exactly one constant operand: (node index, weight slot).
fn const_einsum(g: &FloatGraph, ni: usize) -> Option<usize> {
    let n = &g.nodes[ni];
    if !matches!(n.op, FloatOp::Einsum { .. }) || n.inputs.len() != 2 {
        return None;
    }
    match (is_const(g, n.inputs[0]), is_const(g, n.inputs[1])) {
        (true, false) => Some(0),
        (false, true) => Some(1),
        _ => None,
    }
}

/// The other operand of binary node `ni` when one operand is `t`.
fn other_operand(g: &FloatGraph, ni: usize, t: TensorId) -> Option<(usize, TensorId)> {
    let n = &g.nodes[ni];
    match n.inputs.as_slice() {
        [a, b] if *a == t && *b != t => Some((1, *b)),
        [a, b] if *b == t && *a != t => Some((0, *a)),
        _ => None,
    }
}

fn fuse_einsum_scale(g: &mut FloatGraph) {
    let mut ni = 0;
    while ni < g.nodes.len() {
        if let Some(wslot) = const_einsum(g, ni) {
            let (out, w) = (g.nodes[ni].output, g.nodes[ni].inputs[wslot]);
            let mul = sole_consumer(g, out).filter(|&m| {
                matches!(g.nodes[m].op, FloatOp::Binary(BinaryKind::Mul))
                    && g.tensors[g.nodes[m].output.0].shape == g.tensors[out.0].shape
            });
            let scale = mul.and_then(|m| {
                let (_, c) = other_operand(g, m, out)?;
                match g.const_data(c) {
                    Some([s]) => Some(*s),
                    _ => None,
                }
            });
            if let (Some(m), Some(s), 1) = (mul, scale, g.consumers(w)) {
                if let FloatTensorKind::Const(d) = &mut g.tensors[w.0].kind {
                    d.iter_mut().for_each(|v| *v *= s);
                }
                g.nodes[ni].output = g.nodes[m].output;
                g.nodes.remove(m);
                continue; // the same einsum may now take a bias
            }
        }
        ni += 1;
    }
}

/// Whether `shape` broadcasts to `out` without changing it.
fn broadcasts_to(shape: &[usize], out: &[usize]) -> bool {
    shape.len() <= out.len()
        && shape
            .iter()
            .rev()
            .zip(out.iter().rev())
            .all(|(&s, &o)| s == 1 || s == o)
}

fn fuse_einsum_bias(g: &mut FloatGraph) {
    let mut ni = 0;
    while ni < g.nodes.len() {
        if const_einsum(g, ni).is_some() {
            let out = g.nodes[ni].output;
            let sout = g.tensors[out.0].shape.clone();
            let add = sole_consumer(g, out).and_then(|a| {
                let n = &g.nodes[a];
                let (slot, c) = other_operand(g, a, out)?;
                let sign = match n.op {
                    FloatOp::Binary(BinaryKind::Add) => 1.0f32,
                    FloatOp::Binary(BinaryKind::Sub) if slot == 1 => -1.0,
                    _ => return None,
                };
                let data = g.const_data(c)?;
                (g.tensors[n.output.0].shape == sout && broadcasts_to(&g.tensors[c.0].shape, &sout))
                    .then(|| (a, c, sign, data.to_vec()))
            });
            if let Some((a, c, sign, data)) = add {
                let bias = if sign > 0.0 {
                    c
                } else {
                    let t = &g.tensors[c.0];
                    let (name, shape) = (format!("{}.neg", t.name), t.shape.clone());
                    let neg = data.iter().map(|v| -v).collect();
                    g.add_tensor(name, shape, FloatTensorKind::Const(neg))
                };
                // The fused node takes the sum's name: that is the source op (Gemm).
                g.nodes[ni].inputs.push(bias);
                g.nodes[ni].output = g.nodes[a].output;
                g.nodes[ni].name = g.nodes[a].name.clone();
                g.nodes.remove(a);
            }
        }
        ni += 1;
    }
}

/// The longest run (≥ 2 letters) of contracted letters that is contiguous, in the same order,
/// in both operand specs `a` and `b` with equal sizes on both sides: `(start in a, start in b,
/// length)`.
fn contracted_run(
    a: &[char],
    b: &[char],
    out: &[char],
    sa: &[usize],
    sb: &[usize],
) -> Option<(usize, usize, usize)> {
    let distinct = |s: &[char]| s.iter().enumerate().all(|(i, c)| !s[..i].contains(c));
    if !distinct(a) || !distinct(b) || a.len() != sa.len() || b.len() != sb.len() {
        return None;
    }
    let mut best: Option<(usize, usize, usize)> = None;
    for i in 0..a.len() {
        let Some(j) = b.iter().position(|&c| c == a[i]) else {
            continue;
        };
        let mut n = 0;
        while i + n < a.len()
            && j + n < b.len()
            && a[i + n] == b[j + n]
            && !out.contains(&a[i + n])
            && sa[i + n] == sb[j + n]
        {
            n += 1;
        }
        if n >= 2 && best.is_none_or(|(_, _, m)| n > m) {
            best = Some((i, j, n));
        }
    }
    best
}

/// Merges runs of contracted axes of einsums with one constant operand (see the module docs).
fn merge_einsum_axes(g: &mut FloatGraph) {
    let mut ni = 0;
    while ni < g.nodes.len() {
        let n = &g.nodes[ni];
        // Two operands and perhaps a bias (which broadcasts to the output: no contracted axis).
        let wslot = match (n.inputs.len(), n.inputs.first(), n.inputs.get(1)) {
            (2 | 3, Some(&a), Some(&b)) => match (is_const(g, a), is_const(g, b)) {
                (true, false) => Some(0),
                (false, true) => Some(1),
                _ => None,
            },
            _ => None,
        };
        let (Some(wslot), FloatOp::Einsum { expr }) = (wslot, &n.op) else {
            ni += 1;
            continue;
        };
        let Some((lhs, out)) = expr.split_once("->") else {
            ni += 1;
            continue;
        };
        let specs: Vec<Vec<char>> = lhs.split(',').map(|s| s.chars().collect()).collect();
        let out: Vec<char> = out.chars().collect();
        let (x, w) = (g.nodes[ni].inputs[1 - wslot], g.nodes[ni].inputs[wslot]);
        let shapes = [
            g.tensors[g.nodes[ni].inputs[0].0].shape.clone(),
            g.tensors[g.nodes[ni].inputs[1].0].shape.clone(),
        ];
        let run = (specs.len() == 2)
            .then(|| contracted_run(&specs[0], &specs[1], &out, &shapes[0], &shapes[1]))
            .flatten();
        let Some((i0, i1, n)) = run else {
            ni += 1;
            continue;
        };
        let starts = [i0, i1];
        let merged = |k: usize| {
            let (s, sh) = (&specs[k], &shapes[k]);
            let st = starts[k];
            let spec: String = s[..=st].iter().chain(&s[st + n..]).collect();
            let mut shape = sh[..st].to_vec();
            shape.push(sh[st..st + n].iter().product());
            shape.extend_from_slice(&sh[st + n..]);
            (spec, shape)
        };
        let (spec0, shape0) = merged(0);
        let (spec1, shape1) = merged(1);
        let (xshape, wshape) = if wslot == 1 {
            (shape0, shape1)
        } else {
            (shape1, shape0)
        };
        // The weight: reshaped in place when only this einsum uses it, else a copy.
        let w_new = if g.consumers(w) == 1 {
            g.tensors[w.0].shape = wshape;
            w
        } else {
            let t = &g.tensors[w.0];
            let (name, data) = (
                format!("{}.merged", t.name),
                g.const_data(w).map(<[f32]>::to_vec),
            );
            g.add_tensor(
                name,
                wshape,
                FloatTensorKind::Const(data.unwrap_or_default()),
            )
        };
        let xname = format!("{}.merged", g.tensors[x.0].name);
        let x_new = g.add_tensor(xname, xshape, FloatTensorKind::Activation);
        let node = &mut g.nodes[ni];
        node.op = FloatOp::Einsum {
            expr: format!("{spec0},{spec1}->{}", out.iter().collect::<String>()),
        };
        node.inputs[wslot] = w_new;
        node.inputs[1 - wslot] = x_new;
        let reshape = crate::graph::FloatNode {
            name: format!("{}.merge_axes", node.name),
            op: FloatOp::Reshape,
            inputs: vec![x],
            output: x_new,
        };
        g.nodes.insert(ni, reshape);
        // Stay on the einsum (now at ni + 1): another run may remain.
        ni += 1;
    }
}

/// Drops tensors no node, input or output refers to, renumbering the rest in order.
fn prune(g: &mut FloatGraph) {
    let mut used = vec![false; g.tensors.len()];
    for t in g.inputs.iter().chain(&g.outputs).chain(
        g.nodes
            .iter()
            .flat_map(|n| n.inputs.iter().chain([&n.output])),
    ) {
        if let Some(u) = used.get_mut(t.0) {
            *u = true;
        }
    }
    let mut remap = vec![usize::MAX; g.tensors.len()];
    let mut kept = Vec::with_capacity(g.tensors.len());
    for (i, t) in std::mem::take(&mut g.tensors).into_iter().enumerate() {
        if used[i] {
            remap[i] = kept.len();
            kept.push(t);
        }
    }
    g.tensors = kept;
    // Ids that were out of range stay out of range, for `validate` to report.
    let map = |t: &mut TensorId| {
        *t = TensorId(remap.get(t.0).copied().unwrap_or(usize::MAX));
    };
    g.inputs.iter_mut().for_each(map);
    g.outputs.iter_mut().for_each(map);
    for n in &mut g.nodes {
        n.inputs.iter_mut().for_each(map);
        map(&mut n.output);
    }
}

/// Validates a graph a loader just built and simplifies it.
pub fn simplified(mut g: FloatGraph) -> Result<FloatGraph> {
    g.validate()?;
    simplify(&mut g)?;
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::eval;

    /// `relu(x·Wᵀ·α + reshape(b)·β)` as an exporter writes a Gemm.
    fn gemm_graph(alpha: f32) -> FloatGraph {
        let mut g = FloatGraph::default();
        let x = g.add_tensor("x", vec![2, 3], FloatTensorKind::Input);
        g.inputs.push(x);
        let w = g.add_tensor(
            "w",
            vec![4, 3],
            FloatTensorKind::Const((0..12).map(|i| i as f32 * 0.25 - 1.0).collect()),
        );
        let b = g.add_tensor(
            "b",
            vec![4],
            FloatTensorKind::Const(vec![0.5, -1.0, 2.0, 0.0]),
        );
        let beta = g.add_tensor("beta", vec![], FloatTensorKind::Const(vec![2.0]));
        let al = g.add_tensor("alpha", vec![], FloatTensorKind::Const(vec![alpha]));
        let ab = g.add_node(
            "ab",
            FloatOp::Einsum {
                expr: "mk,nk->mn".into(),
            },
            vec![x, w],
            vec![2, 4],
        );
        let abs = g.add_node(
            "a",
            FloatOp::Binary(BinaryKind::Mul),
            vec![ab, al],
            vec![2, 4],
        );
        let br = g.add_node("br", FloatOp::Reshape, vec![b], vec![1, 4]);
        let bc = g.add_node(
            "bc",
            FloatOp::Binary(BinaryKind::Mul),
            vec![beta, br],
            vec![1, 4],
        );
        let y = g.add_node(
            "y",
            FloatOp::Binary(BinaryKind::Sub),
            vec![abs, bc],
            vec![2, 4],
        );
        g.outputs.push(y);
        g
    }

    #[test]
    fn gemm_chain_becomes_one_biased_einsum() {
        let g = gemm_graph(0.5);
        let s = simplified(g.clone()).expect("simplify");
        assert_eq!(s.nodes.len(), 1, "{:?}", s.nodes);
        assert_eq!(s.nodes[0].inputs.len(), 3);
        assert_eq!(s.num_params(), 12 + 4);
        let x = vec![vec![0.3, -1.2, 2.0, 0.7, 0.0, -0.4]];
        let (a, b) = (eval(&g, &x).expect("eval"), eval(&s, &x).expect("eval"));
        for (u, v) in a[0].iter().zip(&b[0]) {
            assert!((u - v).abs() < 1e-5, "{u} vs {v}");
        }
    }

    #[test]
    fn shared_products_and_weights_are_left_alone() {
        // The product also feeds the output: no bias fusion.
        let mut g = gemm_graph(1.0);
        let ab = g.nodes[0].output;
        g.outputs.push(ab);
        let s = simplified(g).expect("simplify");
        assert!(s
            .nodes
            .iter()
            .any(|n| n.inputs.len() == 2 && matches!(n.op, FloatOp::Einsum { .. })));
        // The weight feeds a second einsum: no scale fusion.
        let mut g = gemm_graph(3.0);
        let (x, w) = (g.nodes[0].inputs[0], g.nodes[0].inputs[1]);
        let e2 = g.add_node(
            "ab2",
            FloatOp::Einsum {
                expr: "mk,nk->mn".into(),
            },
            vec![x, w],
            vec![2, 4],
        );
        g.outputs.push(e2);
        let before = eval(&g, &[vec![1.0; 6]]).expect("eval");
        let s = simplified(g).expect("simplify");
        let after = eval(&s, &[vec![1.0; 6]]).expect("eval");
        assert_eq!(before.len(), after.len());
        for (a, b) in before.iter().flatten().zip(after.iter().flatten()) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn non_finite_folds_are_kept_as_nodes() {
        let mut g = FloatGraph::default();
        let x = g.add_tensor("x", vec![1], FloatTensorKind::Input);
        g.inputs.push(x);
        let z = g.add_tensor("z", vec![1], FloatTensorKind::Const(vec![0.0]));
        let l = g.add_node("log0", FloatOp::Unary(crate::UnaryFn::Ln), vec![z], vec![1]);
        let y = g.add_node("y", FloatOp::Binary(BinaryKind::Add), vec![x, l], vec![1]);
        g.outputs.push(y);
        let s = simplified(g).expect("simplify");
        assert_eq!(s.nodes.len(), 2);
    }

    /// `x[1,4,3,3]` contracted with `W[5,4,3,3]` over the last three axes: the axes merge into
    /// one (a Reshape on x, W reshaped; the bias stays), with the same float output.
    #[test]
    fn contiguous_contracted_axes_merge() {
        let mut g = FloatGraph::default();
        let x = g.add_tensor("x", vec![1, 4, 3, 3], FloatTensorKind::Input);
        g.inputs.push(x);
        let w = g.add_tensor(
            "w",
            vec![5, 4, 3, 3],
            FloatTensorKind::Const((0..180).map(|i| (i % 7) as f32 * 0.3 - 1.0).collect()),
        );
        let b = g.add_tensor(
            "b",
            vec![5],
            FloatTensorKind::Const(vec![0.5, -1.0, 0.25, 2.0, 0.0]),
        );
        let y = g.add_node(
            "fc",
            FloatOp::Einsum {
                expr: "abcd,ebcd->ae".into(),
            },
            vec![x, w, b],
            vec![1, 5],
        );
        g.outputs.push(y);
        let s = simplified(g.clone()).expect("simplify");
        let e = s
            .nodes
            .iter()
            .find(|n| matches!(n.op, FloatOp::Einsum { .. }))
            .expect("einsum");
        assert_eq!(
            e.op,
            FloatOp::Einsum {
                expr: "ab,eb->ae".into()
            }
        );
        assert_eq!(s.tensors[e.inputs[1].0].shape, vec![5, 36]);
        assert_eq!(s.tensors[e.inputs[0].0].shape, vec![1, 36]);
        let input = vec![(0..36).map(|i| i as f32 * 0.1 - 1.5).collect::<Vec<f32>>()];
        let (a, b) = (
            eval(&g, &input).expect("eval"),
            eval(&s, &input).expect("eval"),
        );
        for (u, v) in a[0].iter().zip(&b[0]) {
            assert!((u - v).abs() < 1e-5, "{u} vs {v}");
        }
        // Axes that are not contracted, or not in the same order, stay.
        assert_eq!(
            contracted_run(&['a', 'b'], &['b', 'a'], &[], &[2, 3], &[3, 2]),
            None
        );
        assert_eq!(
            contracted_run(&['a', 'b'], &['a', 'b'], &['a'], &[2, 3], &[2, 3]),
            None
        );
        assert_eq!(
            contracted_run(&['a', 'b'], &['a', 'b'], &[], &[2, 3], &[2, 1]),
            None
        );
    }
}
