#!/usr/bin/env python3
"""Builds zkinfer's bundled example model: a small CNN written with the `onnx` package.

conv(1->8, 3x3, pad 1) -> relu -> maxpool 2x2 -> conv(8->32, 3x3, pad 1) -> relu
-> flatten -> gemm(512 -> 10);  input 1x1x8x8, ~7.5k parameters, opset 13, fixed seed.

Writes examples/models/small_cnn/{network.onnx, input.json} (EZKL input format) and, when
onnxruntime is installed, float_output.json (same format as the peer corpus).

Usage: pip install onnx numpy [onnxruntime]; python3 scripts/make_small_cnn.py
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20261121
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "models", "small_cnn")


def main():
    rng = np.random.default_rng(SEED)

    def init(name, shape, fan_in):
        w = rng.normal(0.0, (2.0 / fan_in) ** 0.5, size=shape).astype(np.float32)
        return numpy_helper.from_array(w, name)

    inits = [
        init("conv1.w", (8, 1, 3, 3), 9),
        numpy_helper.from_array((rng.normal(0, 0.05, 8)).astype(np.float32), "conv1.b"),
        init("conv2.w", (32, 8, 3, 3), 72),
        numpy_helper.from_array((rng.normal(0, 0.05, 32)).astype(np.float32), "conv2.b"),
        init("fc.w", (10, 512), 512),
        numpy_helper.from_array((rng.normal(0, 0.05, 10)).astype(np.float32), "fc.b"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv1.w", "conv1.b"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2.w", "conv2.b"], ["c2"], name="conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Flatten", ["r2"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["output"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "small_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 1, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 10])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="zkinfer make_small_cnn.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(OUT, exist_ok=True)
    onnx.save(model, os.path.join(OUT, "network.onnx"))

    x = rng.uniform(0.0, 1.0, size=(1, 1, 8, 8)).astype(np.float32)
    with open(os.path.join(OUT, "input.json"), "w") as f:
        json.dump({"input_data": [[round(float(v), 6) for v in x.flatten()]], "input_shapes": [[1, 1, 8, 8]]}, f)
        f.write("\n")

    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed: float_output.json not written")
        return
    xs = np.array(json.load(open(os.path.join(OUT, "input.json")))["input_data"][0], dtype=np.float32).reshape(1, 1, 8, 8)
    sess = ort.InferenceSession(os.path.join(OUT, "network.onnx"), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"input": xs})
    with open(os.path.join(OUT, "float_output.json"), "w") as f:
        json.dump({"output_data": [y.flatten().tolist()], "output_shapes": [list(y.shape)],
                   "reference": f"onnxruntime {ort.__version__}"}, f)
        f.write("\n")
    n = sum(int(np.prod(t.dims)) for t in inits)
    print(f"wrote {OUT}: {n} parameters, output {y.flatten()[:4]}...")


if __name__ == "__main__":
    main()
