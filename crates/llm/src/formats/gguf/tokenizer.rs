//! A Hugging Face `tokenizer.json` rebuilt from GGUF `tokenizer.ggml.*` metadata.
//!
//! llama.cpp's converter writes a byte-level BPE vocabulary (`tokenizer.ggml.model = "gpt2"`)
//! as the token strings in id order (`tokenizer.ggml.tokens`), their types
//! (`tokenizer.ggml.token_type`: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
//! 6 byte), the merges as `"left right"` strings in rank order (`tokenizer.ggml.merges`), the
//! pre-tokenizer name (`tokenizer.ggml.pre`), the special ids and whether BOS/EOS are added.
//!
//! A SentencePiece BPE vocabulary (`"llama"`: Llama 2, Gemma) has pieces, scores
//! (`tokenizer.ggml.scores`) and types but no merges. SentencePiece merges the adjacent pair
//! whose concatenation is the highest-scoring piece; a BPE model whose merges are every split
//! `(l, r)` of a normal piece into two pieces, ranked by the piece's score (descending, ties
//! by the parts' ids — the rule `transformers` uses to convert such models), does the same.
//! Text is normalized as SentencePiece does (spaces to `▁`, a leading `▁` when
//! `tokenizer.ggml.add_space_prefix` is set, the default) and characters outside the
//! vocabulary fall back to their `<0xXX>` byte pieces.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{Gguf, GgufValue};
use crate::error::{LlmError, Result};

const TOKEN_NORMAL: i64 = 1;
const TOKEN_CONTROL: i64 = 3;
const TOKEN_USER_DEFINED: i64 = 4;

/// SentencePiece's whitespace symbol.
const SPM_SPACE: &str = "\u{2581}";

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
    if model != "gpt2" && model != "llama" {
        return Err(LlmError::Unsupported(format!(
            "GGUF tokenizer model `{model}` (supported: `gpt2` byte-level BPE, `llama` SentencePiece BPE)"
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
    let bos = id(g, "tokenizer.ggml.bos_token_id", n)?;
    let eos = id(g, "tokenizer.ggml.eos_token_id", n)?;
    let add_bos = flag(g, "tokenizer.ggml.add_bos_token")?.unwrap_or(false);
    let add_eos = flag(g, "tokenizer.ggml.add_eos_token")?.unwrap_or(false);
    if add_bos && bos.is_none() {
        return Err(tok_err(
            "add_bos_token is set but there is no bos_token_id".into(),
        ));
    }
    if add_eos && eos.is_none() {
        return Err(tok_err(
            "add_eos_token is set but there is no eos_token_id".into(),
        ));
    }
    let added = added_tokens(&tokens, &types);
    let specials = Specials {
        tokens: &tokens,
        bos: bos.filter(|_| add_bos),
        eos: eos.filter(|_| add_eos),
    };
    if model == "llama" {
        return spm_json(g, &tokens, &types, added, &specials);
    }
    let merges = strings(g, "tokenizer.ggml.merges")?.unwrap_or_default();
    let pre = g
        .meta("tokenizer.ggml.pre")
        .and_then(GgufValue::as_str)
        .unwrap_or("default");

    let vocab = vocab_map(&tokens);
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

    let post_processor = match specials.template()? {
        Some(t) => json!({"type": "Sequence", "processors": [byte_level(false, false), t]}),
        None => byte_level(true, false),
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

/// The vocabulary: first id wins for a repeated string.
fn vocab_map(tokens: &[&str]) -> Map<String, Value> {
    let mut vocab = Map::new();
    for (i, t) in tokens.iter().enumerate() {
        if !vocab.contains_key(*t) {
            vocab.insert((*t).to_string(), json!(i));
        }
    }
    vocab
}

/// Control and user-defined tokens, matched whole before the model runs.
fn added_tokens(tokens: &[&str], types: &[i64]) -> Vec<Value> {
    tokens
        .iter()
        .zip(types)
        .enumerate()
        .filter(|(_, (_, ty))| **ty == TOKEN_CONTROL || **ty == TOKEN_USER_DEFINED)
        .map(|(i, (t, ty))| {
            json!({
                "id": i,
                "content": t,
                "single_word": false,
                "lstrip": false,
                "rstrip": false,
                "normalized": false,
                "special": *ty == TOKEN_CONTROL,
            })
        })
        .collect()
}

/// The BOS/EOS ids the file asks to add.
struct Specials<'a> {
    tokens: &'a [&'a str],
    bos: Option<u64>,
    eos: Option<u64>,
}

impl Specials<'_> {
    /// The template post-processor adding them, if any.
    fn template(&self) -> Result<Option<Value>> {
        if self.bos.is_none() && self.eos.is_none() {
            return Ok(None);
        }
        let name = |i: u64| self.tokens.get(i as usize).copied().unwrap_or_default();
        let mut specials = BTreeMap::new();
        for i in [self.bos, self.eos].into_iter().flatten() {
            specials.insert(
                name(i).to_string(),
                json!({"id": name(i), "ids": [i], "tokens": [name(i)]}),
            );
        }
        let mut single = Vec::new();
        let mut pair = Vec::new();
        for (tmpl, seqs) in [(&mut single, &["A"][..]), (&mut pair, &["A", "B"][..])] {
            for (k, s) in seqs.iter().enumerate() {
                if let Some(b) = self.bos {
                    tmpl.push(json!({"SpecialToken": {"id": name(b), "type_id": k}}));
                }
                tmpl.push(json!({"Sequence": {"id": s, "type_id": k}}));
                if let Some(e) = self.eos {
                    tmpl.push(json!({"SpecialToken": {"id": name(e), "type_id": k}}));
                }
            }
        }
        Ok(Some(json!({
            "type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials,
        })))
    }
}

/// Largest SentencePiece piece considered for merges (bytes): longer pieces are kept as
/// vocabulary entries but not split (bounds the work on hostile files).
const MAX_SPM_PIECE: usize = 256;

/// The `tokenizer.json` of a SentencePiece BPE vocabulary (module docs).
fn spm_json(
    g: &Gguf,
    tokens: &[&str],
    types: &[i64],
    added: Vec<Value>,
    specials: &Specials<'_>,
) -> Result<Value> {
    let n = tokens.len();
    let scores: Vec<f64> = match g.meta("tokenizer.ggml.scores") {
        None => (0..n).map(|i| -(i as f64)).collect(),
        Some(v) => {
            let arr = v
                .as_array()
                .ok_or_else(|| tok_err("`tokenizer.ggml.scores` is not an array".into()))?;
            if arr.len() != n {
                return Err(tok_err(format!(
                    "`tokenizer.ggml.scores` has {} entries for {n} tokens",
                    arr.len()
                )));
            }
            arr.iter()
                .map(|x| {
                    x.as_f64().filter(|s| !s.is_nan()).ok_or_else(|| {
                        tok_err("`tokenizer.ggml.scores` has a non-number entry".into())
                    })
                })
                .collect::<Result<_>>()?
        }
    };
    let unk = id(g, "tokenizer.ggml.unknown_token_id", n)?;
    let prefix = flag(g, "tokenizer.ggml.add_space_prefix")?.unwrap_or(true);
    let vocab = vocab_map(tokens);
    // Normal pieces by string (first id wins), for the merge candidates.
    let mut normal: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, (t, ty)) in tokens.iter().zip(types).enumerate() {
        if *ty == TOKEN_NORMAL {
            normal.entry(*t).or_insert(i);
        }
    }
    let mut merges: Vec<(usize, usize, usize)> = Vec::new();
    for (i, (t, ty)) in tokens.iter().zip(types).enumerate() {
        if *ty != TOKEN_NORMAL || normal.get(t) != Some(&i) || t.len() > MAX_SPM_PIECE {
            continue;
        }
        let mut local: Vec<(usize, usize, usize)> = t
            .char_indices()
            .skip(1)
            .filter_map(|(k, _)| {
                let (l, r) = t.split_at(k);
                Some((*normal.get(l)?, *normal.get(r)?, i))
            })
            .collect();
        local.sort_unstable();
        merges.extend(local);
    }
    // Stable: equal scores keep id order.
    merges.sort_by(|a, b| scores[b.2].total_cmp(&scores[a.2]));
    let merges: Vec<Value> = merges
        .iter()
        .map(|&(l, r, _)| json!([tokens[l], tokens[r]]))
        .collect();

    let replace = json!({"type": "Replace", "pattern": {"String": " "}, "content": SPM_SPACE});
    let normalizer = if prefix {
        json!({"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": SPM_SPACE}, replace]})
    } else {
        replace
    };
    let mut decoders = vec![
        json!({"type": "Replace", "pattern": {"String": SPM_SPACE}, "content": " "}),
        json!({"type": "ByteFallback"}),
        json!({"type": "Fuse"}),
    ];
    if prefix {
        decoders.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
    }
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": null,
        "post_processor": specials.template()?,
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": {
            "type": "BPE",
            "dropout": null,
            "unk_token": unk.map(|u| tokens[u as usize]),
            "continuing_subword_prefix": null,
            "end_of_word_suffix": null,
            "fuse_unk": true,
            "byte_fallback": true,
            "ignore_merges": false,
            "vocab": vocab,
            "merges": merges,
        },
    }))
}
