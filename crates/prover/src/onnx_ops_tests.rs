//! ONNX selection and data-movement ops end to end: ArgMax / ArgMin, TopK, Pad reflect and
//! edge, Resize by `sizes`, opset-9 Upsample, LpPool. Each model is built here as a protobuf,
//! loaded, quantized, proven and verified; the proven output is compared with a reference
//! computed independently in the test (not by the loader's lowering), and changed outputs
//! are rejected.

use prost::Message;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{
    attribute_proto::AttributeType, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

use crate::{prove, verify, ModelProof, ProvingKey};

const FLOAT: i32 = 1;
const INT64: i32 = 7;

fn value(name: &str, elem: i32, shape: Option<&[i64]>) -> ValueInfoProto {
    let shape = shape.map(|s| TensorShapeProto {
        dim: s
            .iter()
            .map(|&d| Dimension {
                value: Some(dimension::Value::DimValue(d)),
                ..Default::default()
            })
            .collect(),
    });
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem,
                shape,
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn string(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: s.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn node(op: &str, ins: &[&str], outs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: outs[0].into(),
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: outs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..Default::default()
    }
}

fn i64_init(name: &str, v: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![v.len() as i64],
        data_type: INT64,
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

fn f32_init(name: &str, v: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![v.len() as i64],
        data_type: FLOAT,
        float_data: v.to_vec(),
        ..Default::default()
    }
}

/// A one-input model; outputs given as (name, element type).
fn model(
    opset: i64,
    x_shape: &[i64],
    nodes: Vec<NodeProto>,
    initializer: Vec<TensorProto>,
    outputs: &[(&str, i32)],
) -> Vec<u8> {
    let graph = GraphProto {
        node: nodes,
        name: "g".into(),
        initializer,
        input: vec![value("x", FLOAT, Some(x_shape))],
        output: outputs.iter().map(|&(n, t)| value(n, t, None)).collect(),
        ..Default::default()
    };
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Loads, quantizes (calibrated on `x`), proves, verifies; returns the key, the proof and
/// the proven outputs dequantized.
fn prove_onnx(bytes: &[u8], x: &[f32]) -> (ProvingKey, ModelProof, Vec<Vec<f32>>) {
    let g = zkinfer_onnx::load_bytes(bytes, None).expect("load");
    let samples = vec![vec![x.to_vec()]];
    let (pk, inputs) = super::tests::quantize_and_compile(&g, &samples);
    let proof = prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");
    let outs = pk
        .graph
        .outputs
        .iter()
        .zip(&proof.outputs)
        .map(|(id, v)| pk.graph.dequantize(*id, v))
        .collect();
    (pk, proof, outs)
}

fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= tol * b.abs().max(1.0),
            "{what}[{i}]: {a} vs {b}\n got  {got:?}\n want {want:?}"
        );
    }
}

/// Every output changed by one unit in its first element is rejected.
fn assert_outputs_bound(pk: &ProvingKey, proof: &ModelProof) {
    for o in 0..proof.outputs.len() {
        let mut p = proof.clone();
        p.outputs[o][0] += 1;
        assert!(verify(&pk.vk, &p).is_err(), "changed output {o} accepted");
    }
}

/// Index of the first (or last) extreme of each row.
fn arg_rows(x: &[f32], n: usize, max: bool, last: bool) -> Vec<f32> {
    x.chunks(n)
        .map(|r| {
            let better = |a: f32, b: f32| if max { a > b } else { a < b };
            let mut best = 0;
            for (k, &v) in r.iter().enumerate() {
                if better(v, r[best]) || (last && v == r[best]) {
                    best = k;
                }
            }
            best as f32
        })
        .collect()
}

#[test]
fn argmax_argmin_first_and_last_with_ties() {
    let x = [
        1.0f32, 3.0, 3.0, 0.0, -1.0, 3.0, //
        0.5, -2.0, 0.5, -2.0, 4.0, 1.0, //
        -0.25, -0.25, -0.25, -0.25, -0.25, -0.25,
    ];
    let nodes = vec![
        node("ArgMax", &["x"], &["a"], vec![int("axis", 1)]),
        node(
            "ArgMax",
            &["x"],
            &["b"],
            vec![int("axis", 1), int("select_last_index", 1)],
        ),
        node("ArgMin", &["x"], &["c"], vec![int("axis", -1)]),
        node(
            "ArgMin",
            &["x"],
            &["d"],
            vec![
                int("axis", 1),
                int("keepdims", 0),
                int("select_last_index", 1),
            ],
        ),
    ];
    let outs = [("a", INT64), ("b", INT64), ("c", INT64), ("d", INT64)];
    let bytes = model(17, &[3, 6], nodes, vec![], &outs);
    let (pk, proof, got) = prove_onnx(&bytes, &x);
    assert_close(&got[0], &arg_rows(&x, 6, true, false), 0.0, "argmax");
    assert_close(&got[1], &arg_rows(&x, 6, true, true), 0.0, "argmax last");
    assert_close(&got[2], &arg_rows(&x, 6, false, false), 0.0, "argmin");
    assert_close(&got[3], &arg_rows(&x, 6, false, true), 0.0, "argmin last");
    assert_eq!(got[0], [1.0, 4.0, 0.0]);
    assert_outputs_bound(&pk, &proof);
}

#[test]
fn topk_largest_and_smallest_with_ties() {
    let n = 7;
    let x = [
        0.5f32, 2.0, -1.0, 2.0, 0.5, 3.5, 0.5, //
        -3.0, -3.0, -3.0, -3.0, 1.0, -3.0, -3.0,
    ];
    let nodes = vec![
        node("TopK", &["x", "k"], &["v", "i"], vec![int("axis", 1)]),
        node(
            "TopK",
            &["x", "k"],
            &["sv", "si"],
            vec![int("axis", -1), int("largest", 0)],
        ),
    ];
    let outs = [("v", FLOAT), ("i", INT64), ("sv", FLOAT), ("si", INT64)];
    let bytes = model(17, &[2, 7], nodes, vec![i64_init("k", &[3])], &outs);
    let (pk, proof, got) = prove_onnx(&bytes, &x);
    // Reference: a stable sort of each row (ties keep the lower index first).
    let (mut v, mut i, mut sv, mut si) = (vec![], vec![], vec![], vec![]);
    for row in x.chunks(n) {
        let mut ord: Vec<usize> = (0..n).collect();
        ord.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        v.extend(ord[..3].iter().map(|&k| row[k]));
        i.extend(ord[..3].iter().map(|&k| k as f32));
        ord.sort_by(|&a, &b| row[a].total_cmp(&row[b]));
        sv.extend(ord[..3].iter().map(|&k| row[k]));
        si.extend(ord[..3].iter().map(|&k| k as f32));
    }
    assert_eq!(i, [5.0, 1.0, 3.0, 4.0, 0.0, 1.0]);
    assert_eq!(si, [2.0, 0.0, 4.0, 0.0, 1.0, 2.0]);
    assert_close(&got[0], &v, 1e-3, "top values");
    assert_close(&got[1], &i, 0.0, "top indices");
    assert_close(&got[2], &sv, 1e-3, "bottom values");
    assert_close(&got[3], &si, 0.0, "bottom indices");
    assert_outputs_bound(&pk, &proof);
}

/// Source index along one axis of length `n` for output position `j` with `before` padding.
fn reflect(j: usize, before: usize, n: usize, edge: bool) -> usize {
    let i = j as i64 - before as i64;
    let last = n as i64 - 1;
    let i = if edge {
        i.clamp(0, last)
    } else if i < 0 {
        -i
    } else if i > last {
        2 * last - i
    } else {
        i
    };
    i as usize
}

#[test]
fn pad_reflect_and_edge() {
    let (h, w) = (3usize, 4usize);
    let x: Vec<f32> = (0..h * w).map(|i| i as f32 * 0.25 - 1.0).collect();
    // pads: axis 1 (1, 2), axis 2 (2, 1); axis 0 (batch) none.
    let pads = [0, 1, 2, 0, 2, 1];
    let nodes = vec![
        node("Pad", &["x", "p"], &["r"], vec![string("mode", "reflect")]),
        node("Pad", &["x", "p"], &["e"], vec![string("mode", "edge")]),
    ];
    let outs = [("r", FLOAT), ("e", FLOAT)];
    let bytes = model(
        17,
        &[1, h as i64, w as i64],
        nodes,
        vec![i64_init("p", &pads)],
        &outs,
    );
    let (pk, proof, got) = prove_onnx(&bytes, &x);
    for (o, edge) in [(0, false), (1, true)] {
        let mut want = vec![];
        for r in 0..h + 3 {
            for c in 0..w + 3 {
                want.push(x[reflect(r, 1, h, edge) * w + reflect(c, 2, w, edge)]);
            }
        }
        assert_close(&got[o], &want, 1e-3, if edge { "edge" } else { "reflect" });
    }
    assert_outputs_bound(&pk, &proof);
}

#[test]
fn resize_by_sizes_and_opset9_upsample() {
    let x: Vec<f32> = (0..12).map(|i| (i as f32 - 5.0) * 0.375).collect();
    // Resize [1,1,3,4] → [1,1,5,3], nearest, half_pixel, round_prefer_floor (the defaults).
    let nodes = vec![node("Resize", &["x", "", "", "s"], &["y"], vec![])];
    let bytes = model(
        17,
        &[1, 1, 3, 4],
        nodes,
        vec![i64_init("s", &[1, 1, 5, 3])],
        &[("y", FLOAT)],
    );
    let (pk, proof, got) = prove_onnx(&bytes, &x);
    let src = |j: usize, n_in: usize, n_out: usize| {
        let c = (j as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5;
        let r = if c.fract() == 0.5 {
            c.floor()
        } else {
            c.round()
        };
        r.clamp(0.0, n_in as f64 - 1.0) as usize
    };
    let mut want = vec![];
    for r in 0..5 {
        for c in 0..3 {
            want.push(x[src(r, 3, 5) * 4 + src(c, 4, 3)]);
        }
    }
    assert_close(&got[0], &want, 1e-3, "resize sizes");
    assert_outputs_bound(&pk, &proof);

    // Upsample (opset 9) [1,1,3,4] by [1,1,2,1.5] → [1,1,6,6]: out[i][j] = in[i/2][⌊j/1.5⌋].
    let nodes = vec![node("Upsample", &["x", "sc"], &["y"], vec![])];
    let bytes = model(
        9,
        &[1, 1, 3, 4],
        nodes,
        vec![f32_init("sc", &[1.0, 1.0, 2.0, 1.5])],
        &[("y", FLOAT)],
    );
    let (pk, proof, got) = prove_onnx(&bytes, &x);
    let mut want = vec![];
    for r in 0..6 {
        for c in 0..6 {
            want.push(x[(r / 2) * 4 + (c as f64 / 1.5).floor() as usize]);
        }
    }
    assert_close(&got[0], &want, 1e-3, "upsample");
    assert_outputs_bound(&pk, &proof);
}

#[test]
fn lp_pool_p1_p2_p3() {
    let x: Vec<f32> = (0..16)
        .map(|i| ((i * 7 % 16) as f32 - 7.5) * 0.25)
        .collect();
    for p in [1i64, 2, 3] {
        let nodes = vec![node(
            "LpPool",
            &["x"],
            &["y"],
            vec![
                ints("kernel_shape", &[2, 3]),
                ints("strides", &[2, 1]),
                ints("pads", &[0, 1, 0, 1]),
                int("p", p),
            ],
        )];
        let bytes = model(17, &[1, 1, 4, 4], nodes, vec![], &[("y", FLOAT)]);
        let (pk, proof, got) = prove_onnx(&bytes, &x);
        // Output 2 × 4: windows of 2 rows × 3 columns, columns padded by one zero each side.
        let mut want = vec![];
        for r in 0..2 {
            for c in 0..4 {
                let mut s = 0f64;
                for dr in 0..2 {
                    for dc in 0..3 {
                        let cc = c + dc;
                        if (1..=4).contains(&cc) {
                            let v = f64::from(x[(2 * r + dr) * 4 + cc - 1]);
                            s += v.abs().powi(p as i32);
                        }
                    }
                }
                want.push(s.powf(1.0 / p as f64) as f32);
            }
        }
        assert_close(&got[0], &want, 5e-3, &format!("LpPool p={p}"));
        assert_outputs_bound(&pk, &proof);
    }
}

#[test]
fn unsupported_variants_are_named() {
    let up = model(
        9,
        &[1, 1, 2, 2],
        vec![node(
            "Upsample",
            &["x", "sc"],
            &["y"],
            vec![string("mode", "linear")],
        )],
        vec![f32_init("sc", &[1.0, 1.0, 2.0, 2.0])],
        &[("y", FLOAT)],
    );
    let e = zkinfer_onnx::load_bytes(&up, None).unwrap_err().to_string();
    assert!(e.contains("linear"), "{e}");
    let rs = model(
        17,
        &[1, 1, 2, 2],
        vec![node(
            "Resize",
            &["x", "", "sc"],
            &["y"],
            vec![string("mode", "linear")],
        )],
        vec![f32_init("sc", &[1.0, 1.0, 2.0, 2.0])],
        &[("y", FLOAT)],
    );
    let e = zkinfer_onnx::load_bytes(&rs, None).unwrap_err().to_string();
    assert!(e.contains("linear"), "{e}");
    let lp = model(
        17,
        &[1, 1, 4, 4],
        vec![node(
            "LpPool",
            &["x"],
            &["y"],
            vec![ints("kernel_shape", &[3, 3]), int("ceil_mode", 1)],
        )],
        vec![],
        &[("y", FLOAT)],
    );
    let e = zkinfer_onnx::load_bytes(&lp, None).unwrap_err().to_string();
    assert!(e.contains("LpPool") && e.contains("ceil_mode"), "{e}");
}

/// Gather and GatherElements whose indices are computed inside the model (an ArgMax feeding a
/// label table, as tree-ensemble exports do), GatherND with computed tuples, and ONNX OneHot:
/// lowered to one-hot selections.
#[test]
fn computed_index_gathers_and_one_hot() {
    let x = [
        0.5f32, -1.0, 2.5, 0.0, //
        -0.5, 1.5, 1.0, 3.0, //
        0.25, 0.75, -2.0, -1.5,
    ];
    // i = ArgMax(x, axis 1, keepdims 0) → [2, 3, 1]; labels[i]; GatherElements(x, j) with
    // j = ArgMin(x, axis 1, keepdims 1) → [[1], [0], [2]]; negative-index table lookup
    // labels[i − 4]; OneHot(i, depth 4, values [−1, 2]) on axis 0.
    let nodes = vec![
        node(
            "ArgMax",
            &["x"],
            &["i"],
            vec![int("axis", 1), int("keepdims", 0)],
        ),
        node("Gather", &["labels", "i"], &["g"], vec![int("axis", 0)]),
        node("Sub", &["i", "four"], &["ineg"], vec![]),
        node("Gather", &["labels", "ineg"], &["gn"], vec![int("axis", 0)]),
        node("ArgMin", &["x"], &["j"], vec![int("axis", 1)]),
        node("GatherElements", &["x", "j"], &["ge"], vec![int("axis", 1)]),
        node(
            "OneHot",
            &["i", "depth", "vals"],
            &["oh"],
            vec![int("axis", 0)],
        ),
        // GatherND with tuples (r, argmax_r − 4): each row's maximum, negative column index.
        node("ArgMax", &["x"], &["a"], vec![int("axis", 1)]),
        node("Sub", &["a", "four"], &["an"], vec![]),
        node("Concat", &["rows", "an"], &["t"], vec![int("axis", 1)]),
        node("GatherND", &["x", "t"], &["gnd"], vec![]),
    ];
    let inits = vec![
        f32_init("labels", &[10.0, -20.0, 30.5, 40.25]),
        i64_init("four", &[4]),
        i64_init("depth", &[4]),
        f32_init("vals", &[-1.0, 2.0]),
        TensorProto {
            dims: vec![3, 1],
            ..i64_init("rows", &[0, 1, 2])
        },
    ];
    let outs = [
        ("g", FLOAT),
        ("gn", FLOAT),
        ("ge", FLOAT),
        ("oh", FLOAT),
        ("gnd", FLOAT),
    ];
    let bytes = model(17, &[3, 4], nodes, inits, &outs);
    let (pk, proof, got) = prove_onnx(&bytes, &x);
    assert_close(&got[0], &[30.5, 40.25, -20.0], 1e-3, "label lookup");
    assert_close(
        &got[1],
        &[30.5, 40.25, -20.0],
        1e-3,
        "negative-index lookup",
    );
    assert_close(&got[2], &[-1.0, -0.5, -2.0], 1e-3, "GatherElements");
    // OneHot on axis 0: oh[c][r] = c == i[r] ? 2 : −1.
    let i = [2usize, 3, 1];
    let want: Vec<f32> = (0..4)
        .flat_map(|c| i.iter().map(move |&r| if r == c { 2.0 } else { -1.0 }))
        .collect();
    assert_close(&got[3], &want, 1e-3, "OneHot");
    assert_close(&got[4], &[2.5, 3.0, 0.75], 1e-3, "GatherND");
    assert_outputs_bound(&pk, &proof);
}

/// Index arithmetic is bounded by the graph, not by the calibration sample: ArgMax and TopK
/// calibrated where the maximum sits last still prove an input whose maximum sits first.
#[test]
fn selections_hold_beyond_their_calibration_sample() {
    let nodes = vec![
        node("ArgMax", &["x"], &["a"], vec![int("axis", 1)]),
        node("TopK", &["x", "k"], &["v", "i"], vec![int("axis", 1)]),
    ];
    let outs = [("a", INT64), ("v", FLOAT), ("i", INT64)];
    let bytes = model(17, &[1, 16], nodes, vec![i64_init("k", &[2])], &outs);
    let g = zkinfer_onnx::load_bytes(&bytes, None).expect("load");
    let late: Vec<f32> = (0..16).map(|i| i as f32 / 8.0 - 1.0).collect();
    let early: Vec<f32> = late.iter().rev().copied().collect();
    let (pk, _) = super::tests::quantize_and_compile(&g, &[vec![late]]);
    let x = pk.graph.quantize_input(pk.graph.inputs[0], &early);
    let proof = prove(&pk, &[x]).expect("prove an input unlike the calibration sample");
    verify(&pk.vk, &proof).expect("verify");
    let out = |o: usize| pk.graph.dequantize(pk.graph.outputs[o], &proof.outputs[o]);
    assert_eq!(out(0), [0.0]);
    assert_eq!(out(2), [0.0, 1.0]);
}
