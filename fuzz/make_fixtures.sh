#!/usr/bin/env bash
# Makes the fuzz targets' fixtures (verifying keys and valid proofs) and seed corpora with the
# release CLI, from the bundled examples. Output: fuzz/fixtures/ and fuzz/corpus/ (not in git).
# Usage: bash fuzz/make_fixtures.sh [ZKINFER_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/release/zkinfer}"
if [ "$#" -eq 0 ]; then
  cargo build --release -q -p zkinfer-cli
fi
FX=fuzz/fixtures
CO=fuzz/corpus
rm -rf "$FX" "$CO"
mkdir -p "$FX/small_cnn" "$FX/gpt2"
CNN=examples/models/small_cnn
"$BIN" compile "$CNN/network.onnx" --calibration "$CNN/input.json" --quiet -o "$FX/small_cnn" > /dev/null
"$BIN" prove "$FX/small_cnn/model.zkm" --input "$CNN/input.json" -o "$FX/small_cnn/proof" --quiet > /dev/null
"$BIN" verify "$FX/small_cnn/proof" --vk "$FX/small_cnn/model.vk" > /dev/null
"$BIN" prove "$FX/small_cnn/model.zkm" --input "$CNN/input.json" -o "$FX/small_cnn/masked.proof" \
  --masked-sumchecks --quiet > /dev/null
"$BIN" verify "$FX/small_cnn/masked.proof" --vk "$FX/small_cnn/model.vk" > /dev/null
"$BIN" compile --hf examples/llm/gpt2 --context 16 --new-tokens 4 -o "$FX/gpt2" --quiet > /dev/null
"$BIN" generate "$FX/gpt2/model.zkm" --prompt "The cat sat" --max-new-tokens 4 -o "$FX/gpt2/gen.proof" > /dev/null
"$BIN" verify "$FX/gpt2/gen.proof" --vk "$FX/gpt2/model.vk" > /dev/null
seed() { mkdir -p "$CO/$1"; cp "$2" "$CO/$1/$(basename "$(dirname "$2")")-$(basename "$2")"; }
seed proof_bytes "$FX/small_cnn/proof"
seed proof_bytes "$FX/small_cnn/masked.proof"
seed vk_bytes "$FX/small_cnn/model.vk"
seed vk_bytes "$FX/gpt2/model.vk"
seed zkm_bytes "$FX/small_cnn/model.zkm"
seed onnx_bytes "$CNN/network.onnx"
seed input_json "$CNN/input.json"
for f in ../shared/peer-models/ezkl/*/input.json; do
  [ -f "$f" ] && { mkdir -p "$CO/input_json"; cp "$f" "$CO/input_json/$(basename "$(dirname "$f")").json"; }
done
seed safetensors examples/llm/gpt2/model.safetensors
seed gguf examples/llm/gpt2/model.gguf
for a in gpt2 gemma3 llama; do
  mkdir -p "$CO/llm_config" "$CO/tokenizer"
  cp "examples/llm/$a/config.json" "$CO/llm_config/$a.json"
  cp "examples/llm/$a/tokenizer.json" "$CO/tokenizer/$a.json"
done
# Structure-aware targets start from small mutation records; the first byte picks the region.
mkdir -p "$CO/proof_mutate" "$CO/generation_proof"
printf '\x00\x00\x10\x01' > "$CO/proof_mutate/transcript"
printf '\x02\x00\x01' > "$CO/proof_mutate/inputs"
printf '\x03\x00\x01' > "$CO/proof_mutate/outputs"
printf '\x04\x00\x10\x01' > "$CO/proof_mutate/masked-transcript"
printf '\x06\x00\x01' > "$CO/proof_mutate/masked-inputs"
printf '\x01\x00\x20\x01' > "$CO/generation_proof/mutate"
printf '\x00' | cat - "$FX/gpt2/gen.proof" > "$CO/generation_proof/raw"
echo "fixtures in $FX, seed corpora in $CO"
