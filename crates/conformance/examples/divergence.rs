//! Debugging aid: where does the quantized integer run of a model part from its float run?
//! Loads a peer-corpus style directory (`network.onnx` + `input.json`), quantizes it
//! calibrated on its own input, runs both, and prints every quantized tensor that maps to a
//! float tensor with its max absolute error, in graph order, flagging the first one whose
//! error exceeds the threshold.
//!
//! `cargo run --release -p zkinfer-conformance --example divergence -- DIR [THRESHOLD]`

use std::path::PathBuf;

use zkinfer_model::{eval::eval_all, quant, InputFile, QuantConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: divergence DIR [THRESHOLD]")?);
    let threshold: f64 = args.next().map_or(Ok(0.05), |s| s.parse())?;
    let inp = InputFile::read(&dir.join("input.json"))?;
    let g = zkinfer_onnx::load_path(&dir.join("network.onnx"), inp.shapes.as_deref())?;
    let sizes: Vec<usize> = g
        .inputs
        .iter()
        .map(|i| g.tensors[i.0].shape.iter().product())
        .collect();
    let samples = inp.samples(&sizes)?;
    let q = quant::quantize(&g, &samples, &QuantConfig::default())?;
    let float = eval_all(&g, &samples[0])?;
    let trace = quant::run(&q, &samples[0])?;
    let mut flagged = false;
    for n in &q.nodes {
        let t = &q.tensors[n.output.0];
        let Some(fid) = t.float_id else { continue };
        let zq = q.dequantize(n.output, &trace.values[n.output.0]);
        let zf = &float[fid.0];
        let err = zq
            .iter()
            .zip(zf)
            .map(|(a, b)| f64::from((a - b).abs()))
            .fold(0.0, f64::max);
        let mark = if err > threshold && !flagged {
            flagged = true;
            "  <== first above threshold"
        } else {
            ""
        };
        println!("{err:10.3e}  {} ({:?}){mark}", n.name, n.op.name());
    }
    Ok(())
}
