//! End-to-end tests of the `zkinfer` binary: compile → prove → verify on peer-corpus models,
//! tampered and truncated proofs, malformed models and inputs, inspect.
//!
//! The shared fixture is the peer-corpus model `4l_relu_conv_fc` (`../shared/peer-models/ezkl`,
//! relative to the repository root) when present, else the bundled `examples/models/small_cnn`.

// Helpers outside `#[test]` functions unwrap too (clippy.toml only covers test functions).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;
use zkinfer_prover::{ModelProof, VerifyingKey};

mod common;

use common::*;

fn peer(name: &str) -> Option<PathBuf> {
    let p = root().join("../shared/peer-models/ezkl").join(name);
    if p.join("network.onnx").exists() {
        Some(p)
    } else {
        eprintln!(
            "peer corpus model {name} not found at {}; skipping",
            p.display()
        );
        None
    }
}

/// A model compiled and proven once for all tests.
struct Fixture {
    dir: PathBuf,
    model_dir: PathBuf,
    zkm: PathBuf,
    vk: PathBuf,
    proof: PathBuf,
    output: Vec<Vec<f64>>,
}

fn floats(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|o| {
            o.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        remove_stale_dirs();
        let model_dir =
            peer("4l_relu_conv_fc").unwrap_or_else(|| root().join("examples/models/small_cnn"));
        let dir = temp_dir("fixture");
        let keys = dir.join("keys");
        let o = ok(&[
            "compile",
            s(&model_dir.join("network.onnx")),
            "--calibration",
            s(&model_dir.join("input.json")),
            "-o",
            s(&keys),
            "--json",
        ]);
        let c = json_of(&o);
        let commitment = c["commitment"].as_str().unwrap();
        assert_eq!(commitment.len(), 64);
        assert!(commitment.bytes().all(|b| b.is_ascii_hexdigit()));
        for k in ["load", "quantize", "commit", "total"] {
            assert!(c["timings_ms"][k].as_f64().is_some(), "timings_ms.{k}");
        }
        for k in ["max_abs_err", "max_rel_err", "argmax_agree", "argmax_total"] {
            assert!(c["fidelity"][k].is_number(), "fidelity.{k}");
        }
        assert!(c["peak_rss_bytes"].as_u64().unwrap() > 0);
        let (zkm, vk) = (keys.join("model.zkm"), keys.join("model.vk"));
        assert_eq!(
            c["zkm_bytes"].as_u64().unwrap(),
            std::fs::metadata(&zkm).unwrap().len()
        );
        assert_eq!(
            c["vk_bytes"].as_u64().unwrap(),
            std::fs::metadata(&vk).unwrap().len()
        );

        let proof = dir.join("proof.bin");
        let o = ok(&[
            "prove",
            s(&zkm),
            "--input",
            s(&model_dir.join("input.json")),
            "-o",
            s(&proof),
            "--json",
        ]);
        let p = json_of(&o);
        assert_eq!(
            p["proof_bytes"].as_u64().unwrap(),
            std::fs::metadata(&proof).unwrap().len()
        );
        for k in ["load", "run", "prove", "total"] {
            assert!(p["timings_ms"][k].as_f64().is_some(), "timings_ms.{k}");
        }
        assert_eq!(p["output_shapes"], serde_json::json!([[1, 10]]));
        let output = floats(&p["output"]);
        assert_eq!(output[0].len(), 10);
        Fixture {
            dir,
            model_dir,
            zkm,
            vk,
            proof,
            output,
        }
    })
}

fn load_proof(f: &Fixture) -> (VerifyingKey, ModelProof, Vec<u8>) {
    let vk = VerifyingKey::from_bytes(&std::fs::read(&f.vk).unwrap()).unwrap();
    let bytes = std::fs::read(&f.proof).unwrap();
    let p = ModelProof::from_bytes(&bytes).unwrap();
    (vk, p, bytes)
}

/// Verifies `bytes` through the CLI; expects rejection, returns the JSON error object.
fn cli_rejects(f: &Fixture, tag: &str, bytes: &[u8]) -> Value {
    let path = f.dir.join(format!("bad-{tag}.bin"));
    std::fs::write(&path, bytes).unwrap();
    let o = zkinfer(&["verify", s(&path), "--vk", s(&f.vk), "--json"]);
    assert_eq!(o.status.code(), Some(1), "{tag}: accepted or crashed");
    let v = json_of(&o);
    assert_eq!(v["valid"], Value::Bool(false));
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(stderr(&o).contains("error:"));
    v
}

#[test]
fn compile_prove_verify() {
    let f = fixture();
    // JSON verify.
    let o = ok(&["verify", s(&f.proof), "--vk", s(&f.vk), "--json"]);
    let v = json_of(&o);
    assert_eq!(v["valid"], Value::Bool(true));
    assert_eq!(floats(&v["output"]), f.output);
    assert!(v["timings_ms"]["verify"].as_f64().is_some());
    assert!(v["timings_ms"]["key_check"].as_f64().is_some());
    assert!(v["peak_rss_bytes"].as_u64().is_some());
    // Human verify.
    let o = ok(&["verify", s(&f.proof), "--vk", s(&f.vk)]);
    assert!(stdout(&o).contains("valid proof"));
    // Human prove (spinner hidden: stderr is not a terminal) to a second file.
    let p2 = f.dir.join("proof2.bin");
    let o = ok(&[
        "prove",
        s(&f.zkm),
        "--input",
        s(&f.model_dir.join("input.json")),
        "-o",
        s(&p2),
        "--quiet",
    ]);
    assert!(stdout(&o).contains("output"));
    ok(&["verify", s(&p2), "--vk", s(&f.vk)]);
}

/// `prove --masked-sumchecks`: the proof verifies, `verify` reports its kind (and says it is
/// not zero-knowledge), the plain proof is reported as plain; a flipped byte is rejected.
#[test]
fn masked_sumchecks_prove_and_verify() {
    let f = fixture();
    let masked = f.dir.join("masked.bin");
    ok(&[
        "prove",
        s(&f.zkm),
        "--input",
        s(&f.model_dir.join("input.json")),
        "-o",
        s(&masked),
        "--masked-sumchecks",
        "--quiet",
    ]);
    let v = json_of(&ok(&["verify", s(&masked), "--vk", s(&f.vk), "--json"]));
    assert_eq!(v["valid"], Value::Bool(true));
    assert_eq!(v["masked_sumchecks"], Value::Bool(true));
    assert_eq!(floats(&v["output"]), f.output);
    let o = ok(&["verify", s(&masked), "--vk", s(&f.vk)]);
    assert!(stdout(&o).contains("masked sumchecks"));
    assert!(stdout(&o).contains("NOT zero-knowledge"));
    let v = json_of(&ok(&["verify", s(&f.proof), "--vk", s(&f.vk), "--json"]));
    assert_eq!(v["masked_sumchecks"], Value::Bool(false));
    let mut bytes = std::fs::read(&masked).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    cli_rejects(f, "masked-flip", &bytes);
}

#[test]
fn run_matches_prove() {
    let f = fixture();
    let out = f.dir.join("out.json");
    let o = ok(&[
        "run",
        s(&f.zkm),
        "--input",
        s(&f.model_dir.join("input.json")),
        "-o",
        s(&out),
        "--json",
    ]);
    let v = json_of(&o);
    assert_eq!(floats(&v["output"]), f.output);
    assert!(v["timings_ms"].is_object());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(floats(&doc["output_data"]), f.output);
    assert_eq!(doc["output_shapes"], serde_json::json!([[1, 10]]));
    // Human form.
    let o = ok(&[
        "run",
        s(&f.zkm),
        "--input",
        s(&f.model_dir.join("input.json")),
    ]);
    assert!(stdout(&o).contains("output 0 [1, 10]"));
}

#[test]
fn proof_rejected_under_another_models_vk() {
    let f = fixture();
    let keys = f.dir.join("other-keys");
    let (model, cal) = match peer("1l_relu") {
        Some(d) => (d.join("network.onnx"), d.join("input.json")),
        None => {
            let (m, c) = (f.dir.join("other.onnx"), f.dir.join("other.json"));
            std::fs::write(&m, pb::add_model(13)).unwrap();
            std::fs::write(&c, ADD_INPUT).unwrap();
            (m, c)
        }
    };
    ok(&[
        "compile",
        s(&model),
        "--calibration",
        s(&cal),
        "-o",
        s(&keys),
        "--quiet",
    ]);
    let o = zkinfer(&["verify", s(&f.proof), "--vk", s(&keys.join("model.vk"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error:"));
    // A model file where a vk is expected, and the reverse.
    fails(&["verify", s(&f.proof), "--vk", s(&f.zkm)]);
    fails(&["verify", s(&f.vk), "--vk", s(&f.vk)]);
}

#[test]
fn tampered_statement_rejected() {
    let f = fixture();
    let (vk, p, _) = load_proof(f);
    zkinfer_prover::verify(&vk, &p).unwrap();

    let mut bad = p.clone();
    bad.outputs[0][0] += 1;
    let v = cli_rejects(f, "output", &bad.to_bytes());
    eprintln!("changed output: {}", v["error"]);

    let mut bad = p.clone();
    bad.inputs[0][0] += 1;
    let v = cli_rejects(f, "input", &bad.to_bytes());
    eprintln!("changed input: {}", v["error"]);

    let mut bad = p.clone();
    bad.outputs[0].pop();
    cli_rejects(f, "short-output", &bad.to_bytes());
}

#[test]
fn flipped_bytes_rejected() {
    let f = fixture();
    let (vk, _, bytes) = load_proof(f);
    let n = bytes.len();
    let mut accepted = Vec::new();
    for k in 0..64 {
        let off = k * (n - 1) / 63;
        let mut b = bytes.clone();
        b[off] ^= 0x01;
        let ok = ModelProof::from_bytes(&b).is_ok_and(|p| zkinfer_prover::verify(&vk, &p).is_ok());
        if ok {
            accepted.push(off);
        }
    }
    assert!(
        accepted.is_empty(),
        "flips accepted at offsets {accepted:?} of {n}"
    );
    // One flip through the CLI, in the middle of the transcript.
    let mut b = bytes.clone();
    b[n / 2] ^= 0x80;
    let v = cli_rejects(f, "flip", &b);
    eprintln!("flipped byte: {}", v["error"]);
}

#[test]
fn truncated_proof_rejected() {
    let f = fixture();
    let (vk, _, bytes) = load_proof(f);
    let n = bytes.len();
    for len in [0, 3, 9, 10, 11, n / 3, n / 2, n - 8, n - 1] {
        let ok = ModelProof::from_bytes(&bytes[..len])
            .is_ok_and(|p| zkinfer_prover::verify(&vk, &p).is_ok());
        assert!(!ok, "truncation to {len} of {n} bytes accepted");
    }
    cli_rejects(f, "trunc-half", &bytes[..n / 2]);
    // Trailing bytes: the proof encoding is canonical.
    let mut longer = bytes.clone();
    longer.push(0);
    let v = cli_rejects(f, "appended", &longer);
    assert!(v["error"].as_str().unwrap().contains("canonical"), "{v}");
    cli_rejects(f, "trunc-last", &bytes[..n - 1]);
    cli_rejects(f, "empty", &[]);
}

/// A calibration sample the quantized model saturates on is refused by `compile` (the node
/// and the value it needed named, nothing written): `prove` on that very input could not
/// succeed.
#[test]
fn saturating_calibration_is_refused_at_compile() {
    let src = root().join("examples/models/small_cnn");
    let dir = temp_dir("saturate");
    let mut input: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("input.json")).unwrap()).unwrap();
    let n = input["input_data"][0].as_array().unwrap().len();
    input["input_data"] = serde_json::json!([(0..n)
        .map(|i| if i % 2 == 0 { 1e13 } else { -1e13 })
        .collect::<Vec<f64>>()]);
    let cal = dir.join("huge.json");
    std::fs::write(&cal, input.to_string()).unwrap();
    let out = dir.join("out");
    let e = fails(&[
        "compile",
        s(&src.join("network.onnx")),
        "--calibration",
        s(&cal),
        "-o",
        s(&out),
    ]);
    assert!(e.contains("calibration sample 0"), "{e}");
    assert!(e.contains("saturates") && e.contains("needs"), "{e}");
    assert!(!out.exists(), "output directory created");
}

#[test]
fn malformed_onnx_rejected_without_output() {
    let f = fixture();
    let dir = temp_dir("badonnx");
    let cal = f.model_dir.join("input.json");
    let good = std::fs::read(f.model_dir.join("network.onnx")).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random", random),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("truncated-tail", good[..good.len() - 3].to_vec()),
        ("empty", Vec::new()),
    ];
    for (name, bytes) in cases {
        let model = dir.join(format!("{name}.onnx"));
        std::fs::write(&model, bytes).unwrap();
        let out = dir.join(format!("out-{name}"));
        let e = fails(&[
            "compile",
            s(&model),
            "--calibration",
            s(&cal),
            "-o",
            s(&out),
        ]);
        eprintln!("{name}: {}", e.trim());
        assert!(!out.exists(), "{name}: output directory created");
        // inspect reports the same without crashing.
        fails(&["inspect", s(&model)]);
    }
    // Missing file.
    let out = dir.join("out-missing");
    let e = fails(&[
        "compile",
        s(&dir.join("nope.onnx")),
        "--calibration",
        s(&cal),
        "-o",
        s(&out),
    ]);
    assert!(e.contains("nope.onnx"), "{e}");
    assert!(!out.exists());
    // Left only the inputs we wrote.
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(name.ends_with(".onnx"), "stray file {name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_input_rejected_without_output() {
    let f = fixture();
    let dir = temp_dir("badinput");
    let cases = [
        (
            "wrong-length",
            r#"{"input_data": [[1.0, 2.0, 3.0]]}"#,
            "3 values, expected",
        ),
        ("nan", r#"{"input_data": [[NaN]]}"#, "NaN and Infinity"),
        ("infinity", r#"{"input_data": [[1e999]]}"#, ""),
        ("string", r#"{"input_data": [["0.5"]]}"#, "not a number"),
        ("missing-key", r#"{"data": [[0.5]]}"#, "input_data"),
        ("two-inputs", r#"{"input_data": [[0.5], [0.5]]}"#, "inputs"),
        ("not-json", "input_data", "not valid JSON"),
        ("empty", "", "not valid JSON"),
    ];
    for (name, text, needle) in cases {
        let input = dir.join(format!("{name}.json"));
        std::fs::write(&input, text).unwrap();
        let proof = dir.join(format!("{name}.proof"));
        let e = fails(&["prove", s(&f.zkm), "--input", s(&input), "-o", s(&proof)]);
        eprintln!("{name}: {}", e.trim());
        assert!(e.contains(needle), "{name}: message lacks {needle:?}: {e}");
        assert!(
            e.contains(&format!("{name}.json")),
            "{name}: no file name: {e}"
        );
        assert!(!proof.exists(), "{name}: proof written");
        let out = dir.join(format!("{name}.out.json"));
        fails(&["run", s(&f.zkm), "--input", s(&input), "-o", s(&out)]);
        assert!(!out.exists(), "{name}: output written");
        // As calibration data.
        let keys = dir.join(format!("{name}-keys"));
        fails(&[
            "compile",
            s(&f.model_dir.join("network.onnx")),
            "--calibration",
            s(&input),
            "-o",
            s(&keys),
        ]);
        assert!(!keys.exists(), "{name}: keys written");
    }
    // No temporary files left behind.
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(name.ends_with(".json"), "stray file {name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compile_default_calibration_small_cnn() {
    let src = root().join("examples/models/small_cnn");
    let dir = temp_dir("defcal");
    std::fs::copy(src.join("network.onnx"), dir.join("network.onnx")).unwrap();
    let keys = dir.join("keys");
    let e = fails(&["compile", s(&dir.join("network.onnx")), "-o", s(&keys)]);
    assert!(e.contains("--calibration"), "{e}");
    assert!(!keys.exists());

    std::fs::copy(src.join("input.json"), dir.join("input.json")).unwrap();
    let o = ok(&["compile", s(&dir.join("network.onnx")), "-o", s(&keys)]);
    let text = stdout(&o);
    assert!(text.contains("calibrating on"), "{text}");
    assert!(text.contains("input.json"), "{text}");
    assert!(text.contains("model commitment:"), "{text}");
    assert!(text.contains("argmax agreement"), "{text}");
    let proof = dir.join("p");
    ok(&[
        "prove",
        s(&keys.join("model.zkm")),
        "--input",
        s(&dir.join("input.json")),
        "-o",
        s(&proof),
    ]);
    let v = json_of(&ok(&[
        "verify",
        s(&proof),
        "--vk",
        s(&keys.join("model.vk")),
        "--json",
    ]));
    // Close to the onnxruntime reference.
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("float_output.json")).unwrap())
            .unwrap();
    let (got, want) = (floats(&v["output"]), floats(&reference["output_data"]));
    assert_eq!(got[0].len(), want[0].len());
    for (g, w) in got[0].iter().zip(&want[0]) {
        assert!((g - w).abs() < 1e-2, "{got:?} vs {want:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inspect_every_kind() {
    let f = fixture();
    let onnx = f.model_dir.join("network.onnx");
    let v = json_of(&ok(&["inspect", s(&onnx), "--json"]));
    assert_eq!(v["kind"], "onnx");
    assert!(v["params"].as_u64().unwrap() > 0);
    assert!(v["ops"].as_object().is_some_and(|o| !o.is_empty()));
    assert!(v["inputs"][0]["shape"].is_array());

    let m = json_of(&ok(&["inspect", s(&f.zkm), "--json"]));
    assert_eq!(m["kind"], "model");
    let k = json_of(&ok(&["inspect", s(&f.vk), "--json"]));
    assert_eq!(k["kind"], "verifying key");
    assert_eq!(m["commitment"], k["commitment"]);
    assert_eq!(m["weights"], k["weights"]);
    assert!(m["weights"].as_u64().unwrap() > 0);
    assert!(m["ops"].as_object().is_some_and(|o| !o.is_empty()));

    let p = json_of(&ok(&["inspect", s(&f.proof), "--json"]));
    assert_eq!(p["kind"], "proof");
    assert_eq!(p["outputs"], serde_json::json!([10]));
    assert!(p["transcript_bytes"].as_u64().unwrap() > 0);

    for file in [&onnx, &f.zkm, &f.vk, &f.proof] {
        let o = ok(&["inspect", s(file)]);
        assert!(!stdout(&o).is_empty());
    }
    let junk = f.dir.join("junk.bin");
    std::fs::write(&junk, b"hello world, not a model").unwrap();
    fails(&["inspect", s(&junk)]);
    let mut unknown = b"ZKIFXXXX\x01\x00".to_vec();
    unknown.extend_from_slice(&[0; 16]);
    std::fs::write(&junk, unknown).unwrap();
    let e = fails(&["inspect", s(&junk)]);
    assert!(e.contains("unknown kind"), "{e}");
}

/// A reader that closes the pipe early (`zkinfer … | head -1`) ends zkinfer quietly with the
/// SIGPIPE status, not with an "internal error" report.
#[test]
fn closed_stdout_pipe_is_not_a_bug() {
    let f = fixture();
    for args in [
        vec!["inspect", s(&f.proof)],
        vec!["verify", s(&f.proof), "--vk", s(&f.vk)],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zkinfer"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end before the child (still loading its inputs) writes anything.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let e = stderr(&o);
        assert!(!e.contains("internal error"), "{args:?}: {e}");
        // 141 when the write hit the closed pipe; success only if it somehow finished first.
        assert!(
            o.status.code() == Some(141) || o.status.success(),
            "{args:?}: {:?} {e}",
            o.status
        );
    }
}

/// Calibration/input for [`pb::add_model`].
const ADD_INPUT: &str = r#"{"input_data": [[1.0, -2.0, 3.0]], "input_shapes": [[3]]}"#;

/// A minimal protobuf writer for hand-made ONNX models.
mod pb {
    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    pub fn int(out: &mut Vec<u8>, field: u64, v: i64) {
        varint(out, field << 3);
        varint(out, v as u64);
    }
    pub fn bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
        varint(out, (field << 3) | 2);
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }
    fn msg(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut v);
        v
    }
    /// `ValueInfoProto` of a float tensor of shape `[n]`.
    pub fn value_info(name: &str, n: i64) -> Vec<u8> {
        let dim = msg(|d| int(d, 1, n));
        let shape = msg(|s| bytes(s, 1, &dim));
        let tensor = msg(|t| {
            int(t, 1, 1);
            bytes(t, 2, &shape);
        });
        let ty = msg(|t| bytes(t, 1, &tensor));
        msg(|v| {
            bytes(v, 1, name.as_bytes());
            bytes(v, 2, &ty);
        })
    }
    /// `y = x + [0.5, 0.25, -1]`.
    pub fn add_model(opset: i64) -> Vec<u8> {
        model(
            "Add",
            &["x", "w"],
            &[("w", vec![3], vec![0.5, 0.25, -1.0])],
            opset,
        )
    }
    /// A model `y = op(inputs)` with input `x: [3]`, output `y: [3]` and the given
    /// initializers (`name`, dims, raw f32 data).
    pub fn model(
        op: &str,
        inputs: &[&str],
        init: &[(&str, Vec<i64>, Vec<f32>)],
        opset: i64,
    ) -> Vec<u8> {
        let node = msg(|n| {
            for i in inputs {
                bytes(n, 1, i.as_bytes());
            }
            bytes(n, 2, b"y");
            bytes(n, 3, b"node0");
            bytes(n, 4, op.as_bytes());
        });
        let graph = msg(|g| {
            bytes(g, 1, &node);
            bytes(g, 2, b"g");
            for (name, dims, data) in init {
                let t = msg(|t| {
                    for &d in dims {
                        int(t, 1, d);
                    }
                    int(t, 2, 1);
                    bytes(t, 8, name.as_bytes());
                    let raw: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
                    bytes(t, 9, &raw);
                });
                bytes(g, 5, &t);
            }
            bytes(g, 11, &value_info("x", 3));
            bytes(g, 12, &value_info("y", 3));
        });
        let opset = msg(|o| {
            bytes(o, 1, b"");
            int(o, 2, opset);
        });
        msg(|m| {
            int(m, 1, 8);
            bytes(m, 7, &graph);
            bytes(m, 8, &opset);
        })
    }
}

#[test]
fn unknown_opset_and_huge_tensor_rejected() {
    let dir = temp_dir("handmade");
    let cal = dir.join("input.json");
    std::fs::write(
        &cal,
        r#"{"input_data": [[1.0, -2.0, 3.0]], "input_shapes": [[3]]}"#,
    )
    .unwrap();
    // The writer is right: a well-formed model compiles, proves and verifies.
    let good = pb::add_model(13);
    std::fs::write(dir.join("good.onnx"), &good).unwrap();
    let keys = dir.join("good-keys");
    ok(&[
        "compile",
        s(&dir.join("good.onnx")),
        "-o",
        s(&keys),
        "--quiet",
    ]);
    let proof = dir.join("good.proof");
    ok(&[
        "prove",
        s(&keys.join("model.zkm")),
        "--input",
        s(&cal),
        "-o",
        s(&proof),
    ]);
    let v = json_of(&ok(&[
        "verify",
        s(&proof),
        "--vk",
        s(&keys.join("model.vk")),
        "--json",
    ]));
    let out = floats(&v["output"]);
    for (got, want) in out[0].iter().zip([1.5, -1.75, 2.0]) {
        assert!((got - want).abs() < 1e-3, "{out:?}");
    }

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "opset",
            pb::model(
                "Add",
                &["x", "w"],
                &[("w", vec![3], vec![0.5, 0.25, -1.0])],
                999,
            ),
            "opset 999",
        ),
        (
            "huge",
            pb::model(
                "Add",
                &["x", "w"],
                &[("w", vec![1 << 20, 1 << 20, 3], vec![])],
                13,
            ),
            "cap",
        ),
        (
            "negative-dim",
            pb::model("Add", &["x", "w"], &[("w", vec![-3], vec![])], 13),
            "negative",
        ),
        (
            "short-data",
            pb::model("Add", &["x", "w"], &[("w", vec![3], vec![0.5])], 13),
            "",
        ),
        (
            "unknown-op",
            pb::model("NoSuchOp", &["x"], &[], 13),
            "NoSuchOp",
        ),
    ];
    for (name, bytes, needle) in cases {
        let model = dir.join(format!("{name}.onnx"));
        std::fs::write(&model, bytes).unwrap();
        let out = dir.join(format!("{name}-keys"));
        let e = fails(&[
            "compile",
            s(&model),
            "--calibration",
            s(&cal),
            "-o",
            s(&out),
        ]);
        eprintln!("{name}: {}", e.trim());
        assert!(e.contains(needle), "{name}: message lacks {needle:?}: {e}");
        assert!(!out.exists(), "{name}: output directory created");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Input files with more `input_shapes` or `input_data` entries than the model has inputs
/// (EZKL example files list every original argument) are read by one rule in `compile`,
/// `prove` and the conformance harness (`InputFile::for_inputs`): the CLI proves them, and
/// its output matches the file's float reference.
#[test]
fn input_files_with_extra_entries_prove_through_the_cli() {
    for name in ["1l_elu", "trig", "rounding_ops", "bitwise_ops"] {
        let Some(model_dir) = peer(name) else {
            continue;
        };
        let dir = temp_dir(&format!("extra-{name}"));
        let keys = dir.join("keys");
        let input = model_dir.join("input.json");
        ok(&[
            "compile",
            s(&model_dir.join("network.onnx")),
            "--calibration",
            s(&input),
            "-o",
            s(&keys),
            "--json",
        ]);
        let proof = dir.join("proof.bin");
        let p = json_of(&ok(&[
            "prove",
            s(&keys.join("model.zkm")),
            "--input",
            s(&input),
            "-o",
            s(&proof),
            "--json",
        ]));
        ok(&["verify", s(&proof), "--vk", s(&keys.join("model.vk"))]);
        let text = std::fs::read_to_string(model_dir.join("output.json"))
            .or_else(|_| std::fs::read_to_string(model_dir.join("float_output.json")));
        if let Ok(text) = text {
            let want: Value = serde_json::from_str(&text).unwrap();
            let (got, want) = (floats(&p["output"]), floats(&want["output_data"]));
            assert_eq!(got.len(), want.len(), "{name}: outputs");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.len(), w.len(), "{name}: output length");
                for (a, b) in g.iter().zip(w) {
                    assert!(
                        (a - b).abs() <= 0.05 * (1.0 + b.abs()),
                        "{name}: {a} vs {b}"
                    );
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
