//! A Hugging Face `config.json` rebuilt from the `<arch>.*` metadata of a GGUF file.

use serde_json::{json, Map, Value};

use super::rope_freqs::llama3_from_factors;
use super::weights::GgufWeights;
use super::{GgufArch, GgufValue};
use crate::error::{LlmError, Result};
use crate::formats::WeightSource;

/// The most layers a rebuilt configuration may have (bounds the `layer_types` list).
const MAX_LAYERS: u64 = 1 << 16;
/// llama.cpp's Gemma 3 sliding-window period: five local layers, then a global one.
const GEMMA3_SWA_PERIOD: u64 = 6;

impl GgufWeights {
    fn key(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.arch.gguf_name())
    }

    fn req_u64(&self, suffix: &str) -> Result<u64> {
        let key = self.key(suffix);
        match self.gguf.meta(&key) {
            Some(v) => v.as_u64().ok_or_else(|| {
                LlmError::Config(format!(
                    "GGUF `{key}` is a {}, expected an unsigned integer",
                    v.type_name()
                ))
            }),
            None => Err(LlmError::Config(format!(
                "GGUF metadata `{key}` is missing"
            ))),
        }
    }

    fn opt_u64(&self, suffix: &str) -> Result<Option<u64>> {
        let key = self.key(suffix);
        self.gguf
            .meta(&key)
            .map(|v| {
                v.as_u64().ok_or_else(|| {
                    LlmError::Config(format!(
                        "GGUF `{key}` is a {}, expected an unsigned integer",
                        v.type_name()
                    ))
                })
            })
            .transpose()
    }

    fn opt_f64(&self, suffix: &str) -> Result<Option<f64>> {
        let key = self.key(suffix);
        self.gguf
            .meta(&key)
            .map(|v| {
                v.as_f64().ok_or_else(|| {
                    LlmError::Config(format!(
                        "GGUF `{key}` is a {}, expected a number",
                        v.type_name()
                    ))
                })
            })
            .transpose()
    }

    /// A Hugging Face `config.json`-shaped object rebuilt from the `<arch>.*` metadata.
    ///
    /// `vocab_size` is the row count of the token embedding as presented (the Gemma 3
    /// converter drops padding rows past the tokenizer's vocabulary). Fields GGUF does not
    /// store take the llama.cpp defaults (Gemma 3: sliding-window pattern 6 unless
    /// `attention.sliding_window_pattern`, local RoPE base 10000 unless `rope.freq_base_swa`,
    /// attention scale from `head_dim` except the 62-layer 27B). Llama 3-style RoPE scaling,
    /// which the converter stores as a `rope_freqs.weight` tensor of per-frequency divisors, is
    /// turned back into `rope_scaling` parameters that reproduce those divisors.
    pub fn hf_config(&self) -> Result<Value> {
        let embd_name = match self.arch {
            GgufArch::Gpt2 => "transformer.wte.weight",
            _ => "model.embed_tokens.weight",
        };
        let vocab_size = self
            .shape(embd_name)
            .and_then(|s| s.first().copied())
            .ok_or_else(|| LlmError::MissingTensor {
                name: embd_name.into(),
            })?;
        let hidden = self.req_u64("embedding_length")?;
        let layers = self.req_u64("block_count")?;
        if layers > MAX_LAYERS {
            return Err(LlmError::TooLarge {
                file: self.gguf.file().to_string(),
                what: self.key("block_count"),
                value: layers,
                limit: MAX_LAYERS,
            });
        }
        let heads = self.req_u64("attention.head_count")?;
        let ctx = self.opt_u64("context_length")?;
        let ff = self.opt_u64("feed_forward_length")?;
        let tie = !self.map.contains_key("lm_head.weight");
        let tok = |k: &str| -> Option<u64> { self.gguf.meta(k).and_then(GgufValue::as_u64) };
        let bos = tok("tokenizer.ggml.bos_token_id");
        let eos = tok("tokenizer.ggml.eos_token_id");
        let pad = tok("tokenizer.ggml.padding_token_id");

        let mut c = Map::new();
        match self.arch {
            GgufArch::Gpt2 => {
                let eps = self
                    .opt_f64("attention.layer_norm_epsilon")?
                    .unwrap_or(1e-5);
                let ctx = ctx.ok_or_else(|| {
                    LlmError::Config("GGUF `gpt2.context_length` is missing".into())
                })?;
                c.insert("architectures".into(), json!(["GPT2LMHeadModel"]));
                c.insert("model_type".into(), json!("gpt2"));
                c.insert("vocab_size".into(), json!(vocab_size));
                c.insert("n_embd".into(), json!(hidden));
                c.insert("n_layer".into(), json!(layers));
                c.insert("n_head".into(), json!(heads));
                c.insert("n_positions".into(), json!(ctx));
                c.insert("n_ctx".into(), json!(ctx));
                c.insert(
                    "n_inner".into(),
                    json!(ff.unwrap_or(hidden.saturating_mul(4))),
                );
                c.insert("layer_norm_epsilon".into(), json!(eps));
                c.insert("activation_function".into(), json!("gelu_new"));
            }
            GgufArch::Llama | GgufArch::Gemma3 => {
                let kv_heads = self.opt_u64("attention.head_count_kv")?.unwrap_or(heads);
                let head_dim = match self.opt_u64("attention.key_length")? {
                    Some(h) => h,
                    None => match self.opt_u64("rope.dimension_count")? {
                        Some(h) => h,
                        None if heads > 0 => hidden / heads,
                        None => return Err(LlmError::Config("head count is 0".into())),
                    },
                };
                let eps = self.opt_f64("attention.layer_norm_rms_epsilon")?;
                let ff = ff.ok_or_else(|| {
                    LlmError::Config(format!(
                        "GGUF `{}` is missing",
                        self.key("feed_forward_length")
                    ))
                })?;
                let (arch_name, model_type) = match self.arch {
                    GgufArch::Llama => ("LlamaForCausalLM", "llama"),
                    _ => ("Gemma3ForCausalLM", "gemma3_text"),
                };
                c.insert("architectures".into(), json!([arch_name]));
                c.insert("model_type".into(), json!(model_type));
                c.insert("vocab_size".into(), json!(vocab_size));
                c.insert("hidden_size".into(), json!(hidden));
                c.insert("num_hidden_layers".into(), json!(layers));
                c.insert("num_attention_heads".into(), json!(heads));
                c.insert("num_key_value_heads".into(), json!(kv_heads));
                c.insert("head_dim".into(), json!(head_dim));
                c.insert("intermediate_size".into(), json!(ff));
                if let Some(ctx) = ctx {
                    c.insert("max_position_embeddings".into(), json!(ctx));
                }
                let default_theta = if self.arch == GgufArch::Gemma3 {
                    1_000_000.0
                } else {
                    10_000.0
                };
                let theta = self.opt_f64("rope.freq_base")?.unwrap_or(default_theta);
                c.insert("rope_theta".into(), json!(theta));
                let scaling = match self.rope_freqs_scaling(theta, head_dim)? {
                    Some(s) => Some(s),
                    None => self.rope_scaling()?,
                };
                c.insert("rope_scaling".into(), scaling.unwrap_or(Value::Null));
                if self.arch == GgufArch::Llama {
                    c.insert("rms_norm_eps".into(), json!(eps.unwrap_or(1e-5)));
                    c.insert("hidden_act".into(), json!("silu"));
                    let bias = self
                        .map
                        .contains_key("model.layers.0.self_attn.q_proj.bias");
                    c.insert("attention_bias".into(), json!(bias));
                    c.insert(
                        "mlp_bias".into(),
                        json!(self.map.contains_key("model.layers.0.mlp.up_proj.bias")),
                    );
                } else {
                    c.insert("rms_norm_eps".into(), json!(eps.unwrap_or(1e-6)));
                    c.insert("hidden_activation".into(), json!("gelu_pytorch_tanh"));
                    let local = self.opt_f64("rope.freq_base_swa")?.unwrap_or(10_000.0);
                    c.insert("rope_local_base_freq".into(), json!(local));
                    // llama.cpp: no (or a zero) window means no sliding-window layers
                    let window = self.opt_u64("attention.sliding_window")?.filter(|&w| w > 0);
                    c.insert("sliding_window".into(), json!(window));
                    let local = self.local_layers(layers)?;
                    let layer_types: Vec<&str> = local
                        .iter()
                        .map(|&l| {
                            if window.is_some() && l {
                                "sliding_attention"
                            } else {
                                "full_attention"
                            }
                        })
                        .collect();
                    c.insert("layer_types".into(), json!(layer_types));
                    let scalar = if layers == 62 && heads > 0 {
                        hidden / heads
                    } else {
                        head_dim
                    };
                    c.insert("query_pre_attn_scalar".into(), json!(scalar));
                    c.insert(
                        "final_logit_softcapping".into(),
                        json!(self.opt_f64("final_logit_softcapping")?),
                    );
                    c.insert(
                        "attn_logit_softcapping".into(),
                        json!(self.opt_f64("attn_logit_softcapping")?),
                    );
                }
            }
        }
        c.insert("tie_word_embeddings".into(), json!(tie));
        c.insert("bos_token_id".into(), json!(bos));
        c.insert("eos_token_id".into(), json!(eos));
        if let Some(p) = pad {
            c.insert("pad_token_id".into(), json!(p));
        }
        Ok(Value::Object(c))
    }

    /// Per layer, whether it is a sliding-window layer: `<arch>.attention.sliding_window_pattern`
    /// as a bool per layer or as a period `n` (every `n`-th layer global), else llama.cpp's
    /// Gemma 3 default, period 6.
    fn local_layers(&self, layers: u64) -> Result<Vec<bool>> {
        let key = self.key("attention.sliding_window_pattern");
        let by_period = |n: u64| (0..layers).map(|i| (i + 1) % n != 0).collect();
        match self.gguf.meta(&key) {
            None => Ok(by_period(GEMMA3_SWA_PERIOD)),
            Some(GgufValue::Array(a)) => {
                if a.len() as u64 != layers {
                    return Err(LlmError::Config(format!(
                        "GGUF `{key}` has {} entries for {layers} layers",
                        a.len()
                    )));
                }
                a.iter()
                    .map(|v| {
                        v.as_bool().ok_or_else(|| {
                            LlmError::Config(format!("GGUF `{key}` has a non-bool entry"))
                        })
                    })
                    .collect()
            }
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Ok(by_period(n)),
                _ => Err(LlmError::Config(format!(
                    "GGUF `{key}` must be a positive integer or a bool per layer"
                ))),
            },
        }
    }

    /// `rope_scaling` of type `llama3` recovered from a `rope_freqs.weight` tensor, if any.
    fn rope_freqs_scaling(&self, theta: f64, head_dim: u64) -> Result<Option<Value>> {
        const NAME: &str = "rope_freqs.weight";
        let Some(info) = self.gguf.tensor_info(NAME) else {
            return Ok(None);
        };
        let rot = self.opt_u64("rope.dimension_count")?.unwrap_or(head_dim);
        let rot = usize::try_from(rot).unwrap_or(usize::MAX);
        // checked before reading, so a hostile file cannot make this allocate
        if info.dims.len() != 1 || info.numel() != (rot / 2) as u64 {
            return Err(LlmError::Format {
                file: self.gguf.file().to_string(),
                reason: format!(
                    "`{NAME}` has dims {:?}, expected [{}] (half the rotary dimension {rot})",
                    info.dims,
                    rot / 2
                ),
            });
        }
        if rot as u64 != head_dim {
            return Err(LlmError::Unsupported(format!(
                "partial rotary embedding (rotary dimension {rot} of head dimension {head_dim})"
            )));
        }
        let factors = self.gguf.tensor(NAME)?.data;
        Ok(llama3_from_factors(theta, rot, &factors)?.map(|s| {
            json!({
                "rope_type": "llama3",
                "rope_theta": theta,
                "factor": s.factor,
                "low_freq_factor": s.low_freq_factor,
                "high_freq_factor": s.high_freq_factor,
                "original_max_position_embeddings": s.original_max_positions,
            })
        }))
    }

    fn rope_scaling(&self) -> Result<Option<Value>> {
        let key = self.key("rope.scaling.type");
        let Some(ty) = self.gguf.meta(&key) else {
            return Ok(None);
        };
        let ty = ty
            .as_str()
            .ok_or_else(|| LlmError::Config(format!("GGUF `{key}` is not a string")))?;
        let factor = self.opt_f64("rope.scaling.factor")?;
        Ok(match ty {
            "none" => None,
            "linear" => Some(json!({"rope_type": "linear", "type": "linear", "factor": factor})),
            "yarn" => Some(json!({
                "rope_type": "yarn",
                "type": "yarn",
                "factor": factor,
                "original_max_position_embeddings": self.opt_u64("rope.scaling.original_context_length")?,
            })),
            other => {
                return Err(LlmError::Unsupported(format!(
                    "GGUF RoPE scaling type `{other}`"
                )))
            }
        })
    }

    /// A Hugging Face `tokenizer.json` rebuilt from the `tokenizer.ggml.*` metadata.
    ///
    /// Supported: model `gpt2` (byte-level BPE with merges; pre-tokenizers `gpt-2` and
    /// `llama-bpe`) and model `llama` (SentencePiece BPE: pieces and scores), with BOS (and
    /// EOS) added by a template post-processor when
    /// `tokenizer.ggml.add_bos_token` (`add_eos_token`) is true.
    pub fn tokenizer_json(&self) -> Result<String> {
        super::tokenizer::tokenizer_json(&self.gguf).map(|v| v.to_string())
    }
}
