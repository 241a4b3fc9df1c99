//! Tokenization with the Hugging Face `tokenizers` crate: encode the prompt (BOS as the
//! tokenizer's post-processor or `tokenizer_config.json` says), decode the generation.

use std::path::Path;

use crate::error::{LlmError, Result};

/// Largest tokenizer file read (bytes).
const MAX_TOKENIZER_BYTES: u64 = 256 << 20;

/// A loaded tokenizer.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    /// Prepend this id unless the post-processor already adds it.
    bos_prefix: Option<u32>,
    /// The document and BOS request it was built from (to store it in a key).
    json: String,
    add_bos: Option<u32>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer(vocab {})", self.vocab_size())
    }
}

/// Runs `f` on the `tokenizers` library, which is not written for hostile files (a
/// malformed `tokenizer.json` can make it panic): a panic becomes an error naming `what`.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(LlmError::Tokenizer(format!(
            "the tokenizers library panicked while {what} (malformed tokenizer.json?)"
        )))
    })
}

/// Parses a `tokenizer.json` document with the `tokenizers` library, guarded.
fn parse(json: &str) -> Result<tokenizers::Tokenizer> {
    guarded("parsing tokenizer.json", || {
        tokenizers::Tokenizer::from_bytes(json.as_bytes())
            .map_err(|e| LlmError::Tokenizer(e.to_string()))
    })
}

impl Tokenizer {
    /// Parses a `tokenizer.json` document; `add_bos` with an id asks for BOS to be prepended
    /// when the tokenizer's own post-processor does not add it.
    pub fn from_json(json: &str, add_bos: Option<u32>) -> Result<Self> {
        let inner = parse(json)?;
        let mut t = Tokenizer {
            inner,
            bos_prefix: None,
            json: json.to_string(),
            add_bos,
        };
        if let Some(b) = add_bos {
            let probe = t.raw_encode("a")?;
            if probe.first() != Some(&b) {
                t.bos_prefix = Some(b);
            }
        }
        Ok(t)
    }

    /// Loads `dir/tokenizer.json`, with BOS handling from `dir/tokenizer_config.json`
    /// (`add_bos_token`, `bos_token`) when present.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        let json = read_capped(&path)?;
        let cfg_path = dir.join("tokenizer_config.json");
        let mut add_bos = None;
        if cfg_path.exists() {
            let text = read_capped(&cfg_path)?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| LlmError::Tokenizer(format!("tokenizer_config.json: {e}")))?;
            if v.get("add_bos_token").and_then(serde_json::Value::as_bool) == Some(true) {
                let tok = match v.get("bos_token") {
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(o) => o
                        .get("content")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string),
                    None => None,
                };
                let t = parse(&json)?;
                add_bos = tok.and_then(|s| t.token_to_id(&s));
            }
        }
        Self::from_json(&json, add_bos)
    }

    /// The tokenizer stored in a GGUF file's `tokenizer.ggml.*` metadata (byte-level BPE or
    /// SentencePiece BPE), BOS added as the file says.
    pub fn from_gguf(g: &crate::formats::gguf::Gguf) -> Result<Self> {
        use crate::formats::gguf::GgufValue;
        let json = crate::formats::gguf::tokenizer_json(g)?.to_string();
        // The rebuilt tokenizer adds BOS itself when the file asks for it; this only covers a
        // post-processor that does not.
        let add_bos = g
            .meta("tokenizer.ggml.add_bos_token")
            .and_then(GgufValue::as_bool)
            == Some(true);
        let bos = g
            .meta("tokenizer.ggml.bos_token_id")
            .and_then(GgufValue::as_u64)
            .and_then(|b| u32::try_from(b).ok());
        Self::from_json(&json, bos.filter(|_| add_bos))
    }

    /// The `tokenizer.json` document and BOS request this tokenizer was built from:
    /// `Tokenizer::from_json(json, add_bos)` rebuilds it.
    pub fn parts(&self) -> (&str, Option<u32>) {
        (&self.json, self.add_bos)
    }

    fn raw_encode(&self, text: &str) -> Result<Vec<u32>> {
        guarded("encoding", || {
            Ok(self
                .inner
                .encode(text, true)
                .map_err(|e| LlmError::Tokenizer(e.to_string()))?
                .get_ids()
                .to_vec())
        })
    }

    /// Token ids of `text`, BOS included where the model expects it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = self.raw_encode(text)?;
        if let Some(b) = self.bos_prefix {
            ids.insert(0, b);
        }
        Ok(ids)
    }

    /// Text of `ids`, special tokens skipped.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        guarded("decoding", || {
            self.inner
                .decode(ids, true)
                .map_err(|e| LlmError::Tokenizer(e.to_string()))
        })
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The id of a token string.
    pub fn token_id(&self, s: &str) -> Option<u32> {
        self.inner.token_to_id(s)
    }
}

fn read_capped(path: &Path) -> Result<String> {
    let io = |source| LlmError::Io {
        path: path.display().to_string(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_TOKENIZER_BYTES {
        return Err(LlmError::TooLarge {
            file: path.display().to_string(),
            what: "file size".into(),
            value: len,
            limit: MAX_TOKENIZER_BYTES,
        });
    }
    std::fs::read_to_string(path).map_err(io)
}
