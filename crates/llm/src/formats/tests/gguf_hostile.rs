//! The GGUF reader on hostile input: each defect is a clear `LlmError`, never a panic, and
//! no count read from the file sizes an allocation before it is checked.

use super::gguf_write::{GgufFile, TestTensor, T_ARRAY, T_STRING, T_U32, T_U64, T_U8};
use super::{assert_format, assert_too_large, Rng};
use crate::error::LlmError;
use crate::formats::gguf::{Gguf, GgufValue, GgufWeights, MAX_ARRAY_ELEMENTS};
use crate::formats::WeightSource;

/// A small valid file: metadata of several types and three tensors.
fn valid() -> GgufFile {
    valid_with_heads(2)
}

fn valid_with_heads(heads: u32) -> GgufFile {
    let mut f = GgufFile::new();
    f.kv("general.architecture", GgufValue::String("llama".into()))
        .kv("llama.attention.head_count", GgufValue::U32(heads))
        .kv(
            "names",
            GgufValue::Array(vec![
                GgufValue::String("x".into()),
                GgufValue::String("y".into()),
            ]),
        );
    f.tensors
        .push(TestTensor::f32("token_embd.weight", &[4, 3], &[0.5; 12]));
    f.tensors
        .push(TestTensor::f32("blk.0.attn_q.weight", &[4, 4], &[1.0; 16]));
    f.tensors.push(TestTensor::raw(
        "output_norm.weight",
        &[32],
        8,
        vec![0u8; 34],
    ));
    f
}

#[test]
fn the_valid_file_parses() {
    let g = valid().parse().expect("valid");
    assert_eq!(g.tensor_infos().len(), 3);
    assert_eq!(
        g.tensor("output_norm.weight").expect("q8_0").data,
        vec![0.0; 32]
    );
}

#[test]
fn bad_magic_and_versions() {
    let mut b = valid().bytes();
    b[0] = b'X';
    assert_format(Gguf::from_bytes("t", b), "bad magic");
    let mut f = valid();
    f.version = 1;
    assert_format(f.parse(), "version 1");
    f.version = 3u32.swap_bytes();
    assert_format(f.parse(), "big-endian");
    f.version = 4;
    assert_format(f.parse(), "unsupported GGUF version 4");
    assert_format(Gguf::from_bytes("t", Vec::new()), "truncated");
}

#[test]
fn every_truncation_is_an_error() {
    let b = valid().bytes();
    // the file ends with the 34-byte Q8_0 tensor padded to 64: the padding is optional
    let needed = b.len() - 30;
    for n in 0..b.len() {
        match Gguf::from_bytes("t", b[..n].to_vec()) {
            Err(LlmError::Format { .. }) if n < needed => {}
            Ok(_) if n >= needed => {}
            other => panic!("prefix of {n} of {} bytes: {other:?}", b.len()),
        }
    }
}

#[test]
fn absurd_counts_are_refused_before_allocating() {
    let mut b = valid().bytes();
    b[8..16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert_too_large(Gguf::from_bytes("t", b.clone()), "tensor count");
    b[8..16].copy_from_slice(&3u64.to_le_bytes());
    b[16..24].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert_too_large(Gguf::from_bytes("t", b.clone()), "metadata count");
    // plausible counts that the remaining bytes cannot hold
    b[16..24].copy_from_slice(&60_000u64.to_le_bytes());
    assert_format(Gguf::from_bytes("t", b), "truncated");
}

#[test]
fn tensor_sizes_are_capped() {
    let mut f = valid();
    f.tensor_mut("token_embd.weight").dims = vec![1 << 20, 1 << 20];
    assert_too_large(f.parse(), "element count of tensor `token_embd.weight`");
    // a 0 dim must not hide a huge one
    f.tensor_mut("token_embd.weight").dims = vec![0, 1 << 60];
    assert_too_large(f.parse(), "dimension of tensor `token_embd.weight`");
    // within the caps but not in the file
    f.tensor_mut("token_embd.weight").dims = vec![1 << 16, 1 << 16];
    assert_format(f.parse(), "runs past the end of the file");
    f.tensor_mut("token_embd.weight").dims = vec![4, 3, 1, 1, 1];
    assert_format(f.parse(), "5 dimensions");
    f.tensor_mut("token_embd.weight").dims = vec![];
    assert_format(f.parse(), "0 dimensions");
}

#[test]
fn bad_offsets() {
    let mut f = valid();
    f.tensor_mut("blk.0.attn_q.weight").offset = Some(1 << 20);
    assert_format(f.parse(), "runs past the end of the file");
    f.tensor_mut("blk.0.attn_q.weight").offset = Some(u64::MAX - 31);
    assert_format(f.parse(), "runs past the end of the file");
    f.tensor_mut("blk.0.attn_q.weight").offset = Some(4);
    assert_format(f.parse(), "not a multiple of the alignment");
    f.tensor_mut("blk.0.attn_q.weight").offset = Some(0);
    assert_format(f.parse(), "overlap");
}

#[test]
fn bad_types_and_layouts() {
    let mut f = valid();
    f.tensor_mut("output_norm.weight").ty = 1000;
    assert_format(f.parse(), "unknown ggml type 1000");
    // a known layout (Q5_K) that is not converted: an error when read, not when opened
    f.tensor_mut("output_norm.weight").ty = 13;
    f.tensor_mut("output_norm.weight").dims = vec![256];
    f.tensor_mut("output_norm.weight").data = vec![0; 176];
    let g = f.parse().expect("Q5_K parses");
    match g.tensor("output_norm.weight") {
        Err(LlmError::BadDtype { dtype, .. }) => assert_eq!(dtype, "Q5_K"),
        other => panic!("{other:?}"),
    }
    // Q8_0 rows must be whole blocks
    let mut f = valid();
    f.tensor_mut("output_norm.weight").dims = vec![33];
    assert_format(f.parse(), "not a multiple of the Q8_0 block size 32");
    let mut f = valid();
    f.tensor_mut("blk.0.attn_q.weight").name = "token_embd.weight".into();
    assert_format(f.parse(), "appears twice");
    assert!(matches!(
        valid().parse().expect("ok").tensor("nope"),
        Err(LlmError::MissingTensor { .. })
    ));
}

#[test]
fn bad_metadata() {
    let huge = (1u64 << 40).to_le_bytes().to_vec();
    let cases: Vec<(u32, Vec<u8>, &str)> = vec![
        (T_STRING, huge.clone(), "length of string"),
        (
            T_ARRAY,
            [T_U8.to_le_bytes().to_vec(), huge.clone()].concat(),
            "length of array",
        ),
        (13, vec![0; 8], "unknown value type 13"),
        (7, vec![2], "bool byte 2"),
        (
            T_ARRAY,
            [13u32.to_le_bytes().to_vec(), 1u64.to_le_bytes().to_vec()].concat(),
            "unknown array element type",
        ),
        // 2^20 u64 elements claimed, a few bytes present
        (
            T_ARRAY,
            [
                T_U64.to_le_bytes().to_vec(),
                (1u64 << 20).to_le_bytes().to_vec(),
            ]
            .concat(),
            "truncated",
        ),
    ];
    for (ty, bytes, needle) in cases {
        let mut f = valid();
        f.raw_kv("bad", ty, bytes);
        let r = f.parse();
        match &r {
            Err(LlmError::TooLarge { what, .. }) if what.contains(needle) => {}
            Err(LlmError::Format { reason, .. }) if reason.contains(needle) => {}
            other => panic!("{needle}: {other:?}"),
        }
    }
    // nesting
    let mut v = GgufValue::Array(vec![GgufValue::U8(1)]);
    for _ in 0..5 {
        v = GgufValue::Array(vec![v]);
    }
    let mut f = valid();
    f.kv("deep", v);
    assert_format(f.parse(), "nested deeper");
    // duplicate key, bad alignment
    let mut f = valid();
    f.kv("names", GgufValue::U8(1));
    assert_format(f.parse(), "appears twice");
    let mut f = valid();
    f.kv("general.alignment", GgufValue::U32(24));
    assert_format(f.parse(), "general.alignment");
    // a huge key length
    let mut b = valid().bytes();
    b[24..32].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert_too_large(Gguf::from_bytes("t", b), "key of metadata entry 0");
}

#[test]
fn array_elements_are_budgeted_across_the_file() {
    // each array is under the per-array cap, together they exceed the total
    let half = MAX_ARRAY_ELEMENTS / 2 + 1;
    let mut f = GgufFile::new();
    for k in ["a", "b"] {
        let mut bytes = T_U8.to_le_bytes().to_vec();
        bytes.extend(half.to_le_bytes());
        bytes.resize(bytes.len() + half as usize, 7);
        f.raw_kv(k, T_ARRAY, bytes);
    }
    assert_too_large(f.parse(), "array elements in the metadata");
}

#[test]
fn weights_view_rejects_bad_files() {
    // no architecture
    let mut f = GgufFile::new();
    f.kv("x", GgufValue::U32(1));
    assert_format(
        GgufWeights::new(f.parse().expect("parse")),
        "general.architecture",
    );
    // unknown architecture
    let mut f = GgufFile::new();
    f.kv("general.architecture", GgufValue::String("mamba".into()));
    assert!(matches!(
        GgufWeights::new(f.parse().expect("parse")),
        Err(LlmError::Unsupported(_))
    ));
    // q rows that do not split into heads of even size
    assert_format(
        GgufWeights::new(valid_with_heads(3).parse().expect("parse")),
        "do not split into 3 heads",
    );
    // head counts whose double overflows
    let mut f = valid();
    f.kv.retain(|(k, _, _)| k != "llama.attention.head_count");
    f.kv("llama.attention.head_count", GgufValue::U64(u64::MAX));
    assert_format(
        GgufWeights::new(f.parse().expect("parse")),
        "heads of even size",
    );
    // a gpt2 width whose 4x (the default MLP width) overflows: refused by the config, no panic
    let mut f = GgufFile::new();
    f.kv("general.architecture", GgufValue::String("gpt2".into()))
        .kv("gpt2.embedding_length", GgufValue::U64(u64::MAX))
        .kv("gpt2.block_count", GgufValue::U32(1))
        .kv("gpt2.attention.head_count", GgufValue::U32(1))
        .kv("gpt2.context_length", GgufValue::U32(8));
    f.tensors
        .push(TestTensor::f32("token_embd.weight", &[4, 3], &[0.5; 12]));
    let w = GgufWeights::new(f.parse().expect("parse")).expect("weights");
    let c = w.hf_config().expect("rebuilt");
    assert!(matches!(
        crate::LlmConfig::from_json(&c),
        Err(LlmError::Config(_))
    ));
    // a missing tensor through the Hugging Face view
    let w = GgufWeights::new(valid().parse().expect("parse")).expect("weights");
    assert!(matches!(
        w.tensor("model.layers.0.mlp.up_proj.weight"),
        Err(LlmError::MissingTensor { .. })
    ));
    assert_eq!(
        w.gguf_name("model.embed_tokens.weight"),
        Some("token_embd.weight")
    );
}

#[test]
fn hostile_rope_freqs_and_layer_counts_are_errors() {
    let mut f = valid();
    f.kv("llama.embedding_length", GgufValue::U32(4))
        .kv("llama.block_count", GgufValue::U32(1))
        .kv("llama.feed_forward_length", GgufValue::U32(8))
        .kv("llama.rope.dimension_count", GgufValue::U32(2));
    // rope_freqs of the wrong length: refused before it is read
    f.tensors
        .push(TestTensor::f32("rope_freqs.weight", &[64], &[1.0; 64]));
    let w = GgufWeights::new(f.parse().expect("parse")).expect("weights");
    assert_format(w.hf_config(), "rope_freqs.weight");
    // a layer count that would size the layer list
    let mut f = valid();
    f.kv("llama.embedding_length", GgufValue::U32(4))
        .kv("llama.block_count", GgufValue::U64(1 << 50))
        .kv("llama.feed_forward_length", GgufValue::U32(8));
    let w = GgufWeights::new(f.parse().expect("parse")).expect("weights");
    assert_too_large(w.hf_config(), "llama.block_count");
    // a string where a number belongs
    let mut f = valid();
    f.raw_kv("llama.embedding_length", T_U32, 4u32.to_le_bytes().to_vec());
    f.kv("llama.block_count", GgufValue::String("two".into()));
    let w = GgufWeights::new(f.parse().expect("parse")).expect("weights");
    assert!(matches!(w.hf_config(), Err(LlmError::Config(m)) if m.contains("llama.block_count")));
}

/// Random byte flips in the real files: whatever parses must survive every accessor.
#[test]
fn mutated_files_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for name in ["gpt2", "llama", "gemma3"] {
        let Ok(base) = std::fs::read(super::fixture(name, "model.gguf")) else {
            continue;
        };
        // the header (metadata, tokenizer, tensor infos) is where the structure is
        let header_len = base.len().min(16 << 10);
        let mut parsed = 0;
        for _ in 0..300 {
            let mut b = base.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(header_len);
                b[i] = match rng.below(3) {
                    0 => rng.next() as u8,
                    1 => 0xff,
                    _ => b[i] ^ (1 << rng.below(8)),
                };
            }
            if rng.below(8) == 0 {
                b.truncate(rng.below(b.len()));
            }
            let Ok(g) = Gguf::from_bytes("t", b) else {
                continue;
            };
            parsed += 1;
            for info in g.tensor_infos() {
                let _ = g.tensor(&info.name);
            }
            if let Ok(w) = GgufWeights::new(g) {
                if let Ok(c) = w.hf_config() {
                    let _ = crate::LlmConfig::from_json(&c);
                }
                if let Ok(json) = w.tokenizer_json() {
                    let _ = crate::Tokenizer::from_json(&json, None);
                }
                for n in w.names() {
                    let _ = w.tensor(&n);
                }
            }
        }
        assert!(parsed > 0, "{name}: some mutations should still parse");
    }
}

/// A SentencePiece (`llama`-model) vocabulary: `a b ab` with scores.
fn spm_file(scores: Vec<GgufValue>) -> GgufFile {
    let s = |v: &str| GgufValue::String(v.into());
    let mut f = GgufFile::new();
    f.kv("general.architecture", s("llama"))
        .kv("tokenizer.ggml.model", s("llama"))
        .kv(
            "tokenizer.ggml.tokens",
            GgufValue::Array(vec![s("<unk>"), s("a"), s("b"), s("ab")]),
        )
        .kv("tokenizer.ggml.scores", GgufValue::Array(scores))
        .kv("tokenizer.ggml.unknown_token_id", GgufValue::U32(0))
        .kv("tokenizer.ggml.add_space_prefix", GgufValue::Bool(false));
    f
}

#[test]
fn hostile_sentencepiece_vocabularies_are_errors() {
    let ok = spm_file(vec![
        GgufValue::F32(0.0),
        GgufValue::F32(-1.0),
        GgufValue::F32(-2.0),
        GgufValue::F32(-0.5),
    ]);
    let t = crate::Tokenizer::from_gguf(&ok.parse().expect("parse")).expect("tokenizer");
    assert_eq!(t.encode("abba").expect("encode"), vec![3, 2, 1]);
    for (scores, what) in [
        (vec![GgufValue::F32(0.0); 3], "3 entries for 4 tokens"),
        (
            vec![
                GgufValue::F32(0.0),
                GgufValue::F32(f32::NAN),
                GgufValue::F32(0.0),
                GgufValue::F32(0.0),
            ],
            "non-number",
        ),
        (vec![GgufValue::String("x".into()); 4], "non-number"),
    ] {
        let g = spm_file(scores).parse().expect("parse");
        match crate::Tokenizer::from_gguf(&g) {
            Err(LlmError::Tokenizer(m)) => assert!(m.contains(what), "{m}"),
            other => panic!("expected a tokenizer error with `{what}`, got {other:?}"),
        }
    }
}

/// Random byte flips in the SentencePiece fixtures: whatever parses must tokenize or fail
/// cleanly.
#[test]
fn mutated_sentencepiece_files_never_panic() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spm");
    for name in ["llama2_style.gguf", "gemma_style.gguf"] {
        let base = std::fs::read(dir.join(name)).expect("fixture");
        for _ in 0..300 {
            let mut b = base.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            let Ok(g) = Gguf::from_bytes("t", b) else {
                continue;
            };
            if let Ok(t) = crate::Tokenizer::from_gguf(&g) {
                let _ = t.encode("The quick brown fox, été 中文");
                let _ = t.decode(&[1, 2, 3, 300, 100_000]);
            }
        }
    }
}
