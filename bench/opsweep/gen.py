#!/usr/bin/env python3
"""Builds one tiny ONNX model per op under $OPSWEEP_DIR/models/<name>/ (default
/tmp/zkinfer-opsweep) with
network.onnx, input.json (EZKL format) and ref.json (onnxruntime outputs)."""
import json, os, sys, shutil, traceback
import numpy as np
import onnx
from onnx import helper as h, TensorProto as TP, numpy_helper as nh

ROOT = os.path.join(os.environ.get("OPSWEEP_DIR", "/tmp/zkinfer-opsweep"), "models")
rng = np.random.default_rng(1234)
F = TP.FLOAT
MODELS = {}  # name -> (op label, builder)


def init(name, arr):
    arr = np.asarray(arr)
    return nh.from_array(arr, name)


def rnd(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def reg(name, op=None):
    def deco(fn):
        MODELS[name] = (op or name, fn)
        return fn
    return deco


def model(nodes, in_shape, outs, inits=(), opset=17, in_type=F, extra_inputs=()):
    """outs: list of (name, elem_type, shape or None)."""
    inputs = [h.make_tensor_value_info("input", in_type, in_shape)]
    for n, s in extra_inputs:
        inputs.append(h.make_tensor_value_info(n, F, s))
    outputs = [h.make_tensor_value_info(n, t, s) for (n, t, s) in outs]
    g = h.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="opsweep")
    m.ir_version = 8 if opset <= 17 else 9
    return m


def unary(op, shape=(1, 16), out_type=F, opset=17, lo=-2.0, hi=2.0, **attrs):
    n = h.make_node(op, ["input"], ["output"], **attrs)
    return model([n], list(shape), [("output", out_type, None)], opset=opset), (lo, hi)


# ---------------------------------------------------------------- linear
@reg("Gemm")
def _():
    W, B = rnd(8, 16), rnd(8)
    n = h.make_node("Gemm", ["input", "W", "B"], ["output"], transB=1)
    return model([n], [1, 16], [("output", F, None)], [init("W", W), init("B", B)]), None


@reg("MatMul")
def _():
    n = h.make_node("MatMul", ["input", "W"], ["output"])
    return model([n], [1, 16], [("output", F, None)], [init("W", rnd(16, 8))]), None


def conv(in_shape, wshape, **attrs):
    n = h.make_node("Conv", ["input", "W", "B"], ["output"], **attrs)
    return model([n], list(in_shape), [("output", F, None)],
                 [init("W", rnd(*wshape, lo=-0.5, hi=0.5)), init("B", rnd(wshape[0]))]), None


reg("Conv1d", "Conv")(lambda: conv((1, 3, 16), (4, 3, 3)))
reg("Conv2d", "Conv")(lambda: conv((1, 3, 8, 8), (4, 3, 3, 3)))
reg("Conv2d_stride2_pad1", "Conv")(lambda: conv((1, 3, 8, 8), (4, 3, 3, 3), strides=[2, 2], pads=[1, 1, 1, 1]))
reg("Conv2d_asym_pads", "Conv")(lambda: conv((1, 3, 8, 8), (4, 3, 3, 3), pads=[0, 1, 2, 1]))
reg("Conv2d_dilation2", "Conv")(lambda: conv((1, 3, 8, 8), (4, 3, 3, 3), dilations=[2, 2]))
reg("Conv2d_groups2", "Conv")(lambda: conv((1, 4, 8, 8), (6, 2, 3, 3), group=2))
reg("Conv2d_depthwise", "Conv")(lambda: conv((1, 4, 8, 8), (4, 1, 3, 3), group=4, pads=[1, 1, 1, 1]))
reg("Conv2d_same_upper", "Conv")(lambda: conv((1, 3, 8, 8), (4, 3, 3, 3), auto_pad="SAME_UPPER"))


@reg("ConvTranspose")
def _():
    n = h.make_node("ConvTranspose", ["input", "W", "B"], ["output"], strides=[2, 2])
    return model([n], [1, 3, 4, 4], [("output", F, None)],
                 [init("W", rnd(3, 2, 3, 3, lo=-0.5, hi=0.5)), init("B", rnd(2))]), None


@reg("ConvTranspose_pads_outpad", "ConvTranspose")
def _():
    n = h.make_node("ConvTranspose", ["input", "W"], ["output"], strides=[2, 2], pads=[1, 1, 1, 1],
                    output_padding=[1, 1])
    return model([n], [1, 3, 4, 4], [("output", F, None)], [init("W", rnd(3, 2, 3, 3, lo=-0.5, hi=0.5))]), None


# ---------------------------------------------------------------- elementwise binary
def binconst(op, c, shape=(1, 16), lo=-2.0, hi=2.0):
    n = h.make_node(op, ["input", "C"], ["output"])
    return model([n], list(shape), [("output", F, None)], [init("C", c)]), (lo, hi)


reg("Add")(lambda: binconst("Add", rnd(1, 16)))
reg("Sub")(lambda: binconst("Sub", rnd(1, 16)))
reg("Mul")(lambda: binconst("Mul", rnd(1, 16)))
reg("Div")(lambda: binconst("Div", rnd(1, 16, lo=0.5, hi=2.0)))
reg("Div_scalar", "Div")(lambda: binconst("Div", np.array(3.0, np.float32)))


def two_act(op, pre=None, lo=-2.0, hi=2.0):
    """op(input, B) where B = input * W + c elementwise (a second activation)."""
    nodes = [h.make_node("Mul", ["input", "W"], ["t"]), h.make_node("Add", ["t", "c"], ["B"])]
    nodes.append(h.make_node(op, ["input", "B"], ["output"]))
    return model(nodes, [1, 16], [("output", F, None)], [init("W", rnd(1, 16)), init("c", rnd(1, 16))]), (lo, hi)


reg("Add_two_act", "Add")(lambda: two_act("Add"))
reg("Mul_two_act", "Mul")(lambda: two_act("Mul"))


@reg("Div_two_act", "Div")
def _():
    # denominator = sigmoid(x) + 0.5 (always in [0.5,1.5])
    nodes = [h.make_node("Sigmoid", ["input"], ["s"]), h.make_node("Add", ["s", "c"], ["d"]),
             h.make_node("Div", ["input", "d"], ["output"])]
    return model(nodes, [1, 16], [("output", F, None)], [init("c", np.array(0.5, np.float32))]), None


reg("Neg")(lambda: unary("Neg"))
reg("Abs")(lambda: unary("Abs"))
reg("Sign")(lambda: unary("Sign"))
reg("Relu")(lambda: unary("Relu"))
reg("LeakyRelu")(lambda: unary("LeakyRelu", alpha=0.1))


@reg("PRelu")
def _():
    n = h.make_node("PRelu", ["input", "S"], ["output"])
    return model([n], [1, 3, 4, 4], [("output", F, None)], [init("S", rnd(3, 1, 1, lo=0.0, hi=0.5))]), None


reg("Sigmoid")(lambda: unary("Sigmoid"))
reg("Tanh")(lambda: unary("Tanh"))
reg("Erf")(lambda: unary("Erf"))
reg("Gelu_op20", "Gelu")(lambda: unary("Gelu", opset=20))
reg("Gelu_op20_tanh", "Gelu")(lambda: unary("Gelu", opset=20, approximate="tanh"))


@reg("Gelu_erf_pattern", "Gelu")
def _():
    nodes = [h.make_node("Div", ["input", "sq2"], ["a"]), h.make_node("Erf", ["a"], ["b"]),
             h.make_node("Add", ["b", "one"], ["c"]), h.make_node("Mul", ["input", "c"], ["d"]),
             h.make_node("Mul", ["d", "half"], ["output"])]
    return model(nodes, [1, 16], [("output", F, None)],
                 [init("sq2", np.array(np.sqrt(2.0), np.float32)), init("one", np.array(1.0, np.float32)),
                  init("half", np.array(0.5, np.float32))]), None


reg("Elu")(lambda: unary("Elu", alpha=1.0))
reg("Selu")(lambda: unary("Selu"))
reg("Celu")(lambda: unary("Celu", alpha=1.0))
reg("HardSigmoid")(lambda: unary("HardSigmoid", lo=-4, hi=4))
reg("HardSwish")(lambda: unary("HardSwish", lo=-4, hi=4))
reg("Softplus")(lambda: unary("Softplus"))
reg("Softsign")(lambda: unary("Softsign"))
reg("Exp")(lambda: unary("Exp"))
reg("Log")(lambda: unary("Log", lo=0.1, hi=3.0))
reg("Sqrt")(lambda: unary("Sqrt", lo=0.1, hi=3.0))
reg("Reciprocal")(lambda: unary("Reciprocal", lo=0.5, hi=2.0))
reg("Pow_2", "Pow")(lambda: binconst("Pow", np.array(2.0, np.float32)))
reg("Pow_3", "Pow")(lambda: binconst("Pow", np.array(3.0, np.float32)))
reg("Pow_0.5", "Pow")(lambda: binconst("Pow", np.array(0.5, np.float32), lo=0.1, hi=3.0))


@reg("Clip")
def _():
    n = h.make_node("Clip", ["input", "lo", "hi"], ["output"])
    return model([n], [1, 16], [("output", F, None)],
                 [init("lo", np.array(-1.0, np.float32)), init("hi", np.array(1.0, np.float32))]), None


reg("Min_two_act", "Min")(lambda: two_act("Min"))
reg("Max_two_act", "Max")(lambda: two_act("Max"))
reg("Max_const", "Max")(lambda: binconst("Max", rnd(1, 16)))


@reg("Max_two_inputs", "Max")
def _():
    n = h.make_node("Max", ["input", "input2"], ["output"])
    return model([n], [1, 16], [("output", F, None)], extra_inputs=[("input2", [1, 16])]), None


# ---------------------------------------------------------------- pooling / norm
def pool(op, shape=(1, 3, 8, 8), **attrs):
    n = h.make_node(op, ["input"], ["output"], **attrs)
    return model([n], list(shape), [("output", F, None)]), None


reg("MaxPool")(lambda: pool("MaxPool", kernel_shape=[2, 2], strides=[2, 2]))
reg("MaxPool_3x3_pad1", "MaxPool")(lambda: pool("MaxPool", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]))
reg("AveragePool")(lambda: pool("AveragePool", kernel_shape=[2, 2], strides=[2, 2]))
reg("AveragePool_3x3_pad1_excl", "AveragePool")(lambda: pool("AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
reg("GlobalAveragePool")(lambda: pool("GlobalAveragePool"))
reg("GlobalMaxPool", "GlobalMaxPool")(lambda: pool("GlobalMaxPool"))
reg("LpPool")(lambda: pool("LpPool", kernel_shape=[2, 2], strides=[2, 2], p=2))
reg("LpPool_p1_pad1", "LpPool")(lambda: pool("LpPool", kernel_shape=[3, 3], pads=[1, 1, 1, 1], p=1))
reg("LpPool_p3_stride2", "LpPool")(lambda: pool("LpPool", kernel_shape=[2, 3], strides=[2, 1], p=3))


@reg("BatchNormalization")
def _():
    n = h.make_node("BatchNormalization", ["input", "s", "b", "m", "v"], ["output"])
    return model([n], [1, 3, 4, 4], [("output", F, None)],
                 [init("s", rnd(3, lo=0.5, hi=1.5)), init("b", rnd(3)), init("m", rnd(3)),
                  init("v", rnd(3, lo=0.5, hi=2.0))]), None


@reg("InstanceNormalization")
def _():
    n = h.make_node("InstanceNormalization", ["input", "s", "b"], ["output"])
    return model([n], [1, 3, 4, 4], [("output", F, None)],
                 [init("s", rnd(3, lo=0.5, hi=1.5)), init("b", rnd(3))]), None


@reg("LayerNormalization")
def _():
    n = h.make_node("LayerNormalization", ["input", "s", "b"], ["output"], axis=-1)
    return model([n], [1, 4, 16], [("output", F, None)],
                 [init("s", rnd(16, lo=0.5, hi=1.5)), init("b", rnd(16))]), None


# ---------------------------------------------------------------- reductions
def red(op, **attrs):
    n = h.make_node(op, ["input"], ["output"], axes=[2, 3], keepdims=1, **attrs)
    return model([n], [1, 3, 4, 4], [("output", F, None)]), None


reg("ReduceMean")(lambda: red("ReduceMean"))
reg("ReduceMax")(lambda: red("ReduceMax"))
reg("ReduceMin")(lambda: red("ReduceMin"))
reg("ReduceL1")(lambda: red("ReduceL1"))
reg("ReduceL2")(lambda: red("ReduceL2"))
reg("ReduceLogSumExp")(lambda: red("ReduceLogSumExp"))


@reg("ReduceSum")
def _():
    n = h.make_node("ReduceSum", ["input", "axes"], ["output"], keepdims=1)
    return model([n], [1, 3, 4, 4], [("output", F, None)], [init("axes", np.array([2, 3], np.int64))]), None


@reg("ReduceMean_lastaxis_nokeep", "ReduceMean")
def _():
    n = h.make_node("ReduceMean", ["input"], ["output"], axes=[-1], keepdims=0)
    return model([n], [1, 4, 16], [("output", F, None)]), None


reg("Softmax")(lambda: unary("Softmax", axis=-1))
reg("LogSoftmax")(lambda: unary("LogSoftmax", axis=-1))
reg("ArgMax")(lambda: unary("ArgMax", out_type=TP.INT64, axis=1, keepdims=1))
reg("ArgMax_last_axis0", "ArgMax")(lambda: unary("ArgMax", shape=(6, 4), out_type=TP.INT64, axis=0, keepdims=0, select_last_index=1))
reg("ArgMin", "ArgMin")(lambda: unary("ArgMin", shape=(3, 8), out_type=TP.INT64, axis=-1, keepdims=1))


@reg("TopK_smallest_k4", "TopK")
def _():
    n = h.make_node("TopK", ["input", "k"], ["output", "idx"], axis=1, largest=0)
    return model([n], [2, 12], [("output", F, None), ("idx", TP.INT64, None)],
                 [init("k", np.array([4], np.int64))]), None


@reg("TopK")
def _():
    n = h.make_node("TopK", ["input", "k"], ["output", "idx"], axis=-1)
    return model([n], [1, 16], [("output", F, None)], [init("k", np.array([2], np.int64))]), None


@reg("TopK_values_and_indices", "TopK")
def _():
    n = h.make_node("TopK", ["input", "k"], ["output", "idx"], axis=-1)
    return model([n], [1, 16], [("output", F, None), ("idx", TP.INT64, None)],
                 [init("k", np.array([2], np.int64))]), None


# ---------------------------------------------------------------- shape ops
reg("Flatten")(lambda: pool("Flatten", shape=(1, 3, 4, 4), axis=1))


@reg("Reshape")
def _():
    n = h.make_node("Reshape", ["input", "s"], ["output"])
    return model([n], [1, 3, 4, 4], [("output", F, None)], [init("s", np.array([1, 6, 8], np.int64))]), None


reg("Transpose")(lambda: pool("Transpose", shape=(1, 3, 4, 4), perm=[0, 2, 3, 1]))


@reg("Concat")
def _():
    n = h.make_node("Concat", ["input", "C"], ["output"], axis=1)
    return model([n], [1, 3, 4, 4], [("output", F, None)], [init("C", rnd(1, 2, 4, 4))]), None


@reg("Concat_two_act", "Concat")
def _():
    nodes = [h.make_node("Relu", ["input"], ["r"]), h.make_node("Concat", ["input", "r"], ["output"], axis=1)]
    return model(nodes, [1, 3, 4, 4], [("output", F, None)]), None


@reg("Slice")
def _():
    n = h.make_node("Slice", ["input", "st", "en", "ax", "sp"], ["output"])
    return model([n], [1, 3, 8, 8], [("output", F, None)],
                 [init("st", np.array([1, 1], np.int64)), init("en", np.array([7, 8], np.int64)),
                  init("ax", np.array([2, 3], np.int64)), init("sp", np.array([2, 3], np.int64))]), None


@reg("Pad")
def _():
    n = h.make_node("Pad", ["input", "p"], ["output"], mode="constant")
    return model([n], [1, 3, 4, 4], [("output", F, None)],
                 [init("p", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64))]), None


@reg("Pad_value", "Pad")
def _():
    n = h.make_node("Pad", ["input", "p", "v"], ["output"], mode="constant")
    return model([n], [1, 3, 4, 4], [("output", F, None)],
                 [init("p", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)), init("v", np.array(0.75, np.float32))]), None


@reg("Pad_reflect", "Pad")
def _():
    n = h.make_node("Pad", ["input", "p"], ["output"], mode="reflect")
    return model([n], [1, 3, 4, 4], [("output", F, None)],
                 [init("p", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))]), None


@reg("Pad_edge", "Pad")
def _():
    n = h.make_node("Pad", ["input", "p"], ["output"], mode="edge")
    return model([n], [1, 3, 4, 4], [("output", F, None)],
                 [init("p", np.array([0, 0, 2, 0, 0, 0, 1, 3], np.int64))]), None


@reg("Squeeze")
def _():
    n = h.make_node("Squeeze", ["input", "a"], ["output"])
    return model([n], [1, 16, 1], [("output", F, None)], [init("a", np.array([2], np.int64))]), None


@reg("Unsqueeze")
def _():
    n = h.make_node("Unsqueeze", ["input", "a"], ["output"])
    return model([n], [1, 16], [("output", F, None)], [init("a", np.array([1], np.int64))]), None


@reg("Gather")
def _():
    n = h.make_node("Gather", ["input", "i"], ["output"], axis=1)
    return model([n], [1, 16], [("output", F, None)], [init("i", np.array([3, 0, 5, 5, 15], np.int64))]), None


@reg("Gather_scalar_idx", "Gather")
def _():
    n = h.make_node("Gather", ["input", "i"], ["output"], axis=1)
    return model([n], [1, 4, 8], [("output", F, None)], [init("i", np.array(2, np.int64))]), None


reg("Identity")(lambda: unary("Identity"))
reg("Cast_f32", "Cast")(lambda: unary("Cast", to=TP.FLOAT))


@reg("Cast_int64_roundtrip", "Cast")
def _():
    nodes = [h.make_node("Cast", ["input"], ["i"], to=TP.INT64), h.make_node("Cast", ["i"], ["output"], to=TP.FLOAT)]
    return model(nodes, [1, 16], [("output", F, None)]), (-4.0, 4.0)


@reg("Where")
def _():
    nodes = [h.make_node("Greater", ["input", "z"], ["c"]), h.make_node("Mul", ["input", "k"], ["m"]),
             h.make_node("Where", ["c", "input", "m"], ["output"])]
    return model(nodes, [1, 16], [("output", F, None)],
                 [init("z", np.array(0.0, np.float32)), init("k", np.array(0.1, np.float32))]), None


@reg("Where_const_branch", "Where")
def _():
    nodes = [h.make_node("Less", ["input", "z"], ["c"]), h.make_node("Where", ["c", "C", "input"], ["output"])]
    return model(nodes, [1, 16], [("output", F, None)],
                 [init("z", np.array(0.5, np.float32)), init("C", rnd(1, 16))]), None


def cmp(op, cast=False, half_grid=False):
    C = rnd(1, 16)
    if half_grid:
        C = (np.round(C * 4) / 2).astype(np.float32)  # multiples of 0.5
    nodes = [h.make_node(op, ["input", "C"], ["b" if cast else "output"])]
    if cast:
        nodes.append(h.make_node("Cast", ["b"], ["output"], to=TP.FLOAT))
    m = model(nodes, [1, 16], [("output", F if cast else TP.BOOL, None)], [init("C", C)])
    return m, ("half_grid" if half_grid else None)


reg("Less")(lambda: cmp("Less"))
reg("Less_cast_float", "Less")(lambda: cmp("Less", cast=True))
reg("Greater")(lambda: cmp("Greater"))
reg("Greater_cast_float", "Greater")(lambda: cmp("Greater", cast=True))
reg("Equal")(lambda: cmp("Equal", half_grid=True))
reg("Equal_cast_float", "Equal")(lambda: cmp("Equal", cast=True, half_grid=True))


@reg("Not")
def _():
    nodes = [h.make_node("Greater", ["input", "z"], ["c"]), h.make_node("Not", ["c"], ["output"])]
    return model(nodes, [1, 16], [("output", TP.BOOL, None)], [init("z", np.array(0.0, np.float32))]), None


def logic(op):
    nodes = [h.make_node("Greater", ["input", "a"], ["c1"]), h.make_node("Less", ["input", "b"], ["c2"]),
             h.make_node(op, ["c1", "c2"], ["o"]), h.make_node("Cast", ["o"], ["output"], to=TP.FLOAT)]
    return model(nodes, [1, 16], [("output", F, None)],
                 [init("a", np.array(-0.5, np.float32)), init("b", np.array(0.7, np.float32))]), None


reg("And")(lambda: logic("And"))
reg("Or")(lambda: logic("Or"))


@reg("Resize_nearest", "Resize")
def _():
    n = h.make_node("Resize", ["input", "", "sc"], ["output"], mode="nearest")
    return model([n], [1, 3, 4, 4], [("output", F, None)],
                 [init("sc", np.array([1, 1, 2, 2], np.float32))]), None


@reg("Resize_nearest_sizes", "Resize")
def _():
    n = h.make_node("Resize", ["input", "", "", "sz"], ["output"], mode="nearest")
    return model([n], [1, 3, 4, 4], [("output", F, None)],
                 [init("sz", np.array([1, 3, 8, 12], np.int64))]), None


@reg("Resize_nearest_down_asym", "Resize")
def _():
    n = h.make_node("Resize", ["input", "", "", "sz"], ["output"], mode="nearest",
                    coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    return model([n], [1, 3, 6, 6], [("output", F, None)],
                 [init("sz", np.array([1, 3, 4, 3], np.int64))]), None


@reg("Upsample_frac_scale", "Upsample")
def _():
    n = h.make_node("Upsample", ["input", "sc"], ["output"], mode="nearest")
    m = model([n], [1, 2, 3, 4], [("output", F, None)], [init("sc", np.array([1, 1, 2, 1.5], np.float32))], opset=9)
    m.ir_version = 4
    return m, None


@reg("Upsample")
def _():
    n = h.make_node("Upsample", ["input", "sc"], ["output"], mode="nearest")
    m = model([n], [1, 3, 4, 4], [("output", F, None)], [init("sc", np.array([1, 1, 2, 2], np.float32))], opset=9)
    m.ir_version = 4
    return m, None


@reg("Tile")
def _():
    n = h.make_node("Tile", ["input", "r"], ["output"])
    return model([n], [1, 3, 4, 4], [("output", F, None)], [init("r", np.array([1, 1, 2, 3], np.int64))]), None


@reg("Expand")
def _():
    n = h.make_node("Expand", ["input", "s"], ["output"])
    return model([n], [1, 1, 8], [("output", F, None)], [init("s", np.array([1, 4, 8], np.int64))]), None


@reg("Split")
def _():
    n = h.make_node("Split", ["input", "s"], ["output", "output2"], axis=1)
    return model([n], [1, 16], [("output", F, None), ("output2", F, None)],
                 [init("s", np.array([6, 10], np.int64))]), None


@reg("Split_one_used", "Split")
def _():
    nodes = [h.make_node("Split", ["input", "s"], ["a", "b"], axis=1), h.make_node("Add", ["a", "b"], ["output"])]
    return model(nodes, [1, 16], [("output", F, None)], [init("s", np.array([8, 8], np.int64))]), None


@reg("Trilu")
def _():
    n = h.make_node("Trilu", ["input"], ["output"], upper=1)
    return model([n], [1, 5, 5], [("output", F, None)]), None


@reg("Trilu_lower_k", "Trilu")
def _():
    n = h.make_node("Trilu", ["input", "k"], ["output"], upper=0)
    return model([n], [1, 5, 5], [("output", F, None)], [init("k", np.array(1, np.int64))]), None


# ---------------------------------------------------------------- patterns
@reg("MatMul_two_act_QKt", "MatMul two activations")
def _():
    nodes = [h.make_node("MatMul", ["input", "Wq"], ["q"]), h.make_node("MatMul", ["input", "Wk"], ["k"]),
             h.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]), h.make_node("MatMul", ["q", "kt"], ["output"])]
    return model(nodes, [1, 4, 8], [("output", F, None)],
                 [init("Wq", rnd(8, 8, lo=-0.5, hi=0.5)), init("Wk", rnd(8, 8, lo=-0.5, hi=0.5))]), None


@reg("Attention_QKt_softmax_AV", "MatMul two activations")
def _():
    nodes = [h.make_node("MatMul", ["input", "Wq"], ["q"]), h.make_node("MatMul", ["input", "Wk"], ["k"]),
             h.make_node("MatMul", ["input", "Wv"], ["v"]),
             h.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]), h.make_node("MatMul", ["q", "kt"], ["s"]),
             h.make_node("Div", ["s", "d"], ["s2"]), h.make_node("Softmax", ["s2"], ["a"], axis=-1),
             h.make_node("MatMul", ["a", "v"], ["output"])]
    return model(nodes, [1, 4, 8], [("output", F, None)],
                 [init("Wq", rnd(8, 8, lo=-0.5, hi=0.5)), init("Wk", rnd(8, 8, lo=-0.5, hi=0.5)),
                  init("Wv", rnd(8, 8, lo=-0.5, hi=0.5)), init("d", np.array(np.sqrt(8.0), np.float32))]), None


@reg("Mish")
def _():
    nodes = [h.make_node("Softplus", ["input"], ["sp"]), h.make_node("Tanh", ["sp"], ["t"]),
             h.make_node("Mul", ["input", "t"], ["output"])]
    return model(nodes, [1, 16], [("output", F, None)]), None


# ---------------------------------------------------------------- main
def main():
    import onnxruntime as ort
    only = set(sys.argv[1:])
    os.makedirs(ROOT, exist_ok=True)
    index = []
    for name, (op, fn) in MODELS.items():
        if only and name not in only:
            continue
        d = os.path.join(ROOT, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        entry = {"name": name, "op": op}
        try:
            m, rng_spec = fn()
            # fill in graph output shapes from ONNX shape inference
            inf = onnx.shape_inference.infer_shapes(m, strict_mode=True)
            known = {vi.name: vi for vi in list(inf.graph.value_info) + list(inf.graph.output)}
            for o in m.graph.output:
                if not o.type.tensor_type.HasField("shape") and o.name in known and \
                        known[o.name].type.tensor_type.HasField("shape"):
                    o.type.tensor_type.shape.CopyFrom(known[o.name].type.tensor_type.shape)
            onnx.checker.check_model(m, full_check=True)
            onnx.save(m, os.path.join(d, "network.onnx"))
            lo, hi = (-2.0, 2.0)
            half = False
            if isinstance(rng_spec, tuple):
                lo, hi = rng_spec
            elif rng_spec == "half_grid":
                half = True
            feeds, flat = {}, []
            for vi in m.graph.input:
                shape = [dd.dim_value for dd in vi.type.tensor_type.shape.dim]
                x = rng.uniform(lo, hi, size=shape).astype(np.float32)
                if half:
                    x = (np.round(x * 2) / 2).astype(np.float32)
                else:
                    x = (np.round(x * 1024) / 1024).astype(np.float32)  # exactly representable
                feeds[vi.name] = x
                flat.append([float(v) for v in x.reshape(-1)])
            json.dump({"input_data": flat}, open(os.path.join(d, "input.json"), "w"))
            # second, unrounded sample (same range) to prove on after calibrating on input.json
            feeds2, flat2 = {}, []
            for vi in m.graph.input:
                shape = [dd.dim_value for dd in vi.type.tensor_type.shape.dim]
                x = rng.uniform(lo, hi, size=shape).astype(np.float32)
                if half:
                    x = (np.round(x * 2) / 2).astype(np.float32)
                feeds2[vi.name] = x
                flat2.append([float(v) for v in x.reshape(-1)])
            json.dump({"input_data": flat2}, open(os.path.join(d, "input2.json"), "w"))
            try:
                sess = ort.InferenceSession(os.path.join(d, "network.onnx"), providers=["CPUExecutionProvider"])
                outs2 = sess.run(None, feeds2)
                entry["ref2"] = [np.asarray(o).astype(np.float64).reshape(-1).tolist() for o in outs2]
                outs = sess.run(None, feeds)
                entry["ref"] = [np.asarray(o).astype(np.float64).reshape(-1).tolist() for o in outs]
                entry["ref_shapes"] = [list(np.asarray(o).shape) for o in outs]
                entry["ort"] = "ok"
            except Exception as e:
                entry["ort"] = "ORT error: " + str(e).splitlines()[0][:300]
        except Exception as e:
            entry["build"] = "build error: " + str(e).splitlines()[0][:300]
            traceback.print_exc()
        json.dump(entry, open(os.path.join(d, "ref.json"), "w"))
        index.append(name)
        print(name, entry.get("ort", entry.get("build")))
    json.dump(index, open(os.path.join(ROOT, "index.json"), "w"))


if __name__ == "__main__":
    main()
