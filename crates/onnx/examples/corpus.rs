//! Runs load → float eval → quantize → integer run → check → fidelity over the peer corpus
//! (`../shared/peer-models/ezkl`, relative to the repository root) and prints one line per
//! model. Usage: `cargo run -p zkinfer-onnx --example corpus [--release] [NAME...]`.

use std::path::Path;

use zkinfer_model::{quant, InputFile, QuantConfig};

fn reference(dir: &Path) -> Option<Vec<Vec<f32>>> {
    let text = std::fs::read_to_string(dir.join("float_output.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("output_data")?
        .as_array()?
        .iter()
        .map(|o| {
            o.as_array().map(|a| {
                a.iter()
                    .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
                    .collect()
            })
        })
        .collect()
}

fn one(dir: &Path) -> Result<String, String> {
    let inp = InputFile::read(&dir.join("input.json")).map_err(|e| e.to_string())?;
    let g = zkinfer_onnx::load_path(&dir.join("network.onnx"), inp.shapes.as_deref())
        .map_err(|e| format!("LOAD: {e}"))?;
    let sizes: Vec<usize> = g
        .inputs
        .iter()
        .map(|i| g.tensors[i.0].shape.iter().product())
        .collect();
    let samples = inp.samples(&sizes).map_err(|e| format!("INPUT: {e}"))?;
    let out = zkinfer_model::eval(&g, &samples[0]).map_err(|e| format!("EVAL: {e}"))?;
    let float = match reference(dir) {
        Some(r) => {
            let mut err = 0f32;
            for (a, b) in out.iter().zip(&r) {
                if a.len() != b.len() {
                    return Err(format!(
                        "FLOAT: output length {} vs reference {}",
                        a.len(),
                        b.len()
                    ));
                }
                err = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
                    .fold(err, f32::max);
            }
            format!("float_err={err:.1e}")
        }
        None => "float_ref=none".into(),
    };
    let q = quant::quantize(&g, &samples, &QuantConfig::default())
        .map_err(|e| format!("QUANT: {e} [{float}]"))?;
    let tr = quant::run(&q, &samples[0]).map_err(|e| format!("RUN: {e}"))?;
    quant::check(&q, &tr).map_err(|e| format!("CHECK: {e}"))?;
    let f = quant::fidelity(&g, &q, &samples).map_err(|e| format!("FID: {e}"))?;
    Ok(format!(
        "{float} nodes={} qnodes={} tables={} abs={:.2e} rel={:.2e} argmax={}/{}",
        g.nodes.len(),
        q.nodes.len(),
        q.tables.len(),
        f.max_abs_err,
        f.max_rel_err,
        f.argmax_agree,
        f.argmax_total
    ))
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/peer-models/ezkl");
    let Ok(rd) = std::fs::read_dir(&root) else {
        println!("peer corpus not found at {}; skipping", root.display());
        return;
    };
    let only: Vec<String> = std::env::args().skip(1).collect();
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names.iter().filter(|n| only.is_empty() || only.contains(n)) {
        let t = std::time::Instant::now();
        let r = one(&root.join(n));
        let ms = t.elapsed().as_millis();
        match r {
            Ok(s) => println!("OK   {n:28} {s} ({ms} ms)"),
            Err(e) => println!("FAIL {n:28} {e} ({ms} ms)"),
        }
    }
}
