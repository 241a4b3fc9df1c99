//! Integer run + checker on a hand-built graph: an honest trace passes, a corrupted entry is
//! named; the bounds analysis refuses an overflowing accumulation; malformed input.json.

use zkinfer_model::quant::{self, QuantConfig};
use zkinfer_model::{
    BinaryKind, FloatGraph, FloatOp, FloatTensorKind, InputFile, ModelError, UnaryFn,
};

fn mlp() -> FloatGraph {
    let mut g = FloatGraph::default();
    let x = g.add_tensor("x", vec![1, 4], FloatTensorKind::Input);
    g.inputs.push(x);
    let w: Vec<f32> = (0..12).map(|i| ((i * 7 % 5) as f32 - 2.0) * 0.3).collect();
    let w = g.add_tensor("w", vec![4, 3], FloatTensorKind::Const(w));
    let b = g.add_tensor("b", vec![3], FloatTensorKind::Const(vec![0.1, -0.2, 0.3]));
    let h = g.add_node(
        "fc",
        FloatOp::Einsum {
            expr: "mk,kn->mn".into(),
        },
        vec![x, w],
        vec![1, 3],
    );
    let h = g.add_node(
        "bias",
        FloatOp::Binary(BinaryKind::Add),
        vec![h, b],
        vec![1, 3],
    );
    let h = g.add_node("act", FloatOp::Unary(UnaryFn::Sigmoid), vec![h], vec![1, 3]);
    let y = g.add_node(
        "softmax",
        FloatOp::Softmax {
            axis: 1,
            log: false,
        },
        vec![h],
        vec![1, 3],
    );
    g.outputs.push(y);
    g
}

#[test]
fn honest_trace_passes_and_corruption_is_named() {
    let g = mlp();
    let input = vec![vec![0.5f32, -1.0, 2.0, 0.25]];
    let q = quant::quantize(&g, std::slice::from_ref(&input), &QuantConfig::default())
        .expect("quantize");
    let mut tr = quant::run(&q, &input).expect("run");
    quant::check(&q, &tr).expect("honest trace");
    let rep = quant::fidelity(&g, &q, &[input]).expect("fidelity");
    assert!(rep.max_abs_err < 1e-3, "{rep}");
    // Corrupt one entry of the sigmoid output: the lookup relation of `act` must fail at index 1.
    let act = q
        .nodes
        .iter()
        .find(|n| n.name == "act")
        .expect("act")
        .output;
    tr.values[act.0][1] += 1;
    match quant::check(&q, &tr) {
        Err(ModelError::CheckFailed { node, index, .. }) => {
            assert_eq!((node.as_str(), index), ("act", 1))
        }
        other => panic!("expected CheckFailed, got {other:?}"),
    }
    // Corrupt the linear layer's output: `fc` is named.
    let mut tr = quant::run(&q, &[vec![0.5f32, -1.0, 2.0, 0.25]]).expect("run");
    let fc = q.nodes.iter().find(|n| n.name == "fc").expect("fc").output;
    tr.values[fc.0][2] -= 3;
    match quant::check(&q, &tr) {
        Err(ModelError::CheckFailed { node, index, .. }) => {
            assert_eq!((node.as_str(), index), ("fc", 2))
        }
        other => panic!("expected CheckFailed, got {other:?}"),
    }
}

#[test]
fn bounds_refuse_overflowing_accumulation() {
    let k = 1 << 20;
    let mut g = FloatGraph::default();
    let x = g.add_tensor("x", vec![1, k], FloatTensorKind::Input);
    g.inputs.push(x);
    // Non-integer weights: integer ones would keep scale 1 and small codes.
    let w = g.add_tensor("w", vec![k, 1], FloatTensorKind::Const(vec![0.75; k]));
    let y = g.add_node(
        "big_dot",
        FloatOp::Einsum {
            expr: "mk,kn->mn".into(),
        },
        vec![x, w],
        vec![1, 1],
    );
    g.outputs.push(y);
    let cfg = QuantConfig {
        act_bits: 20,
        weight_bits: 24,
        headroom_bits: 0,
    };
    // The quantizer keeps the relation field-safe (here by a capped shift and a tiny M)…
    let mut q = quant::quantize(&g, &[vec![vec![1.0; k]]], &cfg).expect("quantize");
    // …and the analysis refuses it once M·acc can reach p.
    if let Some(n) = q.nodes.iter_mut().find(|n| n.name == "big_dot") {
        if let quant::QuantOp::Einsum { requant, .. } = &mut n.op {
            requant.multipliers = vec![1 << 20];
        }
    }
    match quant::bounds::check_bounds(&q) {
        Err(ModelError::FieldUnsafe { node, .. }) => assert_eq!(node, "big_dot"),
        other => panic!("expected FieldUnsafe, got {other:?}"),
    }
}

#[test]
fn malformed_input_json_is_rejected() {
    for (text, what) in [
        ("{}", "missing key"),
        ("{\"input_data\": [[1.0, \"a\"]]}", "not a number"),
        ("{\"input_data\": [[1.0, NaN]]}", "not valid JSON"),
        ("{\"input_data\": [[1.0, Infinity]]}", "not valid JSON"),
        ("{\"input_data\": [[1e999]]}", "not"),
        ("{\"input_data\": 3}", "list"),
        ("[1,2]", "object"),
    ] {
        let e = InputFile::parse(text).expect_err(text).to_string();
        assert!(e.contains(what), "{text}: {e}");
    }
    let ok =
        InputFile::parse("{\"input_data\": [[1, 2, 3]], \"output_data\": [[0]]}").expect("valid");
    let e = ok.samples(&[4]).expect_err("wrong length").to_string();
    assert!(e.contains("expected 4"), "{e}");
    assert_eq!(ok.samples(&[3]).expect("ok").len(), 1);
}
