//! Malformed ONNX files give clear errors, never a panic.

use prost::Message;
use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto};
use zkinfer_onnx::{load_bytes, LoadError};

fn model(node: NodeProto, init: Vec<TensorProto>, opset: i64) -> Vec<u8> {
    let graph = GraphProto {
        node: vec![node],
        initializer: init,
        name: "g".into(),
        ..Default::default()
    };
    let m = ModelProto {
        ir_version: 7,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(graph),
        ..Default::default()
    };
    m.encode_to_vec()
}

fn relu() -> NodeProto {
    NodeProto {
        op_type: "Relu".into(),
        name: "r".into(),
        input: vec!["x".into()],
        output: vec!["y".into()],
        ..Default::default()
    }
}

#[test]
fn random_bytes_are_rejected() {
    let mut seed = 0x1234_5678_u64;
    for len in [0usize, 1, 17, 1000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 33) as u8
            })
            .collect();
        let e = load_bytes(&bytes, None).expect_err("random bytes");
        assert!(
            matches!(e, LoadError::Malformed(_) | LoadError::Tract { .. }),
            "{e}"
        );
    }
}

#[test]
fn truncated_file_is_rejected() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/models/small_cnn/network.onnx");
    let Ok(bytes) = std::fs::read(&p) else {
        println!("{} missing; skipping", p.display());
        return;
    };
    for cut in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 7] {
        let e = load_bytes(&bytes[..cut], None).expect_err("truncated");
        println!("truncated at {cut}: {e}");
    }
}

#[test]
fn huge_tensor_claim_is_rejected() {
    let t = TensorProto {
        name: "w".into(),
        dims: vec![1 << 20, 1 << 20],
        data_type: 1,
        ..Default::default()
    };
    let e = load_bytes(&model(relu(), vec![t], 13), None).expect_err("2^40 elements");
    assert!(e.to_string().contains("claims"), "{e}");
}

#[test]
fn unknown_opset_and_unsupported_op_are_named() {
    let e = load_bytes(&model(relu(), vec![], 999), None).expect_err("opset 999");
    assert!(e.to_string().contains("opset 999"), "{e}");
    // A real exported model with an op zkinfer does not support yet.
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/peer-models/ezkl/lstm_medium/network.onnx");
    let Ok(bytes) = std::fs::read(&p) else {
        println!("{} missing; skipping", p.display());
        return;
    };
    let s = load_bytes(&bytes, None)
        .expect_err("unsupported")
        .to_string();
    assert!(
        s.contains("Scan (ONNX LSTM)") && s.contains("node `LSTM__43`") && s.contains("opset 15"),
        "{s}"
    );
}
