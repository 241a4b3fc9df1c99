impl GgufWeights {
    fn key(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.arch.gguf_name())
    }

    fn req_u64(&self, suffix: &str) -> Result<u64> {
        let key = self.key(suffix);
        match self.gguf.meta(&key) {
            Some(v) => v.as_u64().ok_or_else(|| {
                LlmError::Config(format!("GGUF `{key}` is a {}, expected an unsigned integer", v.type_name()))
            }),
            None => Err(LlmError::Config(format!("GGUF metadata `{key}` is missing"))),
        }
    }

    fn opt_u64(&self, suffix: &str) -> Result<Option<u64>> {
        let key = self.key(suffix);
        self.gguf
            .meta(&key)
            .map(|v| {
                v.as_u64().ok_or_else(|| {
                    LlmError::Config(format!("GGUF `{key}` is a {}, expected an unsigned integer", v.type_name()))
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
                    LlmError::Config(format!("GGUF `{key}` is a {}, expected a number", v.type_name()))
                })
            })
            .transpose()
    }

    /// A Hugging Face `config.json`-shaped object rebuilt from the `<arch>.*` metadata.
    ///
    /// `vocab_size` is the row count of the token embedding as presented (the Gemma 3
    /// converter drops padding rows past the tokenizer's vocabulary). Fields GGUF does not
    /// store take the llama.cpp defaults (Gemma 3: sliding-window pattern 6, local RoPE base
    /// 10000 unless `rope.freq_base_swa`, attention scale from `head_dim` except the 62-layer
    /// 27B). Llama 3-style RoPE scaling (a `rope_freqs` tensor) is reported as unsupported.
    pub fn hf_config(&self) -> Result<Value> {
        let embd_name = match self.arch {
            GgufArch::Gpt2 => "transformer.wte.weight",
            _ => "model.embed_tokens.weight",
        };
        let vocab_size = self
            .shape(embd_name)
            .and_then(|s| s.first().copied())
            .ok_or_else(|| LlmError::MissingTensor { name: embd_name.into() })?;
        let hidden = self.req_u64("embedding_length")?;
        let layers = self.req_u64("block_count")?;
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
                let eps = self.opt_f64("attention.layer_norm_epsilon")?.unwrap_or(1e-5);
                let ctx = ctx.ok_or_else(|| LlmError::Config("GGUF `gpt2.context_length` is missing".into()))?;
                c.insert("architectures".into(), json!(["GPT2LMHeadModel"]));
                c.insert("model_type".into(), json!("gpt2"));
                c.insert("vocab_size".into(), json!(vocab_size));
                c.insert("n_embd".into(), json!(hidden));
                c.insert("n_layer".into(), json!(layers));
                c.insert("n_head".into(), json!(heads));
                c.insert("n_positions".into(), json!(ctx));
                c.insert("n_ctx".into(), json!(ctx));
                c.insert("n_inner".into(), json!(ff.unwrap_or(4 * hidden)));
                c.insert("layer_norm_epsilon".into(), json!(eps));
                c.insert("activation_function".into(), json!("gelu_new"));
            }
            GgufArch::Llama | GgufArch::Gemma3 => {
                if self.unmapped.iter().any(|n| n == "rope_freqs.weight") {
                    return Err(LlmError::Unsupported(
                        "Llama 3-style RoPE frequency scaling (`rope_freqs.weight`) cannot be turned back into rope_scaling".into(),
                    ));
                }
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
                let ff = ff.ok_or_else(|| LlmError::Config(format!("GGUF `{}` is missing", self.key("feed_forward_length"))))?;
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
                let default_theta = if self.arch == GgufArch::Gemma3 { 1_000_000.0 } else { 10_000.0 };
                let theta = self.opt_f64("rope.freq_base")?.unwrap_or(default_theta);
                c.insert("rope_theta".into(), json!(theta));
                if let Some(scaling) = self.rope_scaling()? {
                    c.insert("rope_scaling".into(), scaling);
                } else {
                    c.insert("rope_scaling".into(), Value::Null);
                }
                if self.arch == GgufArch::Llama {
                    c.insert("rms_norm_eps".into(), json!(eps.unwrap_or(1e-5)));
                    c.insert("hidden_act".into(), json!("silu"));
                    let bias = self.map.contains_key("model.layers.0.self_attn.q_proj.bias");
                    c.insert("attention_bias".into(), json!(bias));
                    c.insert("mlp_bias".into(), json!(self.map.contains_key("model.layers.0.mlp.up_proj.bias")));
                } else {
                    c.insert("rms_norm_eps".into(), json!(eps.unwrap_or(1e-6)));
                    c.insert("hidden_activation".into(), json!("gelu_pytorch_tanh"));
                    let local = self.opt_f64("rope.freq_base_swa")?.unwrap_or(10_000.0);
                    c.insert("rope_local_base_freq".into(), json!(local));
                    let window = self.opt_u64("attention.sliding_window")?;
                    c.insert("sliding_window".into(), json!(window));
                    let pattern = 6u64;
                    c.insert("sliding_window_pattern".into(), json!(pattern));
                    let layer_types: Vec<&str> = (0..layers)
                        .map(|i| {
                            if window.is_some() && (i + 1) % pattern != 0 {
                                "sliding_attention"
                            } else {
                                "full_attention"
                            }
                        })
                        .collect();
                    c.insert("layer_types".into(), json!(layer_types));
                    let scalar = if layers == 62 && heads > 0 { hidden / heads } else { head_dim };
                    c.insert("query_pre_attn_scalar".into(), json!(scalar));
                    c.insert("final_logit_softcapping".into(), json!(self.opt_f64("final_logit_softcapping")?));
                    c.insert("attn_logit_softcapping".into(), json!(self.opt_f64("attn_logit_softcapping")?));
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

    fn rope_scaling(&self) -> Result<Option<Value>> {
        let key = self.key("rope.scaling.type");
        let Some(ty) = self.gguf.meta(&key) else {
            return Ok(None);
        };
        let ty = ty.as_str().ok_or_else(|| LlmError::Config(format!("GGUF `{key}` is not a string")))?;
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
            other => return Err(LlmError::Unsupported(format!("GGUF RoPE scaling type `{other}`"))),
        })
    }

    /// A Hugging Face `tokenizer.json` rebuilt from the `tokenizer.ggml.*` metadata.
    ///
    /// Supported: model `gpt2` (byte-level BPE with merges; pre-tokenizers `gpt-2`/`default`
    /// and `llama-bpe`), with BOS (and EOS) added by a template post-processor when
    /// `tokenizer.ggml.add_bos_token` (`add_eos_token`) is true.
    pub fn tokenizer_json(&self) -> Result<String> {
        super::gguf_tokenizer::tokenizer_json(&self.gguf).map(|v| v.to_string())
    }
}
