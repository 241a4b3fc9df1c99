//! Fidelity of the integer run (dequantized) against the float graph.

use serde::{Deserialize, Serialize};

use super::graph::QuantizedGraph;
use super::run::run;
use crate::error::Result;
use crate::eval::eval;
use crate::graph::FloatGraph;

/// Errors over all samples and outputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FidelityReport {
    /// Samples compared.
    pub samples: usize,
    /// max |q − f|.
    pub max_abs_err: f64,
    /// max |q − f| / max(max|f|, 1e-6), per output, maximised.
    pub max_rel_err: f64,
    /// Outputs (per sample) with more than one element whose argmax agrees.
    pub argmax_agree: usize,
    /// Outputs (per sample) with more than one element.
    pub argmax_total: usize,
}

impl std::fmt::Display for FidelityReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fidelity over {} sample(s): max abs err {:.3e}, max rel err {:.3e}, argmax agreement {}/{}",
            self.samples, self.max_abs_err, self.max_rel_err, self.argmax_agree, self.argmax_total
        )
    }
}

fn argmax(v: &[f32]) -> Option<usize> {
    v.iter()
        .enumerate()
        .fold(None, |b: Option<(usize, f32)>, (i, &x)| match b {
            Some((_, bx)) if bx >= x => b,
            _ => Some((i, x)),
        })
        .map(|b| b.0)
}

/// Compares the quantized run with the float graph on each sample.
pub fn fidelity(
    fg: &FloatGraph,
    qg: &QuantizedGraph,
    samples: &[Vec<Vec<f32>>],
) -> Result<FidelityReport> {
    let mut r = FidelityReport {
        samples: samples.len(),
        ..Default::default()
    };
    for s in samples {
        let fl = eval(fg, s)?;
        let tr = run(qg, s)?;
        for (fo, qo) in fl.iter().zip(&qg.outputs) {
            let q = qg.dequantize(*qo, tr.get(*qo).unwrap_or(&[]));
            let scale = fo
                .iter()
                .fold(0.0f64, |m, v| m.max(f64::from(*v).abs()))
                .max(1e-6);
            let err = fo
                .iter()
                .zip(&q)
                .map(|(a, b)| f64::from(a - b).abs())
                .fold(0.0, f64::max);
            r.max_abs_err = r.max_abs_err.max(err);
            r.max_rel_err = r.max_rel_err.max(err / scale);
            if fo.len() > 1 {
                r.argmax_total += 1;
                r.argmax_agree += usize::from(argmax(fo) == argmax(&q));
            }
        }
    }
    Ok(r)
}
