#!/usr/bin/env bash
# Greedy generation proven: compile the bundled tiny GPT-2 checkpoint (examples/llm/gpt2, made by
# scripts/make_llm_fixtures.py), generate 8 tokens from a prompt with a proof, verify it.
# Usage: bash scripts/llm_example.sh [HF_DIR] [PROMPT]
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${ZKINFER_PROFILE:-release}"
if [ -n "${ZKINFER_BIN:-}" ]; then
  # A CLI built already (CI passes the one `cargo test --workspace` built: building
  # `-p zkinfer-cli` alone resolves features differently and recompiles much of the tree).
  BIN="$ZKINFER_BIN"
elif [ "$PROFILE" = "release" ]; then
  cargo build --release -q -p zkinfer-cli
  BIN=target/release/zkinfer
else
  cargo build --profile "$PROFILE" -q -p zkinfer-cli
  BIN=target/debug/zkinfer
fi
CKPT="${1:-examples/llm/gpt2}"
PROMPT="${2:-The cat sat on the}"
OUT="${TMPDIR:-/tmp}/zkinfer-llm-example"
rm -rf "$OUT"
mkdir -p "$OUT"
echo "== compile (calibrate on the bundled text, quantize, commit weights)"
"$BIN" compile --hf "$CKPT" --context 32 --new-tokens 8 -o "$OUT/model"
echo
echo "== generate (streamed), then prove"
"$BIN" generate "$OUT/model/model.zkm" --prompt "$PROMPT" --max-new-tokens 8 -o "$OUT/gen.proof"
echo
echo "== verify"
"$BIN" verify "$OUT/gen.proof" --vk "$OUT/model/model.vk"
