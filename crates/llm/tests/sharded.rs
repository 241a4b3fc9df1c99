//! A checkpoint split into shards (`model.safetensors.index.json` + `model-0000N-of-00002.safetensors`)
//! reads the same tensors as the single file, and builds the same greedy pass.

// Helpers outside `#[test]` functions unwrap too (clippy.toml only covers test functions).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use zkinfer_llm::formats::safetensors::HfWeights;
use zkinfer_llm::formats::WeightSource;
use zkinfer_llm::Checkpoint;

fn gpt2() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/llm/gpt2")
}

/// Splits `model.safetensors` into two shard files under `out`, with the index.
fn shard(src: &Path, out: &Path) {
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut names: Vec<&String> = header.keys().filter(|k| *k != "__metadata__").collect();
    names.sort();
    let half = names.len() / 2;
    let mut weight_map = Map::new();
    for (i, part) in [&names[..half], &names[half..]].iter().enumerate() {
        let file = format!("model-{:05}-of-00002.safetensors", i + 1);
        let mut h = Map::new();
        let mut body = Vec::new();
        for name in part.iter() {
            let t = &header[name.as_str()];
            let off = t["data_offsets"].as_array().unwrap();
            let (a, b) = (
                off[0].as_u64().unwrap() as usize,
                off[1].as_u64().unwrap() as usize,
            );
            let start = body.len();
            body.extend_from_slice(&data[a..b]);
            h.insert(
                (*name).clone(),
                json!({"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [start, body.len()]}),
            );
            weight_map.insert((*name).clone(), json!(file));
        }
        let hj = serde_json::to_vec(&Value::Object(h)).unwrap();
        let mut f = (hj.len() as u64).to_le_bytes().to_vec();
        f.extend(hj);
        f.extend(body);
        std::fs::write(out.join(&file), f).unwrap();
    }
    let index = json!({"metadata": {}, "weight_map": weight_map});
    std::fs::write(
        out.join("model.safetensors.index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(src.join(f), out.join(f)).unwrap();
    }
}

#[test]
fn sharded_checkpoint_reads_the_same_tensors() {
    let out = std::env::temp_dir().join(format!("zkinfer-sharded-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    shard(&gpt2(), &out);
    let one = HfWeights::open(&gpt2()).unwrap();
    let many = HfWeights::open(&out).unwrap();
    assert_eq!(one.names(), many.names());
    for name in one.names() {
        assert_eq!(
            one.tensor(&name).unwrap(),
            many.tensor(&name).unwrap(),
            "{name}"
        );
    }
    assert!(Checkpoint::open_hf(&out).is_ok());
    // A shard missing from disk is named.
    std::fs::remove_file(out.join("model-00002-of-00002.safetensors")).unwrap();
    let e = match HfWeights::open(&out) {
        Ok(w) => w
            .names()
            .iter()
            .find_map(|n| w.tensor(n).err())
            .map(|e| e.to_string()),
        Err(e) => Some(e.to_string()),
    };
    assert!(
        e.as_deref()
            .is_some_and(|e| e.contains("model-00002-of-00002")),
        "{e:?}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
