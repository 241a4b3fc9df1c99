//! Llama 3 RoPE scaling recovered from llama.cpp's `rope_freqs.weight`.
//!
//! The converter does not store the `llama3` parameters; it stores, per frequency
//! `f_i = θ^(-2i/d)`, the divisor `r_i` that turns `f_i` into the scaled frequency:
//! `1` where the wavelength `λ = 2π/f` is below `orig / high`, `factor` above `orig / low`,
//! and `1 / ((1 - s)/factor + s)` in between, with `s = (orig/λ - low) / (high - low)`.
//!
//! `s` is affine in `x = 1/λ`: `s = A·x + B` with `A = orig/(high - low)`,
//! `B = -low/(high - low)`, and the frequencies depend on `(orig, low, high)` only through
//! `(A, B)`. So `factor` is the largest divisor, `(A, B)` is fitted to the intermediate
//! divisors (or chosen inside the bounds the pure ones set), and `low = 1` (the value of
//! every published Llama 3 checkpoint) fixes `high = 1 - 1/B`, `orig = -A/B`. The result is
//! accepted only if it reproduces every divisor.

use crate::config::{Llama3Scaling, Rope};
use crate::error::{LlmError, Result};

/// Relative tolerance on a reproduced frequency (the divisors are stored as f32).
const TOLERANCE: f64 = 1e-5;

fn unsupported(why: String) -> LlmError {
    LlmError::Unsupported(format!(
        "GGUF `rope_freqs.weight` is not a Llama 3 RoPE scaling: {why}"
    ))
}

/// The `llama3` scaling whose frequencies are `θ^(-2i/d) / factors[i]`, `None` when every
/// divisor is 1.
pub(crate) fn llama3_from_factors(
    theta: f64,
    head_dim: usize,
    factors: &[f32],
) -> Result<Option<Llama3Scaling>> {
    if head_dim == 0 || factors.len() != head_dim / 2 {
        return Err(unsupported(format!(
            "{} divisors for a rotary dimension of {head_dim}",
            factors.len()
        )));
    }
    let r: Vec<f64> = factors.iter().map(|&v| f64::from(v)).collect();
    if let Some(bad) = r.iter().find(|v| !(v.is_finite() && **v >= 1.0 - 1e-6)) {
        return Err(unsupported(format!(
            "divisor {bad} is below 1 or not finite"
        )));
    }
    let factor = r.iter().copied().fold(1.0, f64::max);
    if factor - 1.0 <= 1e-6 {
        return Ok(None);
    }
    let freq = |i: usize| theta.powf(-((2 * i) as f64) / head_dim as f64);
    let x = |i: usize| freq(i) / (2.0 * std::f64::consts::PI);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    // x at the hardest pure points: the smallest x kept at divisor 1, the largest at `factor`
    let mut x_high: Option<f64> = None;
    let mut x_low: Option<f64> = None;
    let mut mid: Vec<(f64, f64)> = Vec::new();
    for (i, &ri) in r.iter().enumerate() {
        let xi = x(i);
        if close(ri, 1.0) {
            x_high = Some(x_high.map_or(xi, |h| h.min(xi)));
        } else if close(ri, factor) {
            x_low = Some(x_low.map_or(xi, |l| l.max(xi)));
        } else {
            let s = (1.0 / ri - 1.0 / factor) / (1.0 - 1.0 / factor);
            mid.push((xi, s));
        }
    }
    let (a, b) = match (mid.as_slice(), x_high, x_low) {
        // two or more intermediate points determine the line: take the two farthest apart
        ([first, .., last], _, _) => {
            let (p, q) = if first.0 < last.0 {
                (first, last)
            } else {
                (last, first)
            };
            let a = (q.1 - p.1) / (q.0 - p.0);
            (a, p.1 - a * p.0)
        }
        // one: the steepest slope any bound asks for, and steep enough that B < 0
        ([(xm, sm)], h, l) => {
            let mut a = 2.0 * sm / xm;
            if let Some(h) = h {
                a = a.max((1.0 - sm) / (h - xm));
            }
            if let Some(l) = l {
                a = a.max(sm / (xm - l));
            }
            (a, sm - a * xm)
        }
        // none: s = 0 at the last scaled point, s = 1 at the first unscaled one
        ([], Some(h), Some(l)) => {
            let a = 1.0 / (h - l);
            (a, -a * l)
        }
        ([], None, Some(l)) => (1.0 / l, -1.0),
        ([], _, None) => {
            return Err(unsupported(
                "no frequency is scaled by the largest divisor".into(),
            ))
        }
    };
    if !(a.is_finite() && b.is_finite() && a > 0.0 && b < 0.0) {
        return Err(unsupported(format!(
            "the wavelength bounds are inconsistent (A = {a}, B = {b})"
        )));
    }
    let high = 1.0 - 1.0 / b;
    let orig = -a / b;
    // prefer the round numbers a checkpoint would have, if they reproduce the divisors as well
    let rounded = Llama3Scaling {
        factor: round_to(factor, 1e-4),
        low_freq_factor: 1.0,
        high_freq_factor: round_to(high, 1e-4),
        original_max_positions: round_to(orig, 1e-4),
    };
    let exact = Llama3Scaling {
        factor,
        low_freq_factor: 1.0,
        high_freq_factor: high,
        original_max_positions: orig,
    };
    for s in [rounded, exact] {
        if reproduces(theta, head_dim, &r, &s) {
            return Ok(Some(s));
        }
    }
    Err(unsupported(
        "no (factor, low, high, original context) reproduces the divisors".into(),
    ))
}

/// `v` rounded to an integer if within `rel` of it, else `v`.
fn round_to(v: f64, rel: f64) -> f64 {
    let n = v.round();
    if (v - n).abs() <= rel * v.abs() {
        n
    } else {
        v
    }
}

fn reproduces(theta: f64, head_dim: usize, r: &[f64], s: &Llama3Scaling) -> bool {
    let rope = Rope {
        theta,
        llama3: Some(s.clone()),
        linear_factor: 1.0,
    };
    let got = rope.inv_freq(head_dim);
    got.len() == r.len()
        && got.iter().zip(r).enumerate().all(|(i, (g, ri))| {
            let want = theta.powf(-((2 * i) as f64) / head_dim as f64) / ri;
            (g - want).abs() <= TOLERANCE * want
        })
}
