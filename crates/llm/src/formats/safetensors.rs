//! Hugging Face safetensors checkpoints: `model.safetensors`, or `model.safetensors.index.json`
//! and its shards.
//!
//! A safetensors file is an 8-byte little-endian header length `n`, then `n` bytes of JSON
//! (`{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//! "__metadata__": {..}}`), then the data section; offsets are relative to the data section.
//! Everything read from the file is untrusted: the header length is capped, every tensor's byte
//! range must lie inside the data section and have exactly `numel * dtype size` bytes (computed
//! with checked arithmetic), element counts are capped, and no two tensors may overlap.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use half::{bf16, f16};
use serde_json::Value;

use super::{FileBytes, Tensor, WeightSource};
use crate::error::{LlmError, Result};

/// The largest accepted JSON header (bytes).
pub const MAX_HEADER_LEN: u64 = 100 << 20;
/// The largest accepted element count of one tensor.
pub const MAX_ELEMENTS: u64 = 1 << 34;
/// The largest accepted `model.safetensors.index.json` (bytes).
pub const MAX_INDEX_LEN: u64 = 100 << 20;
/// The most shards an index may name.
pub const MAX_SHARDS: usize = 1 << 14;

/// The single-file checkpoint name.
pub const SINGLE_FILE: &str = "model.safetensors";
/// The index of a sharded checkpoint.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

const SUPPORTED: &str = "F32, F16, BF16";

/// A safetensors dtype: its name and element size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dtype {
    name: &'static str,
    size: u64,
}

/// Every dtype of the safetensors format with a whole-byte element size.
const DTYPES: &[Dtype] = &[
    Dtype {
        name: "F32",
        size: 4,
    },
    Dtype {
        name: "F16",
        size: 2,
    },
    Dtype {
        name: "BF16",
        size: 2,
    },
    Dtype {
        name: "F64",
        size: 8,
    },
    Dtype {
        name: "I64",
        size: 8,
    },
    Dtype {
        name: "U64",
        size: 8,
    },
    Dtype {
        name: "I32",
        size: 4,
    },
    Dtype {
        name: "U32",
        size: 4,
    },
    Dtype {
        name: "I16",
        size: 2,
    },
    Dtype {
        name: "U16",
        size: 2,
    },
    Dtype {
        name: "I8",
        size: 1,
    },
    Dtype {
        name: "U8",
        size: 1,
    },
    Dtype {
        name: "BOOL",
        size: 1,
    },
    Dtype {
        name: "F8_E4M3",
        size: 1,
    },
    Dtype {
        name: "F8_E5M2",
        size: 1,
    },
    Dtype {
        name: "F8_E8M0",
        size: 1,
    },
    Dtype {
        name: "C64",
        size: 8,
    },
];

/// Where one tensor lives.
#[derive(Clone, Debug)]
struct Entry {
    /// Index into `HfWeights::files`.
    file: usize,
    dtype: Dtype,
    shape: Vec<usize>,
    /// Absolute byte range in the file.
    start: usize,
    end: usize,
}

/// One validated header entry.
struct HeaderTensor {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// The tensors of a Hugging Face checkpoint (one safetensors file or an index and its shards),
/// memory-mapped and validated at open; values are converted to f32 on demand.
pub struct HfWeights {
    /// (display name, bytes) per file.
    files: Vec<(String, FileBytes)>,
    tensors: BTreeMap<String, Entry>,
}

impl std::fmt::Debug for HfWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfWeights")
            .field(
                "files",
                &self.files.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl HfWeights {
    /// Opens the checkpoint of a Hugging Face model directory: `model.safetensors`, or, if that
    /// is absent, `model.safetensors.index.json` and the shards its `weight_map` names (plain
    /// file names inside `dir`). Tensor names must be unique across shards, and every name of
    /// the weight map must be in the shard it names.
    pub fn open(dir: &Path) -> Result<Self> {
        let single = dir.join(SINGLE_FILE);
        if single.is_file() {
            return Self::open_file(&single);
        }
        let index = dir.join(INDEX_FILE);
        if index.is_file() {
            return Self::open_sharded(dir, &index);
        }
        Err(LlmError::Format {
            file: dir.display().to_string(),
            reason: format!("neither {SINGLE_FILE} nor {INDEX_FILE} is present"),
        })
    }

    /// Opens one safetensors file.
    pub fn open_file(path: &Path) -> Result<Self> {
        let bytes = FileBytes::open(path)?;
        let mut w = HfWeights {
            files: Vec::new(),
            tensors: BTreeMap::new(),
        };
        w.add_file(path.display().to_string(), bytes)?;
        Ok(w)
    }

    /// Parses safetensors bytes held in memory (`file` names them in errors).
    pub fn from_bytes(file: &str, bytes: Vec<u8>) -> Result<Self> {
        let mut w = HfWeights {
            files: Vec::new(),
            tensors: BTreeMap::new(),
        };
        w.add_file(file.to_string(), FileBytes::Owned(bytes))?;
        Ok(w)
    }

    /// The safetensors dtype name of `name` (`"F32"`, `"BF16"`, ...), if present.
    pub fn dtype(&self, name: &str) -> Option<&'static str> {
        self.tensors.get(name).map(|e| e.dtype.name)
    }

    /// The file (as displayed in errors) holding `name`, if present.
    pub fn file_of(&self, name: &str) -> Option<&str> {
        let e = self.tensors.get(name)?;
        self.files.get(e.file).map(|(n, _)| n.as_str())
    }

    fn open_sharded(dir: &Path, index: &Path) -> Result<Self> {
        let index_name = index.display().to_string();
        let fmt = |reason: String| LlmError::Format {
            file: index_name.clone(),
            reason,
        };
        let len = std::fs::metadata(index)
            .map_err(|source| LlmError::Io {
                path: index_name.clone(),
                source,
            })?
            .len();
        if len > MAX_INDEX_LEN {
            return Err(LlmError::TooLarge {
                file: index_name,
                what: "index file size".into(),
                value: len,
                limit: MAX_INDEX_LEN,
            });
        }
        let text = std::fs::read(index).map_err(|source| LlmError::Io {
            path: index_name.clone(),
            source,
        })?;
        let json: Value =
            serde_json::from_slice(&text).map_err(|e| fmt(format!("invalid JSON: {e}")))?;
        let map = json
            .get("weight_map")
            .and_then(Value::as_object)
            .ok_or_else(|| fmt("no `weight_map` object".into()))?;
        // shard file -> names the weight map assigns to it
        let mut shards: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (tensor, shard) in map {
            let shard = shard.as_str().ok_or_else(|| {
                fmt(format!(
                    "weight_map entry for tensor `{tensor}` is not a string"
                ))
            })?;
            check_shard_name(shard).map_err(|why| {
                fmt(format!(
                    "weight_map entry for tensor `{tensor}`: shard `{shard}` {why}"
                ))
            })?;
            shards.entry(shard).or_default().push(tensor);
        }
        if shards.is_empty() {
            return Err(fmt("`weight_map` is empty".into()));
        }
        if shards.len() > MAX_SHARDS {
            return Err(LlmError::TooLarge {
                file: index_name,
                what: "shard count".into(),
                value: shards.len() as u64,
                limit: MAX_SHARDS as u64,
            });
        }
        let mut w = HfWeights {
            files: Vec::new(),
            tensors: BTreeMap::new(),
        };
        for (shard, names) in &shards {
            let path = dir.join(shard);
            let bytes = FileBytes::open(&path)?;
            let file_idx = w.files.len();
            w.add_file(path.display().to_string(), bytes)?;
            for name in names {
                if w.tensors.get(*name).map(|e| e.file) != Some(file_idx) {
                    return Err(fmt(format!(
                        "weight_map puts tensor `{name}` in `{shard}`, which does not contain it"
                    )));
                }
            }
        }
        Ok(w)
    }

    /// Validates one file's header and records its tensors (duplicates across files are errors).
    fn add_file(&mut self, file: String, bytes: FileBytes) -> Result<()> {
        let header = parse_header(&file, &bytes)?;
        let idx = self.files.len();
        for t in &header {
            if let Some(prev) = self.tensors.get(&t.name) {
                let other = self
                    .files
                    .get(prev.file)
                    .map(|(n, _)| n.as_str())
                    .unwrap_or("?");
                return Err(LlmError::Format {
                    file,
                    reason: format!("tensor `{}` is also in {other}", t.name),
                });
            }
            self.tensors.insert(
                t.name.clone(),
                Entry {
                    file: idx,
                    dtype: t.dtype,
                    shape: t.shape.clone(),
                    start: t.start,
                    end: t.end,
                },
            );
        }
        self.files.push((file, bytes));
        Ok(())
    }
}

/// Why `name` is not a plain file name (no directories, no `..`), if it is not.
fn check_shard_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.contains(['/', '\\', '\0']) {
        return Err("is not a plain file name");
    }
    let mut comps = Path::new(name).components();
    match (comps.next(), comps.next()) {
        (Some(Component::Normal(c)), None) if c == name => Ok(()),
        _ => Err("is not a plain file name"),
    }
}

/// Reads a little-endian u64 at `at`, if in range.
fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// Validates the header of one safetensors file and returns its tensors with absolute ranges.
fn parse_header(file: &str, bytes: &[u8]) -> Result<Vec<HeaderTensor>> {
    let fmt = |reason: String| LlmError::Format {
        file: file.to_string(),
        reason,
    };
    let total = bytes.len() as u64;
    let n = read_u64(bytes, 0)
        .ok_or_else(|| fmt(format!("truncated: {total} bytes, no 8-byte header length")))?;
    if n > MAX_HEADER_LEN {
        return Err(LlmError::TooLarge {
            file: file.to_string(),
            what: "header length".into(),
            value: n,
            limit: MAX_HEADER_LEN,
        });
    }
    let data_start = 8 + n; // n <= 100 MB: no overflow
    if data_start > total {
        return Err(fmt(format!(
            "truncated: header length {n} runs past the end of the file ({total} bytes)"
        )));
    }
    // data_start <= total = bytes.len(): fits in usize
    let data_start = data_start as usize;
    let data_len = total - data_start as u64;
    let header = &bytes[8..data_start];
    let json: Value = serde_json::from_slice(header)
        .map_err(|e| fmt(format!("header is not valid JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| fmt("header is not a JSON object".into()))?;

    let mut out = Vec::with_capacity(obj.len());
    for (name, info) in obj {
        if name == "__metadata__" {
            continue;
        }
        let bad = |what: String| fmt(format!("tensor `{name}`: {what}"));
        let info = info
            .as_object()
            .ok_or_else(|| bad("entry is not an object".into()))?;
        let dtype_name = info
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing or non-string `dtype`".into()))?;
        let dtype = DTYPES
            .iter()
            .copied()
            .find(|d| d.name == dtype_name)
            .ok_or_else(|| bad(format!("unknown dtype `{}`", truncate(dtype_name))))?;
        let shape_json = info
            .get("shape")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing or non-array `shape`".into()))?;
        if shape_json.len() > 16 {
            return Err(bad(format!("{} dimensions (at most 16)", shape_json.len())));
        }
        let mut numel: u64 = 1;
        let mut shape = Vec::with_capacity(shape_json.len());
        for d in shape_json {
            let d = d
                .as_u64()
                .ok_or_else(|| bad(format!("shape entry {d} is not a non-negative integer")))?;
            numel = numel.saturating_mul(d);
            shape.push(d);
        }
        // a 0 dimension would hide huge others from the product: cap each one as well
        let widest = shape.iter().copied().max().unwrap_or(0);
        if widest > MAX_ELEMENTS {
            return Err(LlmError::TooLarge {
                file: file.to_string(),
                what: format!("dimension of tensor `{name}` (shape {shape:?})"),
                value: widest,
                limit: MAX_ELEMENTS,
            });
        }
        if numel > MAX_ELEMENTS {
            return Err(LlmError::TooLarge {
                file: file.to_string(),
                what: format!("element count of tensor `{name}` (shape {shape:?})"),
                value: numel,
                limit: MAX_ELEMENTS,
            });
        }
        let offsets = info
            .get("data_offsets")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing or non-array `data_offsets`".into()))?;
        let (begin, end) = match offsets.as_slice() {
            [b, e] => (
                b.as_u64()
                    .ok_or_else(|| bad("data_offsets[0] is not an integer".into()))?,
                e.as_u64()
                    .ok_or_else(|| bad("data_offsets[1] is not an integer".into()))?,
            ),
            _ => return Err(bad("data_offsets must have exactly 2 entries".into())),
        };
        if begin > end {
            return Err(bad(format!("data_offsets [{begin}, {end}] are reversed")));
        }
        if end > data_len {
            return Err(bad(format!(
                "data_offsets [{begin}, {end}] run past the end of the data section ({data_len} bytes)"
            )));
        }
        // numel <= 2^34 and size <= 8: no overflow
        let nbytes = numel * dtype.size;
        if end - begin != nbytes {
            return Err(bad(format!(
                "data_offsets [{begin}, {end}] span {} bytes, but shape {shape:?} of {} needs {nbytes}",
                end - begin,
                dtype.name
            )));
        }
        // Ranges lie inside the file, so they and every dimension (<= numel) fit in usize.
        let shape = shape
            .into_iter()
            .map(usize::try_from)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| bad("dimension does not fit in usize".into()))?;
        out.push(HeaderTensor {
            name: name.clone(),
            dtype,
            shape,
            start: data_start + begin as usize,
            end: data_start + end as usize,
        });
    }
    // No two tensors may share bytes.
    let mut by_start: Vec<&HeaderTensor> = out.iter().filter(|t| t.end > t.start).collect();
    by_start.sort_by_key(|t| (t.start, t.end));
    for pair in by_start.windows(2) {
        if let [a, b] = pair {
            if b.start < a.end {
                return Err(fmt(format!(
                    "tensors `{}` and `{}` overlap in the data section",
                    a.name, b.name
                )));
            }
        }
    }
    Ok(out)
}

/// At most 64 characters of an untrusted string, for error messages.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Little-endian bytes of `dtype` to f32.
fn convert(name: &str, dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>> {
    match dtype.name {
        "F32" => Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()),
        "F16" => Ok(bytes
            .chunks_exact(2)
            .map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
            .collect()),
        "BF16" => Ok(bytes
            .chunks_exact(2)
            .map(|c| bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
            .collect()),
        other => Err(LlmError::BadDtype {
            name: name.to_string(),
            dtype: other.to_string(),
            supported: SUPPORTED,
        }),
    }
}

impl WeightSource for HfWeights {
    fn names(&self) -> Vec<String> {
        self.tensors.keys().cloned().collect()
    }

    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.tensors.get(name).map(|e| e.shape.clone())
    }

    fn tensor(&self, name: &str) -> Result<Tensor> {
        let e = self
            .tensors
            .get(name)
            .ok_or_else(|| LlmError::MissingTensor {
                name: name.to_string(),
            })?;
        let bytes = self
            .files
            .get(e.file)
            .and_then(|(_, b)| b.get(e.start..e.end))
            .ok_or_else(|| LlmError::MissingTensor {
                name: name.to_string(),
            })?;
        let data = convert(name, e.dtype, bytes)?;
        Ok(Tensor {
            shape: e.shape.clone(),
            data,
        })
    }
}
