#!/usr/bin/env python3
"""Writes the config.json of real full-size checkpoints (no weights) with transformers' own config
classes, for crates/llm/tests/configs: the loader must read every switch of the configurations
issue 13 proves (GPT-2 124M, Gemma 3 270M and 1B) and of Llama 3.2 1B.
Values are those of the published checkpoints' configs.
Usage: pip install transformers; python3 scripts/make_llm_configs.py"""
import os
from transformers import GPT2Config, Gemma3TextConfig, LlamaConfig

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "llm", "tests", "configs")


def gemma(layers, hidden, inter):
    types = ["sliding_attention" if (i + 1) % 6 else "full_attention" for i in range(layers)]
    c = Gemma3TextConfig(
        vocab_size=262144, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=1, head_dim=256, max_position_embeddings=32768,
        sliding_window=512, layer_types=types, query_pre_attn_scalar=256, rms_norm_eps=1e-6,
        hidden_activation="gelu_pytorch_tanh", bos_token_id=2, eos_token_id=1, pad_token_id=0,
        rope_theta=1_000_000.0, rope_local_base_freq=10_000.0, tie_word_embeddings=True,
    )
    c.architectures = ["Gemma3ForCausalLM"]
    return c


def main():
    os.makedirs(OUT, exist_ok=True)
    gpt2 = GPT2Config()  # the 124M defaults: 12 layers, d 768, 12 heads, 1024 positions
    gpt2.architectures = ["GPT2LMHeadModel"]
    llama = LlamaConfig(
        vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
        num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=131072,
        rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True, bos_token_id=128000,
        eos_token_id=128001,
        rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
    )
    llama.architectures = ["LlamaForCausalLM"]
    for name, cfg in [("gpt2-124m", gpt2), ("gemma3-270m", gemma(18, 640, 2048)),
                      ("gemma3-1b", gemma(26, 1152, 6912)), ("llama3.2-1b", llama)]:
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            f.write(cfg.to_json_string())
        print(name)


if __name__ == "__main__":
    main()
