#!/usr/bin/env bash
# zkinfer's first command: compile, prove and verify the bundled small CNN
# (examples/models/small_cnn, made by scripts/make_small_cnn.py) with the release CLI,
# printing the verified output and timings.
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
