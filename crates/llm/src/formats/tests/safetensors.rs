//! safetensors: honest round trips and hostile headers.

use half::{bf16, f16};

use super::{assert_format, assert_too_large, fixture, Rng};
use crate::arch::build;
use crate::config::LlmConfig;
use crate::error::LlmError;
use crate::formats::safetensors::{HfWeights, MAX_HEADER_LEN};
use crate::formats::WeightSource;

/// `n` (8 bytes LE), the header, the data.
fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend(header.as_bytes());
    b.extend(data);
    b
}

fn open(header: &str, data: &[u8]) -> crate::Result<HfWeights> {
    HfWeights::from_bytes("t.safetensors", file(header, data))
}

/// One F32 `[2, 2]`, one F16 `[3]`, one BF16 `[1]`, and metadata.
fn valid() -> (String, Vec<u8>) {
    let mut data: Vec<u8> = [1.0f32, -2.0, 0.5, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    data.extend(
        [0.25f32, -1.0, 8.0]
            .iter()
            .flat_map(|v| f16::from_f32(*v).to_le_bytes()),
    );
    data.extend(bf16::from_f32(-3.0).to_le_bytes());
    let header = r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},"c":{"dtype":"BF16","shape":[1],"data_offsets":[22,24]}}"#;
    (header.into(), data)
}

#[test]
fn valid_file_round_trips() {
    let (h, d) = valid();
    let w = open(&h, &d).expect("valid");
    assert_eq!(w.names(), ["a", "b", "c"]);
    let a = w.tensor("a").expect("a");
    assert_eq!((a.shape, a.data), (vec![2, 2], vec![1.0, -2.0, 0.5, 4.0]));
    assert_eq!(w.tensor("b").expect("b").data, vec![0.25, -1.0, 8.0]);
    assert_eq!(w.tensor("c").expect("c").data, vec![-3.0]);
    assert_eq!(w.dtype("b"), Some("F16"));
    assert!(matches!(w.tensor("z"), Err(LlmError::MissingTensor { .. })));
}

#[test]
fn every_truncation_is_an_error() {
    let (h, d) = valid();
    let b = file(&h, &d);
    for n in 0..b.len() {
        match HfWeights::from_bytes("t", b[..n].to_vec()) {
            Err(LlmError::Format { .. }) => {}
            other => panic!("prefix of {n} of {} bytes: {other:?}", b.len()),
        }
    }
}

#[test]
fn header_length_is_checked() {
    let (h, d) = valid();
    let mut b = file(&h, &d);
    let n = b.len() as u64;
    b[..8].copy_from_slice(&n.to_le_bytes());
    assert_format(HfWeights::from_bytes("t", b.clone()), "runs past the end");
    b[..8].copy_from_slice(&(MAX_HEADER_LEN + 1).to_le_bytes());
    assert_too_large(HfWeights::from_bytes("t", b.clone()), "header length");
    b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_too_large(HfWeights::from_bytes("t", b), "header length");
    assert_format(open("[1, 2]", &[]), "not a JSON object");
    assert_format(open("{\"a\":", &[]), "not valid JSON");
}

#[test]
fn element_counts_are_capped() {
    let h = r#"{"a":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,16]}}"#;
    assert_too_large(open(h, &[0; 16]), "element count of tensor `a`");
    let h = r#"{"a":{"dtype":"F32","shape":[0,1152921504606846976],"data_offsets":[0,0]}}"#;
    assert_too_large(open(h, &[]), "dimension of tensor `a`");
    let h = r#"{"a":{"dtype":"F32","shape":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17],"data_offsets":[0,0]}}"#;
    assert_format(open(h, &[]), "17 dimensions");
    let h = r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#;
    assert_format(open(h, &[]), "not a non-negative integer");
}

#[test]
fn dtypes_are_checked() {
    let h = r#"{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,1]}}"#;
    assert_format(open(h, &[0]), "unknown dtype `Q4`");
    // a real dtype that is not converted: an error when read
    let h = r#"{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#;
    let w = open(h, &[0; 8]).expect("I32 opens");
    match w.tensor("a") {
        Err(LlmError::BadDtype { dtype, .. }) => assert_eq!(dtype, "I32"),
        other => panic!("{other:?}"),
    }
    let h = r#"{"a":{"shape":[2],"data_offsets":[0,8]}}"#;
    assert_format(open(h, &[0; 8]), "dtype");
}

#[test]
fn byte_ranges_are_checked() {
    let cases = [
        (
            r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#,
            "span 12 bytes",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#,
            "reversed",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}"#,
            "past the end of the data section",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#,
            "exactly 2 entries",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            "overlap",
        ),
        (r#"{"a":[1]}"#, "not an object"),
    ];
    for (h, needle) in cases {
        assert_format(open(h, &[0; 16]), needle);
    }
}

/// The gpt2 fixture's tensors rewritten as F32 safetensors, `edit` applied to the (name,
/// shape, values) list first.
fn gpt2_with(edit: impl FnOnce(&mut Vec<(String, Vec<usize>, Vec<f32>)>)) -> HfWeights {
    let src = HfWeights::open(&fixture("gpt2", "")).expect("gpt2 fixture");
    let mut ts: Vec<(String, Vec<usize>, Vec<f32>)> = src
        .names()
        .into_iter()
        .map(|n| {
            let t = src.tensor(&n).expect("tensor");
            (n, t.shape, t.data)
        })
        .collect();
    edit(&mut ts);
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (n, shape, vals) in &ts {
        let start = data.len();
        data.extend(vals.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            n.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let h = serde_json::Value::Object(header).to_string();
    open(&h, &data).expect("rewritten gpt2")
}

fn gpt2_config() -> LlmConfig {
    let text = std::fs::read_to_string(fixture("gpt2", "config.json")).expect("config");
    LlmConfig::from_json(&serde_json::from_str(&text).expect("json")).expect("config")
}

#[test]
fn build_names_a_missing_or_misshapen_tensor() {
    let cfg = gpt2_config();
    let w = gpt2_with(|ts| ts.retain(|t| t.0 != "transformer.h.0.ln_2.bias"));
    match build(&cfg, &w, 8, 1) {
        Err(LlmError::MissingTensor { name }) => assert_eq!(name, "transformer.h.0.ln_2.bias"),
        other => panic!("{other:?}"),
    }
    let w = gpt2_with(|ts| {
        for t in ts
            .iter_mut()
            .filter(|t| t.0 == "transformer.h.1.attn.c_attn.weight")
        {
            // [64, 192] stored as [192, 64]: the same bytes, the other orientation
            t.1 = vec![192, 64];
        }
    });
    match build(&cfg, &w, 8, 1) {
        Err(LlmError::BadShape {
            name,
            got,
            expected,
        }) => {
            assert_eq!(name, "transformer.h.1.attn.c_attn.weight");
            assert_eq!((got, expected), (vec![192, 64], vec![64, 192]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn mutated_headers_never_panic() {
    let (h, d) = valid();
    let base = file(&h, &d);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..2000 {
        let mut b = base.clone();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(b.len());
            b[i] = match rng.below(3) {
                0 => rng.next() as u8,
                1 => b"0123456789[]{},:\"-e"[rng.below(19)],
                _ => b[i] ^ (1 << rng.below(8)),
            };
        }
        if let Ok(w) = HfWeights::from_bytes("t", b) {
            for n in w.names() {
                let _ = w.tensor(&n);
            }
        }
    }
}
