//! ONNX casts: float → int64 truncates toward zero, even where tract types int64 as `TDim`.

use prost::Message;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use zkinfer_onnx::load_bytes;

/// ONNX element types used here.
const FLOAT: i32 = 1;
const INT64: i32 = 7;

fn value(name: &str, n: i64) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim: [1, n]
                        .iter()
                        .map(|&d| Dimension {
                            value: Some(dimension::Value::DimValue(d)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn cast(name: &str, from: &str, to: &str, elem: i32) -> NodeProto {
    NodeProto {
        op_type: "Cast".into(),
        name: name.into(),
        input: vec![from.into()],
        output: vec![to.into()],
        attribute: vec![AttributeProto {
            name: "to".into(),
            r#type: 2, // INT
            i: i64::from(elem),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn float_to_int64_and_back_truncates() {
    let graph = GraphProto {
        node: vec![cast("c1", "x", "i", INT64), cast("c2", "i", "y", FLOAT)],
        name: "g".into(),
        input: vec![value("x", 6)],
        output: vec![value("y", 6)],
        ..Default::default()
    };
    let m = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(graph),
        ..Default::default()
    };
    let g = load_bytes(&m.encode_to_vec(), None).expect("load");
    let x = vec![1.447f32, -1.447, 0.99, -0.5, 3.0, -2.0];
    let y = zkinfer_model::eval::eval(&g, &[x]).expect("eval");
    assert_eq!(y[0], vec![1.0, -1.0, 0.0, 0.0, 3.0, -2.0]);
}
