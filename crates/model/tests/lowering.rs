//! Float semantics of the newer unary functions and the lowerings built on them: Pow with a
//! constant base, Concat aligning a constant part, models without inputs.

use zkinfer_model::quant::{self, QuantConfig, QuantOp};
use zkinfer_model::{BinaryKind, FloatGraph, FloatOp, FloatTensorKind, InputFile, UnaryFn};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

#[test]
fn inverse_trig_and_hyperbolic_values() {
    use std::f64::consts::{FRAC_PI_3, FRAC_PI_4, FRAC_PI_6};
    let cases = [
        (UnaryFn::Acos, 0.5, FRAC_PI_3),
        (UnaryFn::Asin, 0.5, FRAC_PI_6),
        (UnaryFn::Atan, 1.0, FRAC_PI_4),
        (UnaryFn::Sinh, 1.0, (1f64.exp() - (-1f64).exp()) / 2.0),
        (UnaryFn::Cosh, 1.0, (1f64.exp() + (-1f64).exp()) / 2.0),
        (UnaryFn::Asinh, 0.0, 0.0),
        (UnaryFn::Acosh, 1.0, 0.0),
        (UnaryFn::Atanh, 0.5, 0.5 * 3f64.ln()),
        (UnaryFn::PowBase(10.0), 2.0, 100.0),
        (UnaryFn::PowBase(2.0), -1.0, 0.5),
    ];
    for (f, x, y) in cases {
        assert!(close(f.eval(x), y), "{f:?}({x}) = {} ≠ {y}", f.eval(x));
    }
    // Outside its domain acos is NaN (a table maps NaN to 0).
    assert!(UnaryFn::Acos.eval(1.5).is_nan());
}

fn one_input(shape: Vec<usize>) -> (FloatGraph, zkinfer_model::TensorId) {
    let mut g = FloatGraph::default();
    let x = g.add_tensor("x", shape, FloatTensorKind::Input);
    g.inputs.push(x);
    (g, x)
}

#[test]
fn pow_with_constant_base_is_one_table() {
    let (mut g, x) = one_input(vec![1, 4]);
    let b = g.add_tensor("base", vec![], FloatTensorKind::Const(vec![10.0]));
    let y = g.add_node(
        "pow",
        FloatOp::Binary(BinaryKind::Pow),
        vec![b, x],
        vec![1, 4],
    );
    g.outputs.push(y);
    let s = vec![vec![0.1f32, 0.5, 0.9, 0.0]];
    let q = quant::quantize(&g, std::slice::from_ref(&s), &QuantConfig::default()).expect("q");
    assert!(matches!(q.nodes.as_slice(), [n] if matches!(n.op, QuantOp::Lookup { .. })));
    let rep = quant::fidelity(&g, &q, &[s]).expect("fidelity");
    assert!(rep.max_rel_err < 1e-3, "{rep}");
    // A non-constant base and exponent is refused with a message saying so.
    let (mut g, x) = one_input(vec![2]);
    let y = g.add_node("pow", FloatOp::Binary(BinaryKind::Pow), vec![x, x], vec![2]);
    g.outputs.push(y);
    let e = quant::quantize(&g, &[vec![vec![1.0, 2.0]]], &QuantConfig::default())
        .expect_err("non-constant base and exponent");
    assert!(e.to_string().contains("non-constant base"), "{e}");
}

#[test]
fn concat_fraction_holds_constant_parts() {
    // A small activation (fine fraction) next to a constant 1.0: the shared fraction must be
    // the constant's, or aligning the constant up would saturate.
    let (mut g, x) = one_input(vec![2]);
    let h = g.add_node(
        "half",
        FloatOp::Unary(UnaryFn::Scale(0.25)),
        vec![x],
        vec![2],
    );
    let c = g.add_tensor("one", vec![2], FloatTensorKind::Const(vec![1.0, 1.0]));
    let y = g.add_node("cat", FloatOp::Concat { axis: 0 }, vec![c, h], vec![4]);
    g.outputs.push(y);
    let s = vec![vec![0.9f32, -0.7]];
    let q = quant::quantize(&g, std::slice::from_ref(&s), &QuantConfig::default()).expect("q");
    let (lo, hi) = q.config.act_range();
    let tr = quant::run(&q, &s).expect("run");
    for (t, v) in q.tensors.iter().zip(&tr.values) {
        if matches!(t.kind, quant::QTensorKind::Activation) {
            assert!(
                v.iter().all(|&v| v > lo && v < hi),
                "`{}` saturates: {v:?}",
                t.name
            );
        }
    }
    let rep = quant::fidelity(&g, &q, &[s]).expect("fidelity");
    assert!(rep.max_abs_err < 1e-3, "{rep}");
}

#[test]
fn models_without_inputs_take_one_empty_sample() {
    let f = InputFile::parse("{\"input_data\": [[]]}").expect("valid");
    assert_eq!(
        f.samples(&[]).expect("empty sample"),
        vec![Vec::<Vec<f32>>::new()]
    );
    let f = InputFile::parse("{\"input_data\": [[1.0]]}").expect("valid");
    let e = f.samples(&[]).expect_err("values for no input").to_string();
    assert!(e.contains("no inputs"), "{e}");
}

/// A dead output channel (weights ~1e-40) next to a real bias: the bias in accumulator units
/// would be ~2^140 at the weights' own scale; the channel's scale is floored so it fits, and
/// the output stays faithful (fr_age's last Gemm).
#[test]
fn bias_of_a_dead_channel_fits_the_accumulator() {
    let (mut g, x) = one_input(vec![1, 3]);
    let w = g.add_tensor(
        "w",
        vec![2, 3],
        FloatTensorKind::Const(vec![0.5, -0.25, 1.0, 1e-40, -1e-40, 5e-41]),
    );
    let b = g.add_tensor("b", vec![2], FloatTensorKind::Const(vec![0.1, 0.75]));
    let y = g.add_node(
        "gemm",
        FloatOp::Einsum {
            expr: "mk,nk->mn".into(),
        },
        vec![x, w, b],
        vec![1, 2],
    );
    g.outputs.push(y);
    let s = vec![vec![0.3f32, -0.6, 0.9]];
    let q = quant::quantize(&g, std::slice::from_ref(&s), &QuantConfig::default())
        .expect("a dead channel's bias is quantizable");
    let rep = quant::fidelity(&g, &q, &[s]).expect("fidelity");
    assert!(rep.max_rel_err < 1e-3, "{rep}");
}

/// A product far beyond what 16-bit activations hold at the coarsest scale (2^15 · 2^30):
/// the clamping run reports the clamped value, the strict run — what a proof needs — names
/// the node and the value it needed, and unsaturated inputs pass both alike.
#[test]
fn saturation_is_named_by_the_strict_run() {
    let (mut g, x) = one_input(vec![2]);
    let w = g.add_tensor(
        "w",
        vec![2, 2],
        FloatTensorKind::Const(vec![1e8, 0.0, 0.0, 1e8]),
    );
    let y = g.add_node(
        "huge",
        FloatOp::Einsum {
            expr: "i,ij->j".into(),
        },
        vec![x, w],
        vec![2],
    );
    g.outputs.push(y);
    let s = vec![vec![1e7f32, -1e7]];
    let q = quant::quantize(&g, std::slice::from_ref(&s), &QuantConfig::default()).expect("q");
    let clamped = quant::run(&q, &s).expect("clamping run");
    let (lo, hi) = q.config.act_range();
    assert!(clamped.values[q.outputs[0].0]
        .iter()
        .all(|&v| v == lo || v == hi));
    match quant::run_strict(&q, &s) {
        Err(zkinfer_model::ModelError::Saturated {
            node,
            element,
            value,
            ..
        }) => {
            assert_eq!(node, "huge");
            assert_eq!(element, 0);
            assert!(value > i128::from(hi), "{value}");
        }
        other => panic!("expected a saturation error, got {other:?}"),
    }
    let small = vec![vec![1e-3f32, -2e-3]];
    let a = quant::run(&q, &small).expect("run");
    let b = quant::run_strict(&q, &small).expect("strict run");
    assert_eq!(a, b);
}

/// A causal mask: `where(keep, scores, −∞)` where the masked scores are the large ones, so the
/// output's calibrated range is narrower (a finer scale) than the scores'. The −∞ fill must
/// land on the activation minimum at the output's scale, not saturate on the way there.
#[test]
fn mask_fill_lands_on_the_minimum_without_saturating() {
    let (mut g, x) = one_input(vec![4]);
    let keep = g.add_tensor(
        "keep",
        vec![4],
        FloatTensorKind::Const(vec![1.0, 1.0, 0.0, 0.0]),
    );
    let fill = g.add_tensor(
        "fill",
        vec![1],
        FloatTensorKind::Const(vec![f32::NEG_INFINITY]),
    );
    let y = g.add_node("masked", FloatOp::Where, vec![keep, x, fill], vec![4]);
    g.outputs.push(y);
    let s = vec![vec![0.5f32, -0.25, 40.0, 90.0]];
    let q = quant::quantize(&g, std::slice::from_ref(&s), &QuantConfig::default()).expect("q");
    let tr = quant::run_strict(&q, &s).expect("the mask does not saturate");
    let (lo, _) = q.config.act_range();
    let out = &tr.values[q.outputs[0].0];
    assert_eq!(&out[2..], &[lo, lo], "{out:?}");
    let back = q.dequantize(q.outputs[0], out);
    assert!(
        (back[0] - 0.5).abs() < 1e-3 && (back[1] + 0.25).abs() < 1e-3,
        "{back:?}"
    );
}

/// A causal row where the kept score is the row's only one and far above nothing: the masked
/// keys must get exactly zero probability (the mask's minimum lies far enough below every
/// score), and the kept one all of it.
#[test]
fn masked_keys_get_no_attention() {
    let (mut g, x) = one_input(vec![1, 4]);
    let keep = g.add_tensor(
        "keep",
        vec![1, 4],
        FloatTensorKind::Const(vec![1.0, 0.0, 0.0, 0.0]),
    );
    let fill = g.add_tensor(
        "fill",
        vec![1],
        FloatTensorKind::Const(vec![f32::NEG_INFINITY]),
    );
    let m = g.add_node("masked", FloatOp::Where, vec![keep, x, fill], vec![1, 4]);
    let p = g.add_node(
        "probs",
        FloatOp::Softmax {
            axis: 1,
            log: false,
        },
        vec![m],
        vec![1, 4],
    );
    g.outputs.push(p);
    // Scores within ±4 (the scale the scores alone would get), the kept one the row maximum.
    let s = vec![vec![-0.57f32, 3.9, -3.9, 2.0]];
    let q = quant::quantize(&g, std::slice::from_ref(&s), &QuantConfig::default()).expect("q");
    let tr = quant::run_strict(&q, &s).expect("run");
    let probs = q.dequantize(q.outputs[0], tr.get(q.outputs[0]).expect("probs"));
    assert_eq!(&probs[1..], &[0.0, 0.0, 0.0], "{probs:?}");
    assert!((probs[0] - 1.0).abs() < 1e-3, "{probs:?}");
}
