//! CI subset of the conformance corpus: every model here must prove, verify and match its
//! float reference. Skips (with a message) when ../shared/peer-models is absent.

use std::path::PathBuf;

use zkinfer_conformance::{run_model, Status};

const SUBSET: &[&str] = &[
    "lenet_5",
    "1l_mlp",
    "1l_conv",
    "1l_relu",
    "1l_sigmoid",
    "1l_flatten",
    "1l_average",
    "1l_max_pool",
    "1l_concat",
    "1l_pad",
    "1l_reshape",
    "1l_linear",
    "2l_relu_sigmoid_small",
    "2l_relu_small",
    "4l_relu_conv_fc",
    "1l_tanh",
    "1l_softmax",
    "self_attention",
    "1l_where",
    "less",
    "1l_prelu",
    "tril",
    "triu",
    "1l_upsample",
    "1l_conv_transpose",
    "trig",
    "bitshift",
    "integer_div",
    "general_exp",
    "boolean",
    "bitwise_ops",
    "arange",
];

#[test]
fn conformance_subset() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/peer-models/ezkl");
    if !root.exists() {
        eprintln!("peer corpus not found at {}; skipping", root.display());
        return;
    }
    let mut bad = Vec::new();
    for name in SUBSET {
        let o = run_model(&root.join(name));
        eprintln!("{name}: {:?} rel={:.2e}", o.status, o.max_rel);
        if !matches!(o.status, Status::Verified) {
            bad.push(format!("{name}: {:?}", o.status));
        }
    }
    assert!(bad.is_empty(), "conformance failures:\n{}", bad.join("\n"));
}
