//! End-to-end tests on ONNX models: the bundled example and peer-corpus models.

use std::path::{Path, PathBuf};

use zkinfer_model::{quant, InputFile, QuantConfig};

use crate::{compile, prove, verify, ModelProof, ProvingKey};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn peer(name: &str) -> Option<PathBuf> {
    let p = root().join("../shared/peer-models/ezkl").join(name);
    p.join("network.onnx").exists().then_some(p)
}

/// Loads, quantizes (calibrated on its own input), compiles; returns the key and the
/// quantized inputs.
pub(crate) fn setup(dir: &Path) -> (ProvingKey, Vec<Vec<i64>>) {
    let inp = InputFile::read(&dir.join("input.json")).expect("input");
    let g =
        zkinfer_onnx::load_path(&dir.join("network.onnx"), inp.shapes.as_deref()).expect("load");
    let sizes: Vec<usize> = g
        .inputs
        .iter()
        .map(|i| g.tensors[i.0].shape.iter().product())
        .collect();
    let samples = inp.samples(&sizes).expect("samples");
    let q = quant::quantize(&g, &samples, &QuantConfig::default()).expect("quantize");
    let inputs: Vec<Vec<i64>> = q
        .inputs
        .iter()
        .zip(&samples[0])
        .map(|(id, x)| q.quantize_input(*id, x))
        .collect();
    (compile(q).expect("compile"), inputs)
}

fn roundtrip(dir: &Path) -> (ProvingKey, ModelProof) {
    let (pk, inputs) = setup(dir);
    let proof = prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");
    let bytes = proof.to_bytes();
    let back = ModelProof::from_bytes(&bytes).expect("decode");
    verify(&pk.vk, &back).expect("verify decoded");
    (pk, proof)
}

#[test]
fn peer_models_roundtrip() {
    for name in [
        "1l_mlp",
        "1l_relu",
        "1l_flatten",
        "1l_conv",
        "4l_relu_conv_fc",
        "lenet_5",
        "1l_average",
    ] {
        let Some(dir) = peer(name) else {
            eprintln!("peer corpus not found; skipping {name}");
            continue;
        };
        eprintln!("{name}");
        roundtrip(&dir);
    }
}
