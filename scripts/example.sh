#!/usr/bin/env bash
# zkinfer's first command: compile, prove and verify the bundled small CNN
# (examples/models/small_cnn, made by scripts/make_small_cnn.py) with the release CLI,
# printing the verified output and timings.
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${ZKINFER_PROFILE:-release}"
if [ "$PROFILE" = "release" ]; then
  cargo build --release -q -p zkinfer-cli
  BIN=target/release/zkinfer
else
  # "test" (used by CI) reuses the test build's artifacts; it writes to target/debug.
  cargo build --profile "$PROFILE" -q -p zkinfer-cli
  BIN=target/debug/zkinfer
fi
MODEL=examples/models/small_cnn
OUT="${TMPDIR:-/tmp}/zkinfer-example"
rm -rf "$OUT"
mkdir -p "$OUT"
echo "== compile (quantize, commit weights)"
"$BIN" compile "$MODEL/network.onnx" --calibration "$MODEL/input.json" -o "$OUT/small_cnn"
echo
echo "== prove"
"$BIN" prove "$OUT/small_cnn/model.zkm" --input "$MODEL/input.json" -o "$OUT/proof.bin"
echo
echo "== verify"
"$BIN" verify "$OUT/proof.bin" --vk "$OUT/small_cnn/model.vk"
