//! Lookup tables: a function sampled on a contiguous integer input domain.

use serde::{Deserialize, Serialize};

use crate::ops::UnaryFn;

/// Index of a table in [`crate::quant::QuantizedGraph::tables`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableId(pub usize);

/// Rows `(in_min + i, outputs[i])` for `i < outputs.len()`:
/// `outputs[i] = clamp(round(f((in_min + i)·2^−in_frac) · 2^out_frac), lo, hi)`.
/// Only the rows are the relation: the quantizer shares one table among all lookups with
/// equal rows, and `func`/`in_frac`/`out_frac` then describe the first of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LookupTable {
    /// Function sampled.
    pub func: UnaryFn,
    /// Fixed-point fraction bits of the input.
    pub in_frac: i32,
    /// Fixed-point fraction bits of the output.
    pub out_frac: i32,
    /// First input value.
    pub in_min: i64,
    /// Output for each input `in_min + i`.
    pub outputs: Vec<i64>,
}

/// 2^e as f64.
pub fn pow2(e: i32) -> f64 {
    2f64.powi(e)
}

impl LookupTable {
    /// Samples `func` on `[in_min, in_min + len)`.
    pub fn build(
        func: UnaryFn,
        in_frac: i32,
        out_frac: i32,
        in_min: i64,
        len: usize,
        lo: i64,
        hi: i64,
    ) -> Self {
        let outputs = (0..len as i64)
            .map(|i| {
                let y = func.eval((in_min + i) as f64 * pow2(-in_frac)) * pow2(out_frac);
                if y.is_nan() {
                    0
                } else {
                    y.round().clamp(lo as f64, hi as f64) as i64
                }
            })
            .collect();
        LookupTable {
            func,
            in_frac,
            out_frac,
            in_min,
            outputs,
        }
    }

    /// Output for input `x`, or None outside the domain.
    pub fn get(&self, x: i64) -> Option<i64> {
        let i = usize::try_from(x.checked_sub(self.in_min)?).ok()?;
        self.outputs.get(i).copied()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.outputs.len()
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }

    /// The (input, output) pairs.
    pub fn rows(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.outputs
            .iter()
            .enumerate()
            .map(move |(i, &y)| (self.in_min + i as i64, y))
    }
}
