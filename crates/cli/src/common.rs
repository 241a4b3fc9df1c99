//! Shared helpers of the model commands: input files, atomic writes, spinners, peak memory,
//! output formatting.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use zkinfer_model::{InputFile, QuantizedGraph};
use zkinfer_prover::ProvingKey;

/// Milliseconds of a duration, as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Milliseconds elapsed since `t`, rounded to 0.001 ms (keeps JSON short).
pub fn ms_since(t: Instant) -> f64 {
    (ms(t.elapsed()) * 1e3).round() / 1e3
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Peak resident set size of this process (`VmHWM` of `/proc/self/status`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// A human-readable byte count.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}, {n} bytes")
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a rename.
/// The temporary file is removed on failure, so `path` is either the old file or the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = stage(path, bytes)?;
    commit(&tmp, path)
}

/// Writes several files; none is renamed into place unless all were written.
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<()> {
    let mut staged: Vec<PathBuf> = Vec::new();
    for (path, bytes) in files {
        match stage(path, bytes) {
            Ok(t) => staged.push(t),
            Err(e) => {
                for t in &staged {
                    let _ = std::fs::remove_file(t);
                }
                return Err(e);
            }
        }
    }
    for (i, (tmp, (path, _))) in staged.iter().zip(files).enumerate() {
        if let Err(e) = commit(tmp, path) {
            for t in &staged[i + 1..] {
                let _ = std::fs::remove_file(t);
            }
            return Err(e);
        }
    }
    Ok(())
}

fn tmp_path(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file path", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    Ok(path.with_file_name(tmp_name))
}

fn stage(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let tmp = tmp_path(path)?;
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(tmp)
}

fn commit(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        anyhow!("cannot write {}: {e}", path.display())
    })
}

/// Reads a whole file with a clear message.
pub fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// A spinner on stderr, shown only when `visible` and stderr is a terminal.
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    /// Starts a spinner with `msg`.
    pub fn start(visible: bool, msg: &str) -> Self {
        if !visible || !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            pb.set_style(style);
        }
        pb.set_message(msg.to_string());
        pb.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(pb))
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(pb) = self.0.take() {
            pb.finish_and_clear();
        }
    }
}

/// Sizes (element counts) of the graph's inputs.
pub fn input_sizes(g: &QuantizedGraph) -> Vec<usize> {
    g.inputs
        .iter()
        .map(|i| g.tensors[i.0].shape.iter().product())
        .collect()
}

/// Shapes of the graph's outputs.
pub fn output_shapes(g: &QuantizedGraph) -> Vec<Vec<usize>> {
    g.outputs
        .iter()
        .map(|o| g.tensors[o.0].shape.clone())
        .collect()
}

/// Reads an EZKL `input.json` (`what`: "input file", "calibration file") with a clear message.
pub fn read_input_file(path: &Path, what: &str) -> Result<InputFile> {
    InputFile::read(path).map_err(|e| {
        let mut msg = format!("{what} {}: {e}", path.display());
        // Python's json.dump writes NaN / Infinity, which are not JSON.
        if let Ok(text) = std::fs::read_to_string(path) {
            if ["NaN", "Infinity"].iter().any(|w| text.contains(w)) {
                msg.push_str(" (NaN and Infinity are not valid input values)");
            }
        }
        anyhow!(msg)
    })
}

/// Reads an EZKL `input.json` and returns its first sample, checked against the graph's inputs.
pub fn read_first_sample(path: &Path, g: &QuantizedGraph) -> Result<Vec<Vec<f32>>> {
    let names: Vec<&str> = g
        .inputs
        .iter()
        .map(|i| g.tensors[i.0].name.as_str())
        .collect();
    // The one rule for input files (`InputFile::for_inputs`), as at compile time.
    let file = read_input_file(path, "input file")?
        .for_inputs(&names)
        .with_context(|| format!("input file {}", path.display()))?;
    let sizes = input_sizes(g);
    let mut samples = file
        .samples(&sizes)
        .with_context(|| format!("input file {}", path.display()))?;
    if samples.is_empty() {
        bail!("input file {}: no sample", path.display());
    }
    Ok(samples.swap_remove(0))
}

/// Quantizes float inputs; warns on stderr when values beyond the calibrated range are clamped.
pub fn quantize_inputs(g: &QuantizedGraph, x: &[Vec<f32>], warn: bool) -> Vec<Vec<i64>> {
    g.inputs
        .iter()
        .zip(x)
        .enumerate()
        .map(|(k, (id, v))| {
            let (lo, hi) = g.input_range(*id);
            let q = g.quantize_input(*id, v);
            if warn {
                let frac = g.tensors[id.0].frac;
                let scale = 2f64.powi(frac);
                let clamped = v
                    .iter()
                    .filter(|&&f| {
                        let s = (f64::from(f) * scale).round();
                        s < lo as f64 || s > hi as f64
                    })
                    .count();
                if clamped > 0 {
                    eprintln!(
                        "warning: input {k}: {clamped} value(s) beyond the calibrated range were clamped"
                    );
                }
            }
            q
        })
        .collect()
}

/// Dequantized outputs of `g` given quantized values.
pub fn dequantize_outputs(g: &QuantizedGraph, outs: &[Vec<i64>]) -> Vec<Vec<f32>> {
    g.outputs
        .iter()
        .zip(outs)
        .map(|(id, q)| g.dequantize(*id, q))
        .collect()
}

/// JSON array of float outputs (non-finite values become null).
pub fn outputs_json(outs: &[Vec<f32>]) -> Value {
    json!(outs)
}

/// Prints outputs for humans (long outputs are abbreviated).
pub fn print_outputs(outs: &[Vec<f32>], shapes: &[Vec<usize>]) {
    const SHOW: usize = 32;
    for (k, (o, s)) in outs.iter().zip(shapes).enumerate() {
        let vals: Vec<String> = o.iter().take(SHOW).map(|v| format!("{v}")).collect();
        let more = if o.len() > SHOW {
            format!(", … ({} more)", o.len() - SHOW)
        } else {
            String::new()
        };
        println!("  output {k} {s:?}: [{}{more}]", vals.join(", "));
    }
}

/// Loads a proving key (`model.zkm`).
///
/// The weight re-commitment is left running in the background (proving waits for it at the
/// weight opening and checks its root there), so it overlaps the integer run.
pub fn load_pk(path: &Path) -> Result<ProvingKey> {
    let bytes = read_file(path, "model")?;
    ProvingKey::from_bytes_background(&bytes)
        .with_context(|| format!("cannot load model {}", path.display()))
}
