//! A Hugging Face `tokenizer.json` rebuilt from GGUF `tokenizer.ggml.*` metadata.
//!
//! llama.cpp's converter writes a byte-level BPE vocabulary (`tokenizer.ggml.model = "gpt2"`)
//! as the token strings in id order (`tokenizer.ggml.tokens`), their types
//! (`tokenizer.ggml.token_type`: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
//! 6 byte), the merges as `"left right"` strings in rank order (`tokenizer.ggml.merges`), the
//! pre-tokenizer name (`tokenizer.ggml.pre`), the special ids and whether BOS/EOS are added.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{Gguf, GgufValue};
use crate::error::{LlmError, Result};

const TOKEN_CONTROL: i64 = 3;
const TOKEN_USER_DEFINED: i64 = 4;

/// The Llama 3 pre-tokenizer split pattern (llama.cpp `llama-bpe`).
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

fn tok_err(reason: String) -> LlmError {
    LlmError::Tokenizer(reason)
}

fn strings<'a>(g: &'a Gguf, key: &str) -> Result<Option<Vec<&'a str>>> {
    let Some(v) = g.meta(key) else {
        return Ok(None);
    };
    let arr = v
        .as_array()
        .ok_or_else(|| tok_err(format!("GGUF `{key}` is not an array")))?;
    arr.iter()
        .map(|x| {
            x.as_str()
                .ok_or_else(|| tok_err(format!("GGUF `{key}` has a non-string entry")))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

fn id(g: &Gguf, key: &str, n_tokens: usize) -> Result<Option<u64>> {
    match g.meta(key) {
        None => Ok(None),
        Some(v) => {
            let x = v
                .as_u64()
                .ok_or_else(|| tok_err(format!("GGUF `{key}` is not an integer")))?;
            if x as usize >= n_tokens {
                return Err(tok_err(format!(
                    "GGUF `{key}` = {x} is not a token id (< {n_tokens})"
                )));
            }
            Ok(Some(x))
        }
    }
}

fn flag(g: &Gguf, key: &str) -> Result<Option<bool>> {
    g.meta(key)
        .map(|v| {
            v.as_bool()
                .ok_or_else(|| tok_err(format!("GGUF `{key}` is not a bool")))
        })
        .transpose()
}

/// Builds the `tokenizer.json` object.
pub(crate) fn tokenizer_json(g: &Gguf) -> Result<Value> {
    let model = g
        .meta("tokenizer.ggml.model")
        .and_then(GgufValue::as_str)
        .ok_or_else(|| tok_err("GGUF has no string `tokenizer.ggml.model`".into()))?;
    if model != "gpt2" {
        return Err(LlmError::Unsupported(format!(
            "GGUF tokenizer model `{model}` (only byte-level BPE, `gpt2`, is rebuilt)"
        )));
    }
    let tokens = strings(g, "tokenizer.ggml.tokens")?
        .ok_or_else(|| tok_err("GGUF has no `tokenizer.ggml.tokens`".into()))?;
    let n = tokens.len();
    let types: Vec<i64> = match g.meta("tokenizer.ggml.token_type") {
        None => vec![1; n],
        Some(v) => {
            let arr = v
                .as_array()
                .ok_or_else(|| tok_err("`tokenizer.ggml.token_type` is not an array".into()))?;
            if arr.len() != n {
                return Err(tok_err(format!(
                    "`tokenizer.ggml.token_type` has {} entries for {n} tokens",
                    arr.len()
                )));
            }
            arr.iter()
                .map(|x| {
                    x.as_i64().ok_or_else(|| {
                        tok_err("`tokenizer.ggml.token_type` has a non-integer entry".into())
                    })
                })
                .collect::<Result<_>>()?
        }
    };
    let merges = strings(g, "tokenizer.ggml.merges")?.unwrap_or_default();
    let pre = g
        .meta("tokenizer.ggml.pre")
        .and_then(GgufValue::as_str)
        .unwrap_or("default");
    let bos = id(g, "tokenizer.ggml.bos_token_id", n)?;
    let eos = id(g, "tokenizer.ggml.eos_token_id", n)?;
    let add_bos = flag(g, "tokenizer.ggml.add_bos_token")?.unwrap_or(false);
    let add_eos = flag(g, "tokenizer.ggml.add_eos_token")?.unwrap_or(false);

    // vocabulary: first id wins for a repeated string
    let mut vocab = Map::new();
    for (i, t) in tokens.iter().enumerate() {
        if !vocab.contains_key(*t) {
            vocab.insert((*t).to_string(), json!(i));
        }
    }
    let merges = merges
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (a, b) = m
                .split_once(' ')
                .ok_or_else(|| tok_err(format!("merge {i} `{m}` is not `left right`")))?;
            if !vocab.contains_key(a) || !vocab.contains_key(b) {
                return Err(tok_err(format!(
                    "merge {i} `{m}` uses a token not in the vocabulary"
                )));
            }
            Ok(json!([a, b]))
        })
        .collect::<Result<Vec<_>>>()?;

    let mut added = Vec::new();
    for (i, (t, ty)) in tokens.iter().zip(&types).enumerate() {
        if *ty == TOKEN_CONTROL || *ty == TOKEN_USER_DEFINED {
            added.push(json!({
                "id": i,
                "content": t,
                "single_word": false,
                "lstrip": false,
                "rstrip": false,
                "normalized": *ty != TOKEN_CONTROL,
                "special": *ty == TOKEN_CONTROL,
            }));
        }
    }

    let byte_level = |regex: bool, trim: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": trim, "use_regex": regex});
    let (pre_tokenizer, ignore_merges) = match pre {
        "gpt-2" | "gpt2" => (byte_level(true, true), false),
        "llama-bpe" | "llama3" => (
            json!({"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": false},
                byte_level(false, true),
            ]}),
            true,
        ),
        other => {
            return Err(LlmError::Unsupported(format!(
                "GGUF BPE pre-tokenizer `{other}` (supported: gpt-2, llama-bpe)"
            )))
        }
    };

    let post_processor = if add_bos || add_eos {
        let name = |i: u64| tokens.get(i as usize).copied().unwrap_or_default();
        let mut single = Vec::new();
        let mut pair = Vec::new();
        let mut specials = BTreeMap::new();
        let bos_tok = if add_bos {
            let b = bos.ok_or_else(|| {
                tok_err("add_bos_token is set but there is no bos_token_id".into())
            })?;
            specials.insert(
                name(b).to_string(),
                json!({"id": name(b), "ids": [b], "tokens": [name(b)]}),
            );
            Some(name(b))
        } else {
            None
        };
        let eos_tok = if add_eos {
            let e = eos.ok_or_else(|| {
                tok_err("add_eos_token is set but there is no eos_token_id".into())
            })?;
            specials.insert(
                name(e).to_string(),
                json!({"id": name(e), "ids": [e], "tokens": [name(e)]}),
            );
            Some(name(e))
        } else {
            None
        };
        for (tmpl, seqs) in [(&mut single, &["A"][..]), (&mut pair, &["A", "B"][..])] {
            for (k, s) in seqs.iter().enumerate() {
                if let Some(b) = bos_tok {
                    tmpl.push(json!({"SpecialToken": {"id": b, "type_id": k}}));
                }
                tmpl.push(json!({"Sequence": {"id": s, "type_id": k}}));
                if let Some(e) = eos_tok {
                    tmpl.push(json!({"SpecialToken": {"id": e, "type_id": k}}));
                }
            }
        }
        json!({"type": "Sequence", "processors": [
            byte_level(false, false),
            {"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials},
        ]})
    } else {
        byte_level(true, false)
    };

    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post_processor,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE",
            "dropout": null,
            "unk_token": null,
            "continuing_subword_prefix": null,
            "end_of_word_suffix": null,
            "fuse_unk": false,
            "byte_fallback": false,
            "ignore_merges": ignore_merges,
            "vocab": vocab,
            "merges": merges,
        },
    }))
}
