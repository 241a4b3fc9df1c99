//! Parsing and validating the GGUF header: a bounds-checked cursor over untrusted bytes.

use std::collections::{BTreeMap, HashMap};

use super::{
    GgmlType, Gguf, GgufTensorInfo, GgufValue, DEFAULT_ALIGNMENT, MAX_ALIGNMENT,
    MAX_ARRAY_ELEMENTS, MAX_ARRAY_LEN, MAX_DIMS, MAX_ELEMENTS, MAX_KEY_LEN, MAX_KV, MAX_NESTING,
    MAX_STRING_LEN, MAX_TENSORS,
};
use crate::error::{LlmError, Result};
use crate::formats::FileBytes;

/// A bounds-checked little-endian cursor over untrusted bytes.
struct Reader<'a> {
    file: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Array elements still allowed.
    budget: u64,
}

impl<'a> Reader<'a> {
    fn err(&self, reason: String) -> LlmError {
        LlmError::Format {
            file: self.file.to_string(),
            reason,
        }
    }

    fn too_large(&self, what: String, value: u64, limit: u64) -> LlmError {
        LlmError::TooLarge {
            file: self.file.to_string(),
            what,
            value,
            limit,
        }
    }

    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                self.err(format!(
                    "truncated at byte {}: {what} needs {n} bytes, {} left",
                    self.pos,
                    self.remaining()
                ))
            })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        self.array::<4>(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        self.array::<8>(what).map(u64::from_le_bytes)
    }

    /// A string of at most `cap` bytes.
    fn string(&mut self, cap: u64, what: &str) -> Result<String> {
        let len = self.u64(what)?;
        if len > cap {
            return Err(self.too_large(format!("length of {what}"), len, cap));
        }
        if len > self.remaining() {
            return Err(self.err(format!(
                "truncated at byte {}: {what} claims {len} bytes, {} left",
                self.pos,
                self.remaining()
            )));
        }
        let s = self.take(len as usize, what)?;
        Ok(String::from_utf8_lossy(s).into_owned())
    }

    /// The smallest encoding of one value of type `ty`, for the plausibility check on counts.
    fn min_size(ty: u32) -> u64 {
        match ty {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            8 | 10..=12 => 8,
            9 => 12,
            _ => 1,
        }
    }

    fn value(&mut self, ty: u32, depth: usize, key: &str) -> Result<GgufValue> {
        Ok(match ty {
            0 => GgufValue::U8(self.array::<1>(key)?[0]),
            1 => GgufValue::I8(i8::from_le_bytes(self.array::<1>(key)?)),
            2 => GgufValue::U16(u16::from_le_bytes(self.array::<2>(key)?)),
            3 => GgufValue::I16(i16::from_le_bytes(self.array::<2>(key)?)),
            4 => GgufValue::U32(self.u32(key)?),
            5 => GgufValue::I32(i32::from_le_bytes(self.array::<4>(key)?)),
            6 => GgufValue::F32(f32::from_le_bytes(self.array::<4>(key)?)),
            7 => match self.array::<1>(key)?[0] {
                0 => GgufValue::Bool(false),
                1 => GgufValue::Bool(true),
                b => return Err(self.err(format!("metadata `{key}`: bool byte {b} is not 0 or 1"))),
            },
            8 => GgufValue::String(self.string(MAX_STRING_LEN, &format!("string of `{key}`"))?),
            9 => {
                if depth >= MAX_NESTING {
                    return Err(self.err(format!(
                        "metadata `{key}`: arrays nested deeper than {MAX_NESTING}"
                    )));
                }
                let elem = self.u32(key)?;
                if elem > 12 {
                    return Err(self.err(format!(
                        "metadata `{key}`: unknown array element type {elem}"
                    )));
                }
                let count = self.u64(key)?;
                if count > MAX_ARRAY_LEN {
                    return Err(self.too_large(
                        format!("length of array `{key}`"),
                        count,
                        MAX_ARRAY_LEN,
                    ));
                }
                let need = count.saturating_mul(Self::min_size(elem));
                if need > self.remaining() {
                    return Err(self.err(format!(
                        "truncated at byte {}: array `{key}` of {count} elements needs at least {need} bytes, {} left",
                        self.pos,
                        self.remaining()
                    )));
                }
                if count > self.budget {
                    return Err(self.too_large(
                        "array elements in the metadata".into(),
                        MAX_ARRAY_ELEMENTS - self.budget + count,
                        MAX_ARRAY_ELEMENTS,
                    ));
                }
                self.budget -= count;
                // count <= remaining bytes and <= 2^24: a safe capacity
                let mut v = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    v.push(self.value(elem, depth + 1, key)?);
                }
                GgufValue::Array(v)
            }
            10 => GgufValue::U64(self.u64(key)?),
            11 => GgufValue::I64(i64::from_le_bytes(self.array::<8>(key)?)),
            12 => GgufValue::F64(f64::from_le_bytes(self.array::<8>(key)?)),
            other => return Err(self.err(format!("metadata `{key}`: unknown value type {other}"))),
        })
    }
}

impl Gguf {
    pub(super) fn parse(file: String, bytes: FileBytes) -> Result<Self> {
        let (version, alignment, data_start, meta, tensors) = {
            let mut r = Reader {
                file: &file,
                bytes: &bytes,
                pos: 0,
                budget: MAX_ARRAY_ELEMENTS,
            };
            let magic = r.take(4, "magic")?;
            if magic != b"GGUF" {
                return Err(r.err(format!("bad magic {magic:02x?} (expected `GGUF`)")));
            }
            let version = r.u32("version")?;
            match version {
                2 | 3 => {}
                1 => return Err(r.err("GGUF version 1 (32-bit counts) is not supported".into())),
                v if v.swap_bytes() == 2 || v.swap_bytes() == 3 => {
                    return Err(r.err("big-endian GGUF is not supported".into()))
                }
                v => return Err(r.err(format!("unsupported GGUF version {v}"))),
            }
            let n_tensors = r.u64("tensor count")?;
            if n_tensors > MAX_TENSORS {
                return Err(r.too_large("tensor count".into(), n_tensors, MAX_TENSORS));
            }
            let n_kv = r.u64("metadata count")?;
            if n_kv > MAX_KV {
                return Err(r.too_large("metadata count".into(), n_kv, MAX_KV));
            }
            // each entry needs at least a key length and a type; each tensor info at least 28 bytes
            let need = n_kv
                .saturating_mul(13)
                .saturating_add(n_tensors.saturating_mul(28));
            if need > r.remaining() {
                return Err(r.err(format!(
                    "truncated: {n_kv} metadata entries and {n_tensors} tensors need at least {need} bytes, {} left",
                    r.remaining()
                )));
            }

            let mut meta = BTreeMap::new();
            for i in 0..n_kv {
                let key = r.string(MAX_KEY_LEN, &format!("key of metadata entry {i}"))?;
                let ty = r.u32(&key)?;
                let value = r.value(ty, 0, &key)?;
                if meta.insert(key.clone(), value).is_some() {
                    return Err(r.err(format!("metadata key `{key}` appears twice")));
                }
            }
            let alignment = match meta.get("general.alignment") {
                None => DEFAULT_ALIGNMENT,
                Some(v) => match v.as_u64() {
                    Some(a) if a.is_power_of_two() && a <= MAX_ALIGNMENT => a,
                    _ => {
                        return Err(r.err(format!(
                            "general.alignment = {v:?} is not a power of two <= {MAX_ALIGNMENT}"
                        )))
                    }
                },
            };

            let mut tensors = Vec::with_capacity(n_tensors as usize);
            for i in 0..n_tensors {
                let name = r.string(MAX_KEY_LEN, &format!("name of tensor {i}"))?;
                let n_dims = r.u32(&name)?;
                if n_dims == 0 || n_dims > MAX_DIMS {
                    return Err(r.err(format!(
                        "tensor `{name}`: {n_dims} dimensions (1 to {MAX_DIMS} allowed)"
                    )));
                }
                let mut dims = Vec::with_capacity(n_dims as usize);
                let mut numel: u64 = 1;
                for _ in 0..n_dims {
                    let d = r.u64(&name)?;
                    numel = numel.saturating_mul(d);
                    dims.push(d);
                }
                // a 0 dim would hide huge others from the product: cap each dim as well
                let widest = dims.iter().copied().max().unwrap_or(0);
                if widest > MAX_ELEMENTS {
                    return Err(r.too_large(
                        format!("dimension of tensor `{name}` (dims {dims:?})"),
                        widest,
                        MAX_ELEMENTS,
                    ));
                }
                if numel > MAX_ELEMENTS {
                    return Err(r.too_large(
                        format!("element count of tensor `{name}` (dims {dims:?})"),
                        numel,
                        MAX_ELEMENTS,
                    ));
                }
                let ggml_type = GgmlType(r.u32(&name)?);
                let offset = r.u64(&name)?;
                let (block, type_size) = ggml_type.block().ok_or_else(|| {
                    r.err(format!(
                        "tensor `{name}`: unknown ggml type {}",
                        ggml_type.0
                    ))
                })?;
                if dims[0] % block != 0 {
                    return Err(r.err(format!(
                        "tensor `{name}`: row length {} is not a multiple of the {} block size {block}",
                        dims[0],
                        ggml_type.describe()
                    )));
                }
                // numel <= 2^34, type_size <= 292: no overflow
                let nbytes = numel / block * type_size;
                if offset % alignment != 0 {
                    return Err(r.err(format!(
                        "tensor `{name}`: offset {offset} is not a multiple of the alignment {alignment}"
                    )));
                }
                tensors.push(GgufTensorInfo {
                    name,
                    dims,
                    ggml_type,
                    offset,
                    nbytes,
                });
            }

            let header_end = r.pos as u64;
            let data_start = header_end.div_ceil(alignment) * alignment;
            let total = bytes.len() as u64;
            for t in &tensors {
                let end = data_start
                    .checked_add(t.offset)
                    .and_then(|s| s.checked_add(t.nbytes));
                match end {
                    Some(end) if end <= total => {}
                    _ => {
                        return Err(r.err(format!(
                            "tensor `{}`: data at offset {} ({} bytes) runs past the end of the file ({total} bytes, data section at {data_start})",
                            t.name, t.offset, t.nbytes
                        )))
                    }
                }
            }
            (version, alignment, data_start, meta, tensors)
        };
        let fmt = |reason: String| LlmError::Format {
            file: file.clone(),
            reason,
        };

        let mut by_name = HashMap::with_capacity(tensors.len());
        for (i, t) in tensors.iter().enumerate() {
            if by_name.insert(t.name.clone(), i).is_some() {
                return Err(fmt(format!("tensor `{}` appears twice", t.name)));
            }
        }
        let mut ranges: Vec<&GgufTensorInfo> = tensors.iter().filter(|t| t.nbytes > 0).collect();
        ranges.sort_by_key(|t| t.offset);
        for pair in ranges.windows(2) {
            if let [a, b] = pair {
                if b.offset < a.offset + a.nbytes {
                    return Err(fmt(format!(
                        "tensors `{}` and `{}` overlap in the data section",
                        a.name, b.name
                    )));
                }
            }
        }
        // data_start <= file length whenever a tensor has data; otherwise clamp
        let data_start = usize::try_from(data_start)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        Ok(Gguf {
            file,
            bytes,
            version,
            alignment,
            data_start,
            meta,
            tensors,
            by_name,
        })
    }
}
