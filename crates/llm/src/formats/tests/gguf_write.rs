//! A minimal GGUF writer for the tests: well-formed by default, every field overridable.

use crate::formats::gguf::{Gguf, GgufValue};

/// Value type ids (`GGUF_TYPE_*`).
pub(super) const T_U8: u32 = 0;
pub(super) const T_U32: u32 = 4;
pub(super) const T_STRING: u32 = 8;
pub(super) const T_ARRAY: u32 = 9;
pub(super) const T_U64: u32 = 10;

/// One tensor entry; `offset` overrides the offset written in the header (the data is still
/// placed at the next aligned position).
pub(super) struct TestTensor {
    pub name: String,
    pub dims: Vec<u64>,
    pub ty: u32,
    pub data: Vec<u8>,
    pub offset: Option<u64>,
}

impl TestTensor {
    /// An F32 tensor with GGUF dims `dims` (innermost first).
    pub fn f32(name: &str, dims: &[u64], values: &[f32]) -> Self {
        Self::raw(
            name,
            dims,
            0,
            values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        )
    }

    pub fn raw(name: &str, dims: &[u64], ty: u32, data: Vec<u8>) -> Self {
        TestTensor {
            name: name.into(),
            dims: dims.to_vec(),
            ty,
            data,
            offset: None,
        }
    }
}

/// A GGUF file under construction.
pub(super) struct GgufFile {
    pub version: u32,
    /// (key, value type, encoded value).
    pub kv: Vec<(String, u32, Vec<u8>)>,
    pub tensors: Vec<TestTensor>,
    pub alignment: u64,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

/// The type id and the encoding of a value (an array's element type from its first element).
pub(super) fn encode(v: &GgufValue) -> (u32, Vec<u8>) {
    let mut b = Vec::new();
    let ty = match v {
        GgufValue::U8(x) => {
            b.push(*x);
            0
        }
        GgufValue::I8(x) => {
            b.extend(x.to_le_bytes());
            1
        }
        GgufValue::U16(x) => {
            b.extend(x.to_le_bytes());
            2
        }
        GgufValue::I16(x) => {
            b.extend(x.to_le_bytes());
            3
        }
        GgufValue::U32(x) => {
            b.extend(x.to_le_bytes());
            4
        }
        GgufValue::I32(x) => {
            b.extend(x.to_le_bytes());
            5
        }
        GgufValue::F32(x) => {
            b.extend(x.to_le_bytes());
            6
        }
        GgufValue::Bool(x) => {
            b.push(u8::from(*x));
            7
        }
        GgufValue::String(s) => {
            put_str(&mut b, s);
            8
        }
        GgufValue::Array(a) => {
            let elem = a.first().map_or(T_U8, |x| encode(x).0);
            b.extend(elem.to_le_bytes());
            b.extend((a.len() as u64).to_le_bytes());
            for x in a {
                b.extend(encode(x).1);
            }
            9
        }
        GgufValue::U64(x) => {
            b.extend(x.to_le_bytes());
            10
        }
        GgufValue::I64(x) => {
            b.extend(x.to_le_bytes());
            11
        }
        GgufValue::F64(x) => {
            b.extend(x.to_le_bytes());
            12
        }
    };
    (ty, b)
}

impl GgufFile {
    pub fn new() -> Self {
        GgufFile {
            version: 3,
            kv: Vec::new(),
            tensors: Vec::new(),
            alignment: 32,
        }
    }

    /// A copy of a parsed file: its metadata, and its tensors as F32 (same names and dims).
    pub fn from_gguf(g: &Gguf) -> Self {
        let mut f = GgufFile::new();
        for k in g.meta_keys() {
            if let Some(v) = g.meta(k) {
                f.kv(k, v.clone());
            }
        }
        for info in g.tensor_infos() {
            let t = g.tensor(&info.name).expect("tensor");
            f.tensors
                .push(TestTensor::f32(&info.name, &info.dims, &t.data));
        }
        f
    }

    pub fn kv(&mut self, key: &str, v: GgufValue) -> &mut Self {
        let (ty, b) = encode(&v);
        self.kv.push((key.into(), ty, b));
        self
    }

    pub fn raw_kv(&mut self, key: &str, ty: u32, bytes: Vec<u8>) -> &mut Self {
        self.kv.push((key.into(), ty, bytes));
        self
    }

    pub fn remove_tensor(&mut self, name: &str) {
        self.tensors.retain(|t| t.name != name);
    }

    pub fn tensor_mut(&mut self, name: &str) -> &mut TestTensor {
        self.tensors
            .iter_mut()
            .find(|t| t.name == name)
            .expect("tensor in test file")
    }

    pub fn bytes(&self) -> Vec<u8> {
        let a = self.alignment as usize;
        let pad = |n: usize| n.div_ceil(a) * a;
        let mut out = b"GGUF".to_vec();
        out.extend(self.version.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.kv.len() as u64).to_le_bytes());
        for (k, ty, b) in &self.kv {
            put_str(&mut out, k);
            out.extend(ty.to_le_bytes());
            out.extend(b);
        }
        let mut offset = 0usize;
        let mut placed = Vec::new();
        for t in &self.tensors {
            put_str(&mut out, &t.name);
            out.extend((t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(t.ty.to_le_bytes());
            out.extend(t.offset.unwrap_or(offset as u64).to_le_bytes());
            placed.push(offset);
            offset = pad(offset + t.data.len());
        }
        out.resize(pad(out.len()), 0);
        let data_start = out.len();
        for (t, at) in self.tensors.iter().zip(placed) {
            out.resize(data_start + at, 0);
            out.extend(&t.data);
        }
        out.resize(data_start + offset, 0);
        out
    }

    pub fn parse(&self) -> crate::Result<Gguf> {
        Gguf::from_bytes("test.gguf", self.bytes())
    }
}
