//! Fusion of decomposed activation functions into one lookup.
//!
//! Exporters often write GELU as `x · 0.5 · (1 + erf(x / √2))` (or its tanh form with `x³`),
//! SiLU as `x · σ(x)`, Mish as `x · tanh(ln(1 + eˣ))`. Quantized op by op, such a chain costs a
//! table lookup (or a requantized product) per step, each rounding on the way. Any
//! sub-graph of element-wise ops whose only non-constant input is one tensor `x` is a
//! function `f(x)`; when `f` *is* one of zkinfer's unary functions, the sub-graph becomes that
//! single op: one table, one rounding.
//!
//! **Recognition by evaluation**, not by pattern: for every tensor `x` with several
//! consumers, the element-wise nodes reachable from `x` alone (scalar constants allowed,
//! same shape as `x`, no outside consumer of an interior tensor) form a cone per output
//! tensor; the cone is evaluated in f64 on a grid over `[−12, 12]` and compared with each
//! candidate function. A match within `1e-5·max(1, |f|)` everywhere on the grid replaces the
//! cone's last node by the candidate applied to `x` (the rest of the cone is then unused and
//! dropped). The grid is dense enough (961 points) that the tested candidates — which differ
//! from each other by more than `1e-4` somewhere in that interval — cannot be confused, and
//! writing order, constant folding or `Div` versus `Mul` by the reciprocal do not matter.

use crate::graph::{FloatGraph, TensorId};
use crate::ops::{BinaryKind, FloatOp, UnaryFn};

/// Functions a decomposed chain may be fused into.
const CANDIDATES: [UnaryFn; 5] = [
    UnaryFn::GeluExact,
    UnaryFn::GeluTanh,
    UnaryFn::Silu,
    UnaryFn::Mish,
    UnaryFn::Softplus,
];

/// Largest cone considered (nodes).
const MAX_CONE: usize = 24;
/// Nodes scanned after a tensor's first consumer.
const SCAN_WINDOW: usize = 64;

fn grid() -> impl Iterator<Item = f64> {
    (-480..=480).map(|i| f64::from(i) / 40.0)
}

fn scalar(g: &FloatGraph, t: TensorId) -> Option<f64> {
    match g.const_data(t) {
        Some([v]) => Some(f64::from(*v)),
        _ => None,
    }
}

fn elementwise(op: &FloatOp) -> bool {
    match op {
        FloatOp::Unary(_) => true,
        FloatOp::Binary(k) => matches!(
            k,
            BinaryKind::Add
                | BinaryKind::Sub
                | BinaryKind::Mul
                | BinaryKind::Div
                | BinaryKind::Pow
                | BinaryKind::Max
                | BinaryKind::Min
        ),
        _ => false,
    }
}

fn binary(k: BinaryKind, a: f64, b: f64) -> f64 {
    match k {
        BinaryKind::Add => a + b,
        BinaryKind::Sub => a - b,
        BinaryKind::Mul => a * b,
        BinaryKind::Div => a / b,
        BinaryKind::Pow => a.powf(b),
        BinaryKind::Max => a.max(b),
        BinaryKind::Min => a.min(b),
        _ => f64::NAN,
    }
}

/// Value of tensor `t` when `x` holds `xv`, through the nodes of `cone` (by index).
fn value(g: &FloatGraph, cone: &[usize], x: TensorId, t: TensorId, xv: f64) -> f64 {
    if t == x {
        return xv;
    }
    if let Some(c) = scalar(g, t) {
        return c;
    }
    let Some(&ni) = cone.iter().find(|&&n| g.nodes[n].output == t) else {
        return f64::NAN;
    };
    let n = &g.nodes[ni];
    let v = |i: usize| value(g, cone, x, n.inputs[i], xv);
    match &n.op {
        FloatOp::Unary(f) => f.eval(v(0)),
        FloatOp::Binary(k) => binary(*k, v(0), v(1)),
        _ => f64::NAN,
    }
}

/// The node indices of `t`'s backward cone within `set`.
fn cone_of(g: &FloatGraph, set: &[usize], t: TensorId) -> Vec<usize> {
    let mut cone = Vec::new();
    let mut stack = vec![t];
    while let Some(t) = stack.pop() {
        if let Some(&ni) = set.iter().find(|&&n| g.nodes[n].output == t) {
            if !cone.contains(&ni) {
                cone.push(ni);
                stack.extend(g.nodes[ni].inputs.iter().copied());
            }
        }
    }
    cone
}

/// Fuses decomposed activation functions (module docs); returns how many were fused.
pub(crate) fn fuse_functions(g: &mut FloatGraph) -> usize {
    let nt = g.tensors.len();
    let mut uses = vec![0usize; nt];
    for t in g
        .nodes
        .iter()
        .flat_map(|n| n.inputs.iter())
        .chain(&g.outputs)
    {
        if let Some(u) = uses.get_mut(t.0) {
            *u += 1;
        }
    }
    // First consumer of each tensor, in one pass (a scan per tensor would be quadratic).
    let mut first_use = vec![usize::MAX; nt];
    for (ni, n) in g.nodes.iter().enumerate() {
        for t in &n.inputs {
            if let Some(f) = first_use.get_mut(t.0) {
                *f = (*f).min(ni);
            }
        }
    }
    let mut dead = vec![false; g.nodes.len()];
    let mut fused = 0;
    for x in (0..nt).map(TensorId) {
        if uses[x.0] == 0 || g.const_data(x).is_some() {
            continue;
        }
        let first = first_use[x.0];
        if first == usize::MAX {
            continue;
        }
        let shape = g.tensors[x.0].shape.clone();
        // Forward closure of element-wise nodes fed by x alone, within a window after x's
        // first consumer (a decomposed function is written in consecutive nodes).
        let mut reach = vec![x];
        let mut set = Vec::new();
        for (ni, n) in g.nodes.iter().enumerate().skip(first).take(SCAN_WINDOW) {
            if set.len() >= MAX_CONE {
                break;
            }
            if dead[ni] || !elementwise(&n.op) || g.tensors[n.output.0].shape != shape {
                continue;
            }
            let fed = n
                .inputs
                .iter()
                .all(|t| reach.contains(t) || scalar(g, *t).is_some());
            if fed && n.inputs.iter().any(|t| reach.contains(t)) {
                set.push(ni);
                reach.push(n.output);
            }
        }
        // Largest cones first: the last node of the closure downwards.
        for &last in set.iter().rev() {
            if dead[last] {
                continue;
            }
            let y = g.nodes[last].output;
            let cone = cone_of(g, &set, y);
            if cone.len() < 2 || cone.iter().any(|&n| dead[n]) {
                continue;
            }
            // Interior tensors must not be used outside the cone.
            let closed = cone.iter().filter(|&&n| n != last).all(|&n| {
                let t = g.nodes[n].output;
                let inside = cone
                    .iter()
                    .flat_map(|&m| g.nodes[m].inputs.iter())
                    .filter(|&&u| u == t)
                    .count();
                inside == uses[t.0]
            });
            if !closed {
                continue;
            }
            let f: Vec<f64> = grid().map(|v| value(g, &cone, x, y, v)).collect();
            let hit = CANDIDATES.into_iter().find(|c| {
                grid()
                    .zip(&f)
                    .all(|(v, &fv)| (fv - c.eval(v)).abs() <= 1e-5 * c.eval(v).abs().max(1.0))
            });
            if let Some(c) = hit {
                for &n in &cone {
                    if n != last {
                        dead[n] = true;
                        for t in g.nodes[n].inputs.clone() {
                            uses[t.0] = uses[t.0].saturating_sub(1);
                        }
                    }
                }
                for t in g.nodes[last].inputs.clone() {
                    uses[t.0] = uses[t.0].saturating_sub(1);
                }
                uses[x.0] += 1;
                let n = &mut g.nodes[last];
                n.op = FloatOp::Unary(c);
                n.inputs = vec![x];
                fused += 1;
            }
        }
    }
    let mut i = 0;
    g.nodes.retain(|_| {
        i += 1;
        !dead[i - 1]
    });
    fused
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::FloatTensorKind;

    fn k(g: &mut FloatGraph, v: f32) -> TensorId {
        g.add_tensor(format!("c{v}"), vec![1], FloatTensorKind::Const(vec![v]))
    }

    /// Builds `y = build(x)` on a [2, 3] input after a Relu-free producer, simplifies, and
    /// returns the ops left plus the max deviation from the unfused graph.
    fn fused(build: impl Fn(&mut FloatGraph, TensorId) -> TensorId) -> (Vec<FloatOp>, f32) {
        let mut g = FloatGraph::default();
        let a = g.add_tensor("a", vec![2, 3], FloatTensorKind::Input);
        g.inputs.push(a);
        let two = k(&mut g, 2.0);
        let x = g.add_node(
            "x",
            FloatOp::Binary(BinaryKind::Mul),
            vec![a, two],
            vec![2, 3],
        );
        let y = build(&mut g, x);
        g.outputs.push(y);
        let input = vec![-3.0f32, -0.7, 0.0, 0.4, 1.3, 2.9];
        let before = crate::eval(&g, std::slice::from_ref(&input)).expect("eval");
        crate::simplify::simplify(&mut g).expect("simplify");
        let after = crate::eval(&g, &[input]).expect("eval");
        let dev = before[0]
            .iter()
            .zip(&after[0])
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f32::max);
        (g.nodes.iter().map(|n| n.op.clone()).collect(), dev)
    }

    fn un(g: &mut FloatGraph, f: UnaryFn, x: TensorId) -> TensorId {
        g.add_node(format!("{f:?}"), FloatOp::Unary(f), vec![x], vec![2, 3])
    }

    fn bin(g: &mut FloatGraph, op: BinaryKind, a: TensorId, b: TensorId) -> TensorId {
        g.add_node(
            format!("{op:?}"),
            FloatOp::Binary(op),
            vec![a, b],
            vec![2, 3],
        )
    }

    fn expect(ops: &[FloatOp], f: UnaryFn) {
        assert_eq!(ops.len(), 2, "{ops:?}");
        assert_eq!(ops[1], FloatOp::Unary(f), "{ops:?}");
    }

    #[test]
    fn gelu_erf_form() {
        let (ops, dev) = fused(|g, x| {
            let r = k(g, std::f32::consts::SQRT_2);
            let d = bin(g, BinaryKind::Div, x, r);
            let e = un(g, UnaryFn::Erf, d);
            let one = k(g, 1.0);
            let p = bin(g, BinaryKind::Add, e, one);
            let m = bin(g, BinaryKind::Mul, x, p);
            let half = k(g, 0.5);
            bin(g, BinaryKind::Mul, m, half)
        });
        expect(&ops, UnaryFn::GeluExact);
        assert!(dev < 1e-5, "{dev}");
    }

    #[test]
    fn gelu_tanh_form() {
        let (ops, dev) = fused(|g, x| {
            let three = k(g, 3.0);
            let cube = bin(g, BinaryKind::Pow, x, three);
            let c = k(g, 0.044715);
            let t = bin(g, BinaryKind::Mul, cube, c);
            let s = bin(g, BinaryKind::Add, x, t);
            let r = k(g, (2.0 / std::f32::consts::PI).sqrt());
            let u = bin(g, BinaryKind::Mul, s, r);
            let th = un(g, UnaryFn::Tanh, u);
            let one = k(g, 1.0);
            let p = bin(g, BinaryKind::Add, th, one);
            let half = k(g, 0.5);
            let hx = bin(g, BinaryKind::Mul, half, x);
            bin(g, BinaryKind::Mul, hx, p)
        });
        expect(&ops, UnaryFn::GeluTanh);
        assert!(dev < 1e-5, "{dev}");
    }

    #[test]
    fn silu_mish_softplus() {
        let (ops, _) = fused(|g, x| {
            let s = un(g, UnaryFn::Sigmoid, x);
            bin(g, BinaryKind::Mul, x, s)
        });
        expect(&ops, UnaryFn::Silu);
        let softplus = |g: &mut FloatGraph, x| {
            let e = un(g, UnaryFn::Exp, x);
            let one = k(g, 1.0);
            let p = bin(g, BinaryKind::Add, e, one);
            un(g, UnaryFn::Ln, p)
        };
        let (ops, dev) = fused(softplus);
        expect(&ops, UnaryFn::Softplus);
        assert!(dev < 1e-5, "{dev}");
        let (ops, dev) = fused(|g, x| {
            let sp = softplus(g, x);
            let t = un(g, UnaryFn::Tanh, sp);
            bin(g, BinaryKind::Mul, x, t)
        });
        expect(&ops, UnaryFn::Mish);
        assert!(dev < 1e-5, "{dev}");
    }

    #[test]
    fn other_functions_and_shared_interiors_stay() {
        // x · erf(x) is no candidate.
        let (ops, _) = fused(|g, x| {
            let e = un(g, UnaryFn::Erf, x);
            bin(g, BinaryKind::Mul, x, e)
        });
        assert_eq!(ops.len(), 3, "{ops:?}");
        // x · σ(x) whose σ(x) is also a graph output: the interior is needed, no fusion.
        let (ops, _) = fused(|g, x| {
            let s = un(g, UnaryFn::Sigmoid, x);
            g.outputs.push(s);
            bin(g, BinaryKind::Mul, x, s)
        });
        assert_eq!(ops.len(), 3, "{ops:?}");
    }
}
