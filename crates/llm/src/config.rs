//! The architecture switches of a checkpoint, read from `config.json` (or the equivalent
//! object a GGUF file's metadata is turned into). Every switch that changes the computation
//! is read here; one zkinfer does not implement is refused by name.

use serde_json::Value;

use crate::error::{LlmError, Result};

/// Supported architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// `GPT2LMHeadModel`: learned positions, LayerNorm, GELU-tanh MLP, tied head.
    Gpt2,
    /// `LlamaForCausalLM`: RoPE (incl. `llama3` scaling), RMSNorm, SwiGLU, grouped-query
    /// attention.
    Llama,
    /// `Gemma3ForCausalLM` (text): RoPE with a local and a global base, `(1 + w)` RMSNorm,
    /// QK-norm, pre/post norms, GeGLU, sliding-window local layers, `√d` embedding scale.
    Gemma3,
}

impl Arch {
    /// The Hugging Face class name.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Gpt2 => "GPT2LMHeadModel",
            Arch::Llama => "LlamaForCausalLM",
            Arch::Gemma3 => "Gemma3ForCausalLM",
        }
    }
}

/// RoPE frequencies of one layer kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Rope {
    /// Base θ.
    pub theta: f64,
    /// Llama-3 frequency scaling, if any.
    pub llama3: Option<Llama3Scaling>,
    /// Linear position scaling factor (positions divided by it), 1 for none.
    pub linear_factor: f64,
}

/// `rope_scaling` of type `llama3`.
#[derive(Clone, Debug, PartialEq)]
pub struct Llama3Scaling {
    /// `factor`.
    pub factor: f64,
    /// `low_freq_factor`.
    pub low_freq_factor: f64,
    /// `high_freq_factor`.
    pub high_freq_factor: f64,
    /// `original_max_position_embeddings`.
    pub original_max_positions: f64,
}

impl Rope {
    /// The `head_dim / 2` inverse frequencies (transformers' `default` and `llama3` rules).
    pub fn inv_freq(&self, head_dim: usize) -> Vec<f64> {
        let half = head_dim / 2;
        (0..half)
            .map(|i| {
                let f = 1.0 / self.theta.powf((2 * i) as f64 / head_dim as f64);
                match &self.llama3 {
                    None => f,
                    Some(s) => {
                        let low_wl = s.original_max_positions / s.low_freq_factor;
                        let high_wl = s.original_max_positions / s.high_freq_factor;
                        let wl = 2.0 * std::f64::consts::PI / f;
                        if wl < high_wl {
                            f
                        } else if wl > low_wl {
                            f / s.factor
                        } else {
                            let smooth = (s.original_max_positions / wl - s.low_freq_factor)
                                / (s.high_freq_factor - s.low_freq_factor);
                            (1.0 - smooth) * f / s.factor + smooth * f
                        }
                    }
                }
            })
            .collect()
    }
}

/// The normalised configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmConfig {
    /// Architecture.
    pub arch: Arch,
    /// Vocabulary size.
    pub vocab: usize,
    /// Hidden size d.
    pub hidden: usize,
    /// Layers.
    pub layers: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    pub kv_heads: usize,
    /// Head dimension.
    pub head_dim: usize,
    /// MLP inner size.
    pub intermediate: usize,
    /// Norm epsilon.
    pub norm_eps: f64,
    /// Longest supported context.
    pub max_positions: usize,
    /// LM head tied to the token embedding.
    pub tied: bool,
    /// Attention score scale (multiplies q·k).
    pub query_scale: f64,
    /// RoPE of global (full-attention) layers; None for learned positions.
    pub rope_global: Option<Rope>,
    /// RoPE of local (sliding-window) layers.
    pub rope_local: Option<Rope>,
    /// Sliding window of local layers.
    pub sliding_window: Option<usize>,
    /// Per layer: true for a sliding-window (local) layer.
    pub local_layers: Vec<bool>,
    /// Final logit soft-capping `c·tanh(x/c)`.
    pub final_softcap: Option<f64>,
    /// BOS id from the config, if any.
    pub bos: Option<u32>,
    /// EOS ids from the config.
    pub eos: Vec<u32>,
}

fn cfg_err(s: impl Into<String>) -> LlmError {
    LlmError::Config(s.into())
}

/// A positive integer field, capped (sizes come from an untrusted file).
fn usize_field(v: &Value, keys: &[&str], cap: usize) -> Result<Option<usize>> {
    for k in keys {
        match v.get(k) {
            None | Some(Value::Null) => continue,
            Some(x) => {
                let n = x
                    .as_u64()
                    .ok_or_else(|| cfg_err(format!("`{k}` is not a non-negative integer")))?;
                if n == 0 || n > cap as u64 {
                    return Err(cfg_err(format!("`{k}` = {n} outside 1..={cap}")));
                }
                return Ok(Some(n as usize));
            }
        }
    }
    Ok(None)
}

fn need_usize(v: &Value, keys: &[&str], cap: usize) -> Result<usize> {
    usize_field(v, keys, cap)?.ok_or_else(|| cfg_err(format!("missing `{}`", keys[0])))
}

fn f64_field(v: &Value, key: &str) -> Result<Option<f64>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| cfg_err(format!("`{key}` is not a finite number"))),
    }
}

fn bool_field(v: &Value, key: &str) -> Result<Option<bool>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_bool()
            .map(Some)
            .ok_or_else(|| cfg_err(format!("`{key}` is not a boolean"))),
    }
}

fn ids(v: Option<&Value>) -> Vec<u32> {
    match v {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|x| u32::try_from(x).ok())
            .into_iter()
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_u64().and_then(|x| u32::try_from(x).ok()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Sizes above these are refused before anything is allocated.
const MAX_DIM: usize = 1 << 20;
const MAX_LAYERS: usize = 1024;
const MAX_VOCAB: usize = 1 << 22;

/// A RoPE description from either the transformers-4 fields (`rope_theta`, `rope_scaling`) or
/// a transformers-5 `rope_parameters` object.
fn rope_from(params: Option<&Value>, theta_default: Option<f64>) -> Result<Option<Rope>> {
    let theta = params
        .and_then(|p| p.get("rope_theta"))
        .and_then(Value::as_f64)
        .or(theta_default);
    let Some(theta) = theta else {
        return Ok(None);
    };
    if !(theta.is_finite() && theta > 1.0) {
        return Err(cfg_err(format!(
            "rope theta {theta} must be a number above 1"
        )));
    }
    let mut rope = Rope {
        theta,
        llama3: None,
        linear_factor: 1.0,
    };
    let Some(p) = params.filter(|p| p.is_object()) else {
        return Ok(Some(rope));
    };
    let kind = p
        .get("rope_type")
        .or_else(|| p.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let num = |k: &str| -> Result<f64> {
        f64_field(p, k)?
            .filter(|x| *x > 0.0)
            .ok_or_else(|| cfg_err(format!("rope scaling `{kind}`: missing or bad `{k}`")))
    };
    match kind {
        "default" => {}
        "linear" => rope.linear_factor = num("factor")?,
        "llama3" => {
            let s = Llama3Scaling {
                factor: num("factor")?,
                low_freq_factor: num("low_freq_factor")?,
                high_freq_factor: num("high_freq_factor")?,
                original_max_positions: num("original_max_position_embeddings")?,
            };
            if s.high_freq_factor <= s.low_freq_factor {
                return Err(cfg_err(
                    "llama3 rope scaling: high_freq_factor ≤ low_freq_factor",
                ));
            }
            rope.llama3 = Some(s);
        }
        other => {
            return Err(LlmError::Unsupported(format!(
                "rope scaling type `{other}` (supported: default, linear, llama3)"
            )))
        }
    }
    Ok(Some(rope))
}

impl LlmConfig {
    /// Parses a `config.json` object.
    pub fn from_json(v: &Value) -> Result<Self> {
        let archs: Vec<&str> = v
            .get("architectures")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let model_type = v.get("model_type").and_then(Value::as_str).unwrap_or("");
        let arch = match (archs.first().copied(), model_type) {
            (Some("GPT2LMHeadModel"), _) | (None, "gpt2") => Arch::Gpt2,
            (Some("LlamaForCausalLM"), _) | (None, "llama") => Arch::Llama,
            (Some("Gemma3ForCausalLM"), _) | (None, "gemma3_text") => Arch::Gemma3,
            (Some("Gemma3ForConditionalGeneration"), _) | (None, "gemma3") => {
                return Err(LlmError::Unsupported(
                    "Gemma3ForConditionalGeneration (the multimodal checkpoint): use a \
                     Gemma3ForCausalLM text checkpoint"
                        .into(),
                ))
            }
            (Some(a), _) => {
                return Err(LlmError::Unsupported(format!(
                    "architecture `{a}` (supported: GPT2LMHeadModel, LlamaForCausalLM, Gemma3ForCausalLM)"
                )))
            }
            (None, t) => {
                return Err(cfg_err(format!(
                    "no `architectures` and unknown model_type `{t}`"
                )))
            }
        };
        match arch {
            Arch::Gpt2 => Self::gpt2(v),
            Arch::Llama => Self::llama_like(v, Arch::Llama),
            Arch::Gemma3 => Self::llama_like(v, Arch::Gemma3),
        }
    }

    fn gpt2(v: &Value) -> Result<Self> {
        let hidden = need_usize(v, &["n_embd", "hidden_size"], MAX_DIM)?;
        let heads = need_usize(v, &["n_head", "num_attention_heads"], MAX_DIM)?;
        if hidden % heads != 0 {
            return Err(cfg_err(format!(
                "n_embd {hidden} not divisible by n_head {heads}"
            )));
        }
        let act = v
            .get("activation_function")
            .and_then(Value::as_str)
            .unwrap_or("gelu_new");
        if !matches!(act, "gelu_new" | "gelu_pytorch_tanh") {
            return Err(LlmError::Unsupported(format!(
                "GPT-2 activation_function `{act}` (supported: gelu_new)"
            )));
        }
        for (k, ok) in [
            ("scale_attn_by_inverse_layer_idx", false),
            ("reorder_and_upcast_attn", false),
            ("add_cross_attention", false),
            ("scale_attn_weights", true),
        ] {
            if let Some(b) = bool_field(v, k)? {
                if b != ok {
                    return Err(LlmError::Unsupported(format!("GPT-2 `{k}` = {b}")));
                }
            }
        }
        let head_dim = hidden / heads;
        Ok(LlmConfig {
            arch: Arch::Gpt2,
            vocab: need_usize(v, &["vocab_size"], MAX_VOCAB)?,
            hidden,
            layers: need_usize(v, &["n_layer", "num_hidden_layers"], MAX_LAYERS)?,
            heads,
            kv_heads: heads,
            head_dim,
            intermediate: usize_field(v, &["n_inner"], MAX_DIM)?.unwrap_or(4 * hidden),
            norm_eps: f64_field(v, "layer_norm_epsilon")?.unwrap_or(1e-5),
            max_positions: need_usize(v, &["n_positions", "max_position_embeddings"], MAX_DIM)?,
            tied: bool_field(v, "tie_word_embeddings")?.unwrap_or(true),
            query_scale: 1.0 / (head_dim as f64).sqrt(),
            rope_global: None,
            rope_local: None,
            sliding_window: None,
            local_layers: vec![],
            final_softcap: None,
            bos: ids(v.get("bos_token_id")).first().copied(),
            eos: ids(v.get("eos_token_id")),
        }
        .with_layers())
    }

    fn with_layers(mut self) -> Self {
        if self.local_layers.is_empty() {
            self.local_layers = vec![false; self.layers];
        }
        self
    }

    fn llama_like(v: &Value, arch: Arch) -> Result<Self> {
        let hidden = need_usize(v, &["hidden_size"], MAX_DIM)?;
        let heads = need_usize(v, &["num_attention_heads"], MAX_DIM)?;
        let kv_heads = usize_field(v, &["num_key_value_heads"], MAX_DIM)?.unwrap_or(heads);
        let layers = need_usize(v, &["num_hidden_layers"], MAX_LAYERS)?;
        if heads % kv_heads != 0 {
            return Err(cfg_err(format!(
                "num_attention_heads {heads} not a multiple of num_key_value_heads {kv_heads}"
            )));
        }
        let head_dim = match usize_field(v, &["head_dim"], MAX_DIM)? {
            Some(h) => h,
            None if hidden % heads == 0 => hidden / heads,
            None => return Err(cfg_err("hidden_size not divisible by num_attention_heads")),
        };
        if head_dim % 2 != 0 {
            return Err(cfg_err(format!(
                "head_dim {head_dim} must be even for RoPE"
            )));
        }
        let act_key = if arch == Arch::Gemma3 {
            "hidden_activation"
        } else {
            "hidden_act"
        };
        let act = v
            .get(act_key)
            .or_else(|| v.get("hidden_act"))
            .and_then(Value::as_str)
            .unwrap_or(if arch == Arch::Gemma3 {
                "gelu_pytorch_tanh"
            } else {
                "silu"
            });
        let want = if arch == Arch::Gemma3 {
            "gelu_pytorch_tanh"
        } else {
            "silu"
        };
        if act != want {
            return Err(LlmError::Unsupported(format!(
                "{} activation `{act}` (supported: {want})",
                arch.name()
            )));
        }
        for k in ["attention_bias", "mlp_bias"] {
            if bool_field(v, k)? == Some(true) {
                return Err(LlmError::Unsupported(format!(
                    "{} `{k}` = true",
                    arch.name()
                )));
            }
        }
        if let Some(p) = usize_field(v, &["pretraining_tp"], 64)? {
            if p != 1 {
                return Err(LlmError::Unsupported(format!("pretraining_tp = {p}")));
            }
        }
        if f64_field(v, "attn_logit_softcapping")?.is_some() {
            return Err(LlmError::Unsupported("attn_logit_softcapping".into()));
        }
        // RoPE: transformers 5 writes `rope_parameters` (per layer type for Gemma 3),
        // transformers 4 `rope_theta` + `rope_scaling`.
        let params = v.get("rope_parameters").filter(|p| p.is_object());
        let theta4 = f64_field(v, "rope_theta")?;
        let (global, local) = if arch == Arch::Gemma3 {
            let g = params
                .and_then(|p| p.get("full_attention"))
                .or(v.get("rope_scaling").filter(|s| s.is_object()));
            let l = params.and_then(|p| p.get("sliding_attention"));
            let global = rope_from(g, theta4.or(Some(1_000_000.0)))?;
            let local = rope_from(l, f64_field(v, "rope_local_base_freq")?.or(Some(10_000.0)))?;
            (global, local)
        } else {
            let p = params.or(v.get("rope_scaling").filter(|s| s.is_object()));
            let global = rope_from(p, theta4.or(Some(10_000.0)))?;
            (global.clone(), global)
        };
        let sliding_window = usize_field(v, &["sliding_window"], MAX_DIM)?;
        let local_layers: Vec<bool> = match v.get("layer_types").and_then(Value::as_array) {
            Some(types) => {
                if types.len() != layers {
                    return Err(cfg_err(format!(
                        "layer_types has {} entries for {layers} layers",
                        types.len()
                    )));
                }
                types
                    .iter()
                    .map(|t| match t.as_str() {
                        Some("sliding_attention") => Ok(true),
                        Some("full_attention") => Ok(false),
                        other => Err(LlmError::Unsupported(format!("layer type {other:?}"))),
                    })
                    .collect::<Result<_>>()?
            }
            None if arch == Arch::Gemma3 => {
                let pat = usize_field(v, &["sliding_window_pattern"], MAX_LAYERS)?.unwrap_or(6);
                (0..layers).map(|i| (i + 1) % pat != 0).collect()
            }
            None => {
                if sliding_window.is_some() && bool_field(v, "use_sliding_window")? == Some(true) {
                    return Err(LlmError::Unsupported(format!(
                        "{} with a sliding window",
                        arch.name()
                    )));
                }
                vec![false; layers]
            }
        };
        if local_layers.iter().any(|&l| l) && sliding_window.is_none() {
            return Err(cfg_err("sliding-attention layers without `sliding_window`"));
        }
        let query_scale = match (arch, f64_field(v, "query_pre_attn_scalar")?) {
            (Arch::Gemma3, Some(s)) if s > 0.0 => 1.0 / s.sqrt(),
            _ => 1.0 / (head_dim as f64).sqrt(),
        };
        let tied_default = arch == Arch::Gemma3;
        Ok(LlmConfig {
            arch,
            vocab: need_usize(v, &["vocab_size"], MAX_VOCAB)?,
            hidden,
            layers,
            heads,
            kv_heads,
            head_dim,
            intermediate: need_usize(v, &["intermediate_size"], MAX_DIM)?,
            norm_eps: f64_field(v, "rms_norm_eps")?.unwrap_or(1e-6),
            max_positions: need_usize(v, &["max_position_embeddings"], MAX_DIM)?,
            tied: bool_field(v, "tie_word_embeddings")?.unwrap_or(tied_default),
            query_scale,
            rope_global: global,
            rope_local: local,
            sliding_window,
            local_layers,
            final_softcap: f64_field(v, "final_logit_softcapping")?,
            bos: ids(v.get("bos_token_id")).first().copied(),
            eos: ids(v.get("eos_token_id")),
        })
    }

    /// Parameter count implied by the configuration.
    pub fn parameters(&self) -> u64 {
        let (d, i, v) = (
            self.hidden as u64,
            self.intermediate as u64,
            self.vocab as u64,
        );
        let (h, kv, hd) = (
            self.heads as u64,
            self.kv_heads as u64,
            self.head_dim as u64,
        );
        let attn = d * h * hd * 2 + d * kv * hd * 2;
        let mlp = match self.arch {
            Arch::Gpt2 => 2 * d * i,
            _ => 3 * d * i,
        };
        let emb = v * d * if self.tied { 1 } else { 2 };
        let pos = if self.arch == Arch::Gpt2 {
            self.max_positions as u64 * d
        } else {
            0
        };
        emb + pos + self.layers as u64 * (attn + mlp)
    }
}
