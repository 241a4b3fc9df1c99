//! EZKL-compatible `input.json`: `{"input_data": [[flat row-major numbers per input]],
//! "input_shapes"?: [[dims]], ...}`. Other keys (`output_data`, …) are ignored. A calibration
//! file may hold several samples: `input_data` entries are concatenated samples of each input
//! when their length is a multiple of the input size (see [`InputFile::samples`]).

use serde_json::Value;

use crate::error::{ModelError, Result};

/// Parsed input file.
#[derive(Clone, Debug, PartialEq)]
pub struct InputFile {
    /// One flat array per graph input.
    pub data: Vec<Vec<f32>>,
    /// Optional shape per input.
    pub shapes: Option<Vec<Vec<usize>>>,
}

fn bad(msg: impl Into<String>) -> ModelError {
    ModelError::InvalidInput(msg.into())
}

impl InputFile {
    /// Parses the JSON text.
    pub fn parse(text: &str) -> Result<Self> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad("top level must be an object"))?;
        let data = obj
            .get("input_data")
            .ok_or_else(|| bad("missing key `input_data`"))?;
        let arrays = data
            .as_array()
            .ok_or_else(|| bad("`input_data` must be a list of arrays"))?;
        if arrays.is_empty() {
            return Err(bad("`input_data` is empty"));
        }
        let mut out = Vec::new();
        for (i, a) in arrays.iter().enumerate() {
            let a = a
                .as_array()
                .ok_or_else(|| bad(format!("`input_data[{i}]` must be an array of numbers")))?;
            let mut row = Vec::with_capacity(a.len());
            for (j, x) in a.iter().enumerate() {
                let f = match x {
                    Value::Number(n) => n.as_f64(),
                    Value::Bool(b) => Some(f64::from(u8::from(*b))),
                    _ => None,
                }
                .ok_or_else(|| bad(format!("`input_data[{i}][{j}]` is not a number: {x}")))?;
                if !f.is_finite() || f.abs() > f64::from(f32::MAX) {
                    return Err(bad(format!("`input_data[{i}][{j}]` is not finite")));
                }
                row.push(f as f32);
            }
            out.push(row);
        }
        let shapes = match obj.get("input_shapes") {
            None | Some(Value::Null) => None,
            Some(s) => {
                let s = s
                    .as_array()
                    .ok_or_else(|| bad("`input_shapes` must be a list of shapes"))?;
                let mut shapes = Vec::new();
                for (i, sh) in s.iter().enumerate() {
                    let sh = sh
                        .as_array()
                        .ok_or_else(|| bad(format!("`input_shapes[{i}]` must be a list")))?;
                    let dims = sh
                        .iter()
                        .map(|d| {
                            d.as_u64()
                                .and_then(|d| usize::try_from(d).ok())
                                .filter(|&d| d <= 1 << 32)
                        })
                        .collect::<Option<Vec<usize>>>()
                        .ok_or_else(|| {
                            bad(format!(
                                "`input_shapes[{i}]` must hold non-negative integers"
                            ))
                        })?;
                    shapes.push(dims);
                }
                Some(shapes)
            }
        };
        Ok(InputFile { data: out, shapes })
    }

    /// Reads and parses a file.
    pub fn read(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// Checks the data against the graph's input sizes and splits it into samples (each a
    /// list of per-input arrays). An input array whose length is k times the input size holds
    /// k samples; all inputs must agree on k.
    ///
    /// A model without inputs takes one empty sample; its file may still hold one empty
    /// array (`"input_data": [[]]`, as exporters write for constant models).
    pub fn samples(&self, sizes: &[usize]) -> Result<Vec<Vec<Vec<f32>>>> {
        if sizes.is_empty() {
            if let Some((i, d)) = self.data.iter().enumerate().find(|(_, d)| !d.is_empty()) {
                return Err(bad(format!(
                    "model has no inputs, but input_data[{i}] holds {} values",
                    d.len()
                )));
            }
            return Ok(vec![vec![]]);
        }
        if self.data.len() != sizes.len() {
            return Err(bad(format!(
                "model has {} inputs, input_data has {} arrays",
                sizes.len(),
                self.data.len()
            )));
        }
        let mut k = None;
        for (i, (d, &n)) in self.data.iter().zip(sizes).enumerate() {
            if n == 0 || d.is_empty() || d.len() % n != 0 {
                return Err(bad(format!(
                    "input {i}: {} values, expected {n} (or a multiple, one block per sample)",
                    d.len()
                )));
            }
            let ki = d.len() / n;
            if *k.get_or_insert(ki) != ki {
                return Err(bad("inputs disagree on the number of samples"));
            }
        }
        let k = k.unwrap_or(1);
        Ok((0..k)
            .map(|s| {
                self.data
                    .iter()
                    .zip(sizes)
                    .map(|(d, &n)| d[s * n..(s + 1) * n].to_vec())
                    .collect()
            })
            .collect())
    }
}
