//! Peer corpus (`../shared/peer-models/ezkl`, relative to the repository root; skipped with a
//! message when absent): the float evaluator matches onnxruntime's `float_output.json`, and the
//! quantized integer run stays within tolerance of the float graph, checker included.

use std::path::{Path, PathBuf};

use zkinfer_model::{quant, QuantConfig};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/peer-models/ezkl");
    if p.is_dir() {
        Some(p)
    } else {
        println!("peer corpus not found at {}; skipping", p.display());
        None
    }
}

fn reference(dir: &Path) -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(dir.join("float_output.json")).expect("float_output.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["output_data"]
        .as_array()
        .expect("output_data")
        .iter()
        .map(|o| {
            o.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("number") as f32)
                .collect()
        })
        .collect()
}

/// Float-evaluator models: loaded, evaluated, compared with onnxruntime (rel. to 1 + |y|).
const FLOAT: &[&str] = &[
    "1l_average",
    "1l_batch_norm",
    "1l_concat",
    "1l_conv",
    "1l_div",
    "1l_elu",
    "1l_erf",
    "1l_flatten",
    "1l_gelu_noappx",
    "1l_leakyrelu",
    "1l_linear",
    "1l_max_pool",
    "1l_mean",
    "1l_mlp",
    "1l_pad",
    "1l_powf",
    "1l_prelu",
    "1l_relu",
    "1l_reshape",
    "1l_sigmoid",
    "1l_slice",
    "1l_softmax",
    "1l_sqrt",
    "1l_tanh",
    "1l_where",
    "2l_relu_sigmoid",
    "4l_relu_conv_fc",
    "clip",
    "exp",
    "hard_swish",
    "layernorm",
    "lenet_5",
    "large_mlp",
    "log_softmax",
    "softplus",
    "rnn",
];

/// Quantized-fidelity models and their documented tolerance (max abs error relative to the
/// largest |float output|): 16-bit activations, 12-bit per-channel weights.
const QUANT: &[(&str, f64)] = &[
    ("lenet_5", 5e-3),
    ("1l_mlp", 5e-3),
    ("4l_relu_conv_fc", 5e-3),
    ("large_mlp", 5e-3),
    ("1l_conv", 5e-3),
    ("1l_relu", 5e-3),
    ("1l_sigmoid", 5e-3),
    ("1l_tanh", 5e-3),
    ("1l_erf", 5e-3),
    ("1l_gelu_noappx", 5e-3),
    ("1l_softmax", 5e-3),
    ("1l_max_pool", 5e-3),
    ("1l_average", 5e-3),
    ("1l_batch_norm", 5e-3),
    ("1l_leakyrelu", 5e-3),
    ("1l_sqrt", 5e-3),
    ("1l_div", 5e-3),
    ("1l_pad", 5e-3),
    ("1l_concat", 5e-3),
    ("exp", 5e-3),
    ("clip", 5e-3),
    ("layernorm", 5e-3),
];

fn load(dir: &Path) -> (zkinfer_model::FloatGraph, Vec<Vec<Vec<f32>>>) {
    zkinfer_onnx::load_example(dir).expect("load example")
}

#[test]
fn float_evaluator_matches_onnxruntime() {
    let Some(root) = corpus() else { return };
    for name in FLOAT {
        let dir = root.join(name);
        let (g, samples) = load(&dir);
        let out = zkinfer_model::eval(&g, &samples[0]).expect("eval");
        let want = reference(&dir);
        assert_eq!(out.len(), want.len(), "{name}: number of outputs");
        for (a, b) in out.iter().zip(&want) {
            assert_eq!(a.len(), b.len(), "{name}: output length");
            let err = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
                .fold(0.0, f32::max);
            assert!(err < 1e-4, "{name}: float error {err}");
        }
    }
}

#[test]
fn quantized_run_is_faithful_and_checks() {
    let Some(root) = corpus() else { return };
    for (name, tol) in QUANT {
        let (g, samples) = load(&root.join(name));
        let q = quant::quantize(&g, &samples, &QuantConfig::default()).expect("quantize");
        let tr = quant::run(&q, &samples[0]).expect("run");
        quant::check(&q, &tr).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rep = quant::fidelity(&g, &q, &samples).expect("fidelity");
        assert!(rep.max_rel_err <= *tol, "{name}: {rep}");
        assert_eq!(rep.argmax_agree, rep.argmax_total, "{name}: {rep}");
    }
}

#[test]
fn bundled_small_cnn_end_to_end() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/small_cnn");
    let (g, samples) = load(&dir);
    let out = zkinfer_model::eval(&g, &samples[0]).expect("eval");
    let want = reference(&dir);
    let err = out[0]
        .iter()
        .zip(&want[0])
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(err < 1e-5, "float error {err}");
    let q = quant::quantize(&g, &samples, &QuantConfig::default()).expect("quantize");
    let tr = quant::run(&q, &samples[0]).expect("run");
    quant::check(&q, &tr).expect("check");
    let rep = quant::fidelity(&g, &q, &samples).expect("fidelity");
    assert!(
        rep.max_rel_err < 5e-3 && rep.argmax_agree == rep.argmax_total,
        "{rep}"
    );
    // The quantized graph round-trips through serde.
    let json = serde_json::to_string(&q).expect("serialize");
    let back: zkinfer_model::QuantizedGraph = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, q);
}
