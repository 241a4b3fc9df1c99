//! A checkpoint opened for use: configuration, weights and tokenizer, and the pass inputs of
//! a token sequence.

use std::path::Path;

use crate::config::LlmConfig;
use crate::error::{LlmError, Result};
use crate::formats::gguf::GgufWeights;
use crate::formats::safetensors::HfWeights;
use crate::formats::WeightSource;
use crate::tokenizer::Tokenizer;

/// Largest `config.json` read (bytes).
const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// An opened checkpoint.
pub struct Checkpoint {
    /// Architecture switches.
    pub config: LlmConfig,
    /// Weights (Hugging Face names).
    pub weights: Box<dyn WeightSource>,
    /// Tokenizer.
    pub tokenizer: Tokenizer,
    /// Where it came from (for messages).
    pub source: String,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Checkpoint({}, {:?})", self.source, self.config.arch)
    }
}

impl Checkpoint {
    /// Opens a checkpoint: a Hugging Face model directory, or a GGUF file (recognised by its
    /// `GGUF` magic).
    pub fn open(path: &Path) -> Result<Self> {
        if path.is_dir() {
            return Self::open_hf(path);
        }
        let io = |source| LlmError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut magic = Vec::with_capacity(4);
        let f = std::fs::File::open(path).map_err(io)?;
        std::io::Read::read_to_end(&mut std::io::Read::take(f, 4), &mut magic).map_err(io)?;
        if magic == b"GGUF" {
            return Self::open_gguf(path);
        }
        Err(LlmError::Format {
            file: path.display().to_string(),
            reason: "neither a Hugging Face model directory nor a GGUF file".into(),
        })
    }

    /// Opens a GGUF file of a supported architecture: the configuration and the tokenizer are
    /// rebuilt from its metadata, the weights presented under Hugging Face names and values.
    pub fn open_gguf(path: &Path) -> Result<Self> {
        let weights = GgufWeights::open(path)?;
        let config = LlmConfig::from_json(&weights.hf_config()?)?;
        let tokenizer = Tokenizer::from_gguf(weights.gguf())?;
        check_vocab(&tokenizer, &config)?;
        Ok(Checkpoint {
            config,
            weights: Box::new(weights),
            tokenizer,
            source: path.display().to_string(),
        })
    }

    /// Opens a Hugging Face model directory.
    pub fn open_hf(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let io = |source| LlmError::Io {
            path: path.display().to_string(),
            source,
        };
        let len = std::fs::metadata(&path).map_err(io)?.len();
        if len > MAX_CONFIG_BYTES {
            return Err(LlmError::TooLarge {
                file: path.display().to_string(),
                what: "file size".into(),
                value: len,
                limit: MAX_CONFIG_BYTES,
            });
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| LlmError::Config(format!("config.json: {e}")))?;
        let config = LlmConfig::from_json(&v)?;
        let weights = HfWeights::open(dir)?;
        let tokenizer = Tokenizer::from_dir(dir)?;
        check_vocab(&tokenizer, &config)?;
        Ok(Checkpoint {
            config,
            weights: Box::new(weights),
            tokenizer,
            source: dir.display().to_string(),
        })
    }

    /// End-of-sequence ids (config, else the tokenizer's usual names).
    pub fn eos_ids(&self) -> Vec<u32> {
        if !self.config.eos.is_empty() {
            return self.config.eos.clone();
        }
        ["<|endoftext|>", "<eos>", "</s>", "<|end_of_text|>"]
            .iter()
            .filter_map(|s| self.tokenizer.token_id(s))
            .collect()
    }
}

/// Every token id must have a row in the embedding.
fn check_vocab(tokenizer: &Tokenizer, config: &LlmConfig) -> Result<()> {
    if tokenizer.vocab_size() > config.vocab {
        return Err(LlmError::Tokenizer(format!(
            "tokenizer has {} tokens, the model's vocabulary {}",
            tokenizer.vocab_size(),
            config.vocab
        )));
    }
    Ok(())
}

/// The graph inputs of a pass of `len` positions over `seq` (prompt then generated tokens),
/// emitting at the `emit` positions from `first_emit`: the ids, filled past `seq` by
/// repeating it (causal attention keeps the filler from earlier positions; repeating real
/// text keeps its activations in the calibrated range), and the emitting positions.
pub fn pass_inputs(
    seq: &[u32],
    first_emit: usize,
    emit: usize,
    len: usize,
) -> Result<Vec<Vec<f32>>> {
    if seq.is_empty()
        || seq.len() > len
        || first_emit + emit > seq.len() + 1
        || first_emit + emit > len
    {
        return Err(LlmError::Invalid(format!(
            "a sequence of {} tokens emitting at {first_emit}..{} does not fit a pass of {len} positions",
            seq.len(),
            first_emit + emit
        )));
    }
    let ids = (0..len).map(|i| seq[i % seq.len()] as f32).collect();
    let pos = (first_emit..first_emit + emit).map(|p| p as f32).collect();
    Ok(vec![ids, pos])
}
