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

    /// The file as it applies to a model whose inputs are named `names`: the one rule every
    /// reader uses (`compile`'s calibration, `prove`, `infer`, the conformance harness).
    ///
    /// - As many `input_data` arrays as inputs: array `k` is input `k`.
    /// - More arrays than inputs: allowed only where the exporter dropped unused arguments —
    ///   every input is named `input`, `input1`, `input2`, … (torch's names for the module's
    ///   positional arguments), and input `inputK` takes array `K` (and shape `K`). This is the
    ///   mapping under which the file's arrays give the exported module its original arguments,
    ///   so the outputs match a reference computed from them. Anything else is refused.
    /// - `input_shapes`, after that selection, may list more shapes than inputs (EZKL example
    ///   files list one per original argument); the first ones are used and the rest ignored.
    ///   Fewer shapes than inputs is refused.
    ///
    /// Fewer arrays than inputs is left to [`InputFile::samples`], which names the sizes.
    pub fn for_inputs(&self, names: &[&str]) -> Result<InputFile> {
        let n = names.len();
        let (data, shapes) = if self.data.len() > n && n > 0 {
            let idx = argument_indices(names).ok_or_else(|| {
                bad(format!(
                    "`input_data` has {} arrays, the model has {n} input(s) ({}); extra arrays \
                     are accepted only when the inputs are named input, input1, input2, … \
                     (arguments the exporter kept)",
                    self.data.len(),
                    names.join(", ")
                ))
            })?;
            let pick = |k: usize, what: &str, len: usize| {
                bad(format!(
                    "input `{}` is argument {k}, but `{what}` has only {len} entries",
                    names[idx.iter().position(|&i| i == k).unwrap_or(0)]
                ))
            };
            let data = idx
                .iter()
                .map(|&k| {
                    self.data
                        .get(k)
                        .cloned()
                        .ok_or_else(|| pick(k, "input_data", self.data.len()))
                })
                .collect::<Result<Vec<_>>>()?;
            let shapes = match &self.shapes {
                Some(s) => Some(
                    idx.iter()
                        .map(|&k| {
                            s.get(k)
                                .cloned()
                                .ok_or_else(|| pick(k, "input_shapes", s.len()))
                        })
                        .collect::<Result<Vec<_>>>()?,
                ),
                None => None,
            };
            (data, shapes)
        } else {
            (self.data.clone(), self.shapes.clone())
        };
        let shapes = match shapes {
            Some(s) if s.len() < data.len() => {
                return Err(bad(format!(
                    "`input_shapes` lists {} shape(s), the model has {} input(s)",
                    s.len(),
                    data.len()
                )))
            }
            Some(mut s) => {
                s.truncate(data.len());
                Some(s)
            }
            None => None,
        };
        Ok(InputFile { data, shapes })
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

/// Argument positions of inputs named `input`, `input1`, `input2`, … (no leading zeros), in
/// order; `None` if any input is named otherwise.
fn argument_indices(names: &[&str]) -> Option<Vec<usize>> {
    names
        .iter()
        .map(|n| match n.strip_prefix("input")? {
            "" => Some(0),
            k if !k.starts_with('0') => k.parse().ok(),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod for_inputs_tests {
    use super::InputFile;

    fn file(arrays: usize, shapes: Option<usize>) -> InputFile {
        InputFile {
            data: (0..arrays).map(|k| vec![k as f32; 3]).collect(),
            shapes: shapes.map(|n| (0..n).map(|k| vec![k + 1, 3]).collect()),
        }
    }

    #[test]
    fn exact_and_extra_shapes() {
        let f = file(1, Some(3));
        let g = f.for_inputs(&["x"]).expect("extra shapes ignored");
        assert_eq!(g.data, f.data);
        assert_eq!(g.shapes, Some(vec![vec![1, 3]]));
        assert!(file(2, Some(1)).for_inputs(&["a", "b"]).is_err());
        assert_eq!(
            file(2, None).for_inputs(&["a", "b"]).expect("ok"),
            file(2, None)
        );
    }

    #[test]
    fn kept_arguments_follow_input_names() {
        let f = file(4, Some(4));
        let g = f
            .for_inputs(&["input2", "input3"])
            .expect("renamed arguments");
        assert_eq!(g.data, vec![vec![2.0; 3], vec![3.0; 3]]);
        assert_eq!(g.shapes, Some(vec![vec![3, 3], vec![4, 3]]));
        let g = f.for_inputs(&["input", "input1"]).expect("first two");
        assert_eq!(g.data, vec![vec![0.0; 3], vec![1.0; 3]]);
        let err = f
            .for_inputs(&["x", "input1"])
            .expect_err("unnamed")
            .to_string();
        assert!(
            err.contains("4 arrays") && err.contains("x, input1"),
            "{err}"
        );
        assert!(f.for_inputs(&["input9"]).is_err());
        assert!(f.for_inputs(&["input01"]).is_err());
    }
}
