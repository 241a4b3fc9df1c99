//! The library pipeline on one ONNX model: load → quantize (calibrated) → compile (commit the
//! weights) → prove → verify, with the proof and keys round-tripped through their encodings.
//!
//! `cargo run --release -p zkinfer-prover --example prove_onnx -- [MODEL_DIR]`
//! (default: `examples/models/small_cnn`; a directory with `network.onnx` and an EZKL
//! `input.json`).

use std::path::PathBuf;
use std::time::Instant;

use zkinfer_model::{quant, InputFile, QuantConfig};
use zkinfer_prover::{compile, prove, verify, ModelProof, VerifyingKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("examples/models/small_cnn"), PathBuf::from);
    // 1. Load the float graph and the input (EZKL format).
    let input = InputFile::read(&dir.join("input.json"))?;
    let graph = zkinfer_onnx::load_path(&dir.join("network.onnx"), input.shapes.as_deref())?;
    let sizes: Vec<usize> = graph
        .inputs
        .iter()
        .map(|i| graph.tensors[i.0].shape.iter().product())
        .collect();
    let samples = input.samples(&sizes)?;
    // 2. Quantize, calibrated on the samples.
    let q = quant::quantize(&graph, &samples, &QuantConfig::default())?;
    // 3. Compile: commit every weight once; keys.
    let t = Instant::now();
    let pk = compile(q)?;
    println!(
        "compiled in {:?}; model commitment {}",
        t.elapsed(),
        pk.vk
            .commitment()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    // 4. Prove one inference on quantized inputs.
    let inputs: Vec<Vec<i64>> = pk
        .graph
        .inputs
        .iter()
        .zip(&samples[0])
        .map(|(id, x)| pk.graph.quantize_input(*id, x))
        .collect();
    let t = Instant::now();
    let proof = prove(&pk, &inputs)?;
    let bytes = proof.to_bytes();
    println!("proved in {:?}; proof {} bytes", t.elapsed(), bytes.len());
    // 5. Verify with the verifying key alone (decoded from bytes, as a verifier would).
    let vk = VerifyingKey::from_bytes(&pk.vk.to_bytes())?;
    let t = Instant::now();
    let proof = ModelProof::from_bytes(&bytes)?;
    verify(&vk, &proof)?;
    println!("verified in {:?}", t.elapsed());
    for (id, out) in vk.graph.outputs.iter().zip(&proof.outputs) {
        println!("output: {:?}", vk.graph.dequantize(*id, out));
    }
    Ok(())
}
