//! GGUF (llama.cpp) checkpoints, versions 2 and 3.
//!
//! Layout (all little-endian): magic `GGUF`, `u32` version, `u64` tensor count, `u64` metadata
//! count; the metadata (`string` key, `u32` value type, value); the tensor infos (`string`
//! name, `u32` n_dims, `u64` dims innermost-first, `u32` ggml type, `u64` offset); padding to
//! `general.alignment` (default 32); the data section, which tensor offsets are relative to.
//! A string is a `u64` length and that many bytes.
//!
//! [`Gguf`] is the raw reader (llama.cpp names, dequantized values in row-major order, shape
//! with GGUF dims reversed so that `ne[0]`, the row length, is last). [`GgufWeights`] presents
//! the tensors of a `gpt2`, `llama` or `gemma3` file under Hugging Face names with the values
//! of the Hugging Face checkpoint: it undoes the renaming and the layout changes of llama.cpp's
//! `convert_hf_to_gguf.py` (GPT-2 Conv1D transposes, the Llama q/k row permutation for RoPE,
//! Gemma's `+1` on norm weights), and rebuilds a `config.json` and a `tokenizer.json`.
//!
//! Every count, length and offset read from the file is checked before use; caps bound the
//! memory a hostile header can make the reader allocate.
//!
//! Modules: `parse` (the header), `dequant` (ggml types to f32), `weights` (the Hugging Face
//! view), `hf_config` and `rope_freqs` (the `config.json`, Llama 3 RoPE scaling recovered from
//! `rope_freqs.weight`), `tokenizer` (the `tokenizer.json`).

mod dequant;
mod hf_config;
mod parse;
pub(crate) mod rope_freqs;
pub(crate) mod tokenizer;
pub(crate) use tokenizer::tokenizer_json;
mod weights;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::{FileBytes, Tensor};
use crate::error::{LlmError, Result};
use dequant::dequantize;

pub use weights::{GgufArch, GgufWeights};

/// The most tensors a file may declare.
pub const MAX_TENSORS: u64 = 1 << 20;
/// The most metadata entries a file may declare.
pub const MAX_KV: u64 = 1 << 16;
/// The longest metadata key or tensor name (bytes).
pub const MAX_KEY_LEN: u64 = 1 << 16;
/// The longest string value (bytes); `tokenizer.huggingface.json` can be tens of MB.
pub const MAX_STRING_LEN: u64 = 1 << 27;
/// The most elements of one metadata array (the largest vocabularies have ~2^18 tokens).
pub const MAX_ARRAY_LEN: u64 = 1 << 22;
/// The most array elements in all the metadata together: each costs a 32-byte [`GgufValue`]
/// however few bytes it takes in the file, so this bounds the memory of the values (128 MiB).
pub const MAX_ARRAY_ELEMENTS: u64 = 1 << 22;
/// The deepest nesting of metadata arrays.
pub const MAX_NESTING: usize = 4;
/// The most dimensions of a tensor (`GGML_MAX_DIMS`).
pub const MAX_DIMS: u32 = 4;
/// The largest element count of one tensor.
pub const MAX_ELEMENTS: u64 = 1 << 34;
/// The largest accepted `general.alignment`.
pub const MAX_ALIGNMENT: u64 = 1 << 20;

const DEFAULT_ALIGNMENT: u64 = 32;

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum GgufValue {
    /// `uint8`.
    U8(u8),
    /// `int8`.
    I8(i8),
    /// `uint16`.
    U16(u16),
    /// `int16`.
    I16(i16),
    /// `uint32`.
    U32(u32),
    /// `int32`.
    I32(i32),
    /// `uint64`.
    U64(u64),
    /// `int64`.
    I64(i64),
    /// `float32`.
    F32(f32),
    /// `float64`.
    F64(f64),
    /// `bool`.
    Bool(bool),
    /// `string` (invalid UTF-8 is replaced by U+FFFD).
    String(String),
    /// `array` (of one element type; arrays may nest).
    Array(Vec<GgufValue>),
}

impl GgufValue {
    /// The value as an unsigned integer (any integer type, if non-negative).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            GgufValue::U8(v) => Some(v.into()),
            GgufValue::U16(v) => Some(v.into()),
            GgufValue::U32(v) => Some(v.into()),
            GgufValue::U64(v) => Some(v),
            GgufValue::I8(v) => u64::try_from(v).ok(),
            GgufValue::I16(v) => u64::try_from(v).ok(),
            GgufValue::I32(v) => u64::try_from(v).ok(),
            GgufValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a signed integer (any integer type, if in range).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            GgufValue::I8(v) => Some(v.into()),
            GgufValue::I16(v) => Some(v.into()),
            GgufValue::I32(v) => Some(v.into()),
            GgufValue::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// The value as a float (float types, and integers).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            GgufValue::F32(v) => Some(v.into()),
            GgufValue::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// The value as a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            GgufValue::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            GgufValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an array.
    pub fn as_array(&self) -> Option<&[GgufValue]> {
        match self {
            GgufValue::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The GGUF type name (`"uint32"`, `"array"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            GgufValue::U8(_) => "uint8",
            GgufValue::I8(_) => "int8",
            GgufValue::U16(_) => "uint16",
            GgufValue::I16(_) => "int16",
            GgufValue::U32(_) => "uint32",
            GgufValue::I32(_) => "int32",
            GgufValue::U64(_) => "uint64",
            GgufValue::I64(_) => "int64",
            GgufValue::F32(_) => "float32",
            GgufValue::F64(_) => "float64",
            GgufValue::Bool(_) => "bool",
            GgufValue::String(_) => "string",
            GgufValue::Array(_) => "array",
        }
    }
}

/// A ggml tensor type id (`GGML_TYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GgmlType(pub u32);

/// (id, name, elements per block, bytes per block) of every ggml type with a known layout.
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 40),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
];

impl GgmlType {
    /// `GGML_TYPE_F32`.
    pub const F32: GgmlType = GgmlType(0);
    /// `GGML_TYPE_F16`.
    pub const F16: GgmlType = GgmlType(1);
    /// `GGML_TYPE_Q4_0`.
    pub const Q4_0: GgmlType = GgmlType(2);
    /// `GGML_TYPE_Q8_0`.
    pub const Q8_0: GgmlType = GgmlType(8);
    /// `GGML_TYPE_Q4_K`.
    pub const Q4_K: GgmlType = GgmlType(12);
    /// `GGML_TYPE_Q6_K`.
    pub const Q6_K: GgmlType = GgmlType(14);
    /// `GGML_TYPE_BF16`.
    pub const BF16: GgmlType = GgmlType(30);

    /// The ggml name (`"Q8_0"`), or `None` for an id of unknown layout.
    pub fn name(self) -> Option<&'static str> {
        GGML_TYPES.iter().find(|t| t.0 == self.0).map(|t| t.1)
    }

    /// (elements per block, bytes per block), for a known id.
    pub fn block(self) -> Option<(u64, u64)> {
        GGML_TYPES
            .iter()
            .find(|t| t.0 == self.0)
            .map(|t| (t.2, t.3))
    }

    /// Whether [`Gguf::tensor`] can convert this type to f32.
    pub fn is_supported(self) -> bool {
        matches!(
            self,
            Self::F32 | Self::F16 | Self::BF16 | Self::Q8_0 | Self::Q4_0 | Self::Q4_K | Self::Q6_K
        )
    }

    fn describe(self) -> String {
        match self.name() {
            Some(n) => n.to_string(),
            None => format!("ggml type {}", self.0),
        }
    }
}

/// One tensor's header entry.
#[derive(Clone, Debug, PartialEq)]
pub struct GgufTensorInfo {
    /// The llama.cpp name (`blk.0.attn_q.weight`).
    pub name: String,
    /// The GGUF dims, innermost first (`ne[0]` is the row length).
    pub dims: Vec<u64>,
    /// The ggml type.
    pub ggml_type: GgmlType,
    /// Byte offset relative to the data section.
    pub offset: u64,
    /// Byte size of the data.
    pub nbytes: u64,
}

impl GgufTensorInfo {
    /// The row-major shape (the GGUF dims reversed; a linear weight is `[out, in]`).
    pub fn shape(&self) -> Vec<usize> {
        // every dim is <= MAX_ELEMENTS (checked at open), so it fits in usize on 64-bit targets
        self.dims
            .iter()
            .rev()
            .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
            .collect()
    }

    /// The element count (every dim is at most [`MAX_ELEMENTS`] and so is the product, or a
    /// dim is 0; saturating keeps a hand-made info from overflowing).
    pub fn numel(&self) -> u64 {
        if self.dims.contains(&0) {
            return 0;
        }
        self.dims.iter().fold(1u64, |n, &d| n.saturating_mul(d))
    }
}

/// A parsed GGUF file, memory-mapped; tensor values are converted to f32 on demand.
pub struct Gguf {
    file: String,
    bytes: FileBytes,
    version: u32,
    alignment: u64,
    data_start: usize,
    meta: BTreeMap<String, GgufValue>,
    tensors: Vec<GgufTensorInfo>,
    by_name: HashMap<String, usize>,
}

impl std::fmt::Debug for Gguf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gguf")
            .field("file", &self.file)
            .field("version", &self.version)
            .field("metadata", &self.meta.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl Gguf {
    /// Opens and validates a GGUF file (memory-mapped).
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = FileBytes::open(path)?;
        Self::parse(path.display().to_string(), bytes)
    }

    /// Parses GGUF bytes held in memory (`file` names them in errors).
    pub fn from_bytes(file: &str, bytes: Vec<u8>) -> Result<Self> {
        Self::parse(file.to_string(), FileBytes::Owned(bytes))
    }

    /// The file name, as used in errors.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The GGUF version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The data alignment.
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// A metadata value.
    pub fn meta(&self, key: &str) -> Option<&GgufValue> {
        self.meta.get(key)
    }

    /// Every metadata key, sorted.
    pub fn meta_keys(&self) -> impl Iterator<Item = &str> {
        self.meta.keys().map(String::as_str)
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Option<&str> {
        self.meta("general.architecture")
            .and_then(GgufValue::as_str)
    }

    /// Every tensor info, in file order.
    pub fn tensor_infos(&self) -> &[GgufTensorInfo] {
        &self.tensors
    }

    /// The info of tensor `name` (llama.cpp name).
    pub fn tensor_info(&self, name: &str) -> Option<&GgufTensorInfo> {
        self.by_name.get(name).and_then(|&i| self.tensors.get(i))
    }

    /// Tensor `name` (llama.cpp name) as f32, row-major, shape = GGUF dims reversed.
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        let info = self
            .tensor_info(name)
            .ok_or_else(|| LlmError::MissingTensor {
                name: name.to_string(),
            })?;
        let bytes = self.raw(info)?;
        let data = dequantize(name, info.ggml_type, bytes, info.numel())?;
        Ok(Tensor {
            shape: info.shape(),
            data,
        })
    }

    /// The raw bytes of a tensor.
    fn raw(&self, info: &GgufTensorInfo) -> Result<&[u8]> {
        let start = usize::try_from(info.offset)
            .ok()
            .and_then(|o| self.data_start.checked_add(o));
        let end = usize::try_from(info.nbytes)
            .ok()
            .and_then(|n| start?.checked_add(n));
        match (start, end) {
            (Some(s), Some(e)) => self.bytes.get(s..e),
            _ => None,
        }
        .ok_or_else(|| LlmError::Format {
            file: self.file.clone(),
            reason: format!("tensor `{}`: data out of range", info.name),
        })
    }
}
