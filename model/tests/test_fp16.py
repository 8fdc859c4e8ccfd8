"""model/fp16.py: the fp16 variant keeps the graph's float32 interface, stores float weights as float16 except
where only fp32-kept ops read them, computes KEEP_FP32 ops in float32, and passes onnx's strict type inference
(no Cast missing). Numerics against the fp32 graphs are checked in onnxruntime-node (test/core/model/fp16.test.ts)."""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper, shape_inference

from model.fp16 import FP16_MAX, KEEP_FP32, convert_model, convert_package

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGE = os.path.join(ROOT, "media", "models", "ctlens-tghmoe-demo")


def tiny_graph() -> onnx.ModelProto:
    """x [2,4] → MatMul(w) → Add(mask const -3.4e38 where masked) → LayerNorm(scale, bias) → Softmax → y."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 4)).astype(np.float32), "w")
    scale = numpy_helper.from_array(np.ones(4, np.float32), "ln_scale")
    bias = numpy_helper.from_array(np.zeros(4, np.float32), "ln_bias")
    mask = helper.make_node(
        "Constant", [], ["mask"], value=numpy_helper.from_array(np.array([0, 0, 0, -3.4e38], np.float32), "m")
    )
    nodes = [
        mask,
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("Add", ["h", "mask"], ["hm"]),
        helper.make_node("LayerNormalization", ["h", "ln_scale", "ln_bias"], ["n"], axis=-1),
        helper.make_node("Add", ["n", "hm"], ["s"]),
        helper.make_node("Softmax", ["s"], ["y"], axis=-1),
        helper.make_node("Size", ["h"], ["shape"]),
        helper.make_node("Cast", ["shape"], ["shape_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["h", "shape_f"], ["z"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4]), helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 4])],
        [w, scale, bias],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def types_of(model: onnx.ModelProto) -> dict[str, int]:
    g = shape_inference.infer_shapes(model, strict_mode=True).graph
    t = {i.name: i.data_type for i in g.initializer}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        t[vi.name] = vi.type.tensor_type.elem_type
    return t


def test_interface_weights_and_fp32_islands():
    out = convert_model(tiny_graph())
    g = out.graph
    # The interface is unchanged: float32 in, float32 out, same names.
    assert [(i.name, i.type.tensor_type.elem_type) for i in g.input] == [("x", TensorProto.FLOAT)]
    assert [(o.name, o.type.tensor_type.elem_type) for o in g.output] == [("y", TensorProto.FLOAT), ("z", TensorProto.FLOAT)]
    inits = {t.name: t.data_type for t in g.initializer}
    assert inits["w"] == TensorProto.FLOAT16  # read by MatMul
    assert inits["ln_scale"] == TensorProto.FLOAT and inits["ln_bias"] == TensorProto.FLOAT  # only LayerNorm reads them
    types = types_of(out)
    for n in g.node:
        if n.op_type in KEEP_FP32:
            assert all(types[x] == TensorProto.FLOAT for x in n.input if x and types.get(x) in (TensorProto.FLOAT, TensorProto.FLOAT16)), n
        elif n.op_type in ("MatMul", "Add", "Mul"):
            assert all(types[x] == TensorProto.FLOAT16 for x in n.input), n
    # Cast(to=float) inside the graph now casts to float16; the mask fill is clipped to fp16's finite range.
    assert any(n.op_type == "Cast" and n.input[0] == "shape" and n.attribute[0].i == TensorProto.FLOAT16 for n in g.node)
    const = next(n for n in g.node if n.op_type == "Constant")
    fill = numpy_helper.to_array(const.attribute[0].t)
    assert fill.dtype == np.float16 and np.isfinite(fill).all() and fill.min() == -FP16_MAX


def test_refuses_what_it_cannot_convert():
    m = tiny_graph()
    then = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])], "then", [], [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2, 4])])
    cond = numpy_helper.from_array(np.array(True), "c")
    m.graph.initializer.append(cond)
    m.graph.node.append(helper.make_node("If", ["c"], ["if_out"], then_branch=then, else_branch=then))
    with pytest.raises(ValueError, match="subgraphs"):
        convert_model(m)


def test_package_graphs_convert_with_their_signatures(tmp_path):
    out = tmp_path / "pkg"
    written = convert_package(PACKAGE, str(out))
    assert [os.path.basename(p) for p in written] == [
        "vision_encoder_fp16.onnx",
        "embed_tokens_fp16.onnx",
        "decoder_model_merged_fp16.onnx",
    ]
    for role in ("vision_encoder", "embed_tokens", "decoder_model_merged"):
        a = onnx.load(str(out / "onnx" / f"{role}.onnx"))
        b = onnx.load(str(out / "onnx" / f"{role}_fp16.onnx"))
        sig = lambda m: [(v.name, v.type.tensor_type.elem_type) for v in list(m.graph.input) + list(m.graph.output)]
        assert sig(a) == sig(b)
        # The weights are fp16; LayerNorm's stay fp32, and so do the 3D convolutions of the detail branch (the
        # converter keeps them: no float16 3D Conv on onnxruntime's x86 CPU provider).
        dims = {t.name: len(t.dims) for t in b.graph.initializer}
        conv3d = {x for n in b.graph.node if n.op_type == "Conv" and dims.get(n.input[1]) == 5 for x in n.input[1:]}
        fp16 = sum(numpy_helper.to_array(t).nbytes for t in b.graph.initializer if t.data_type == TensorProto.FLOAT16)
        fp32 = sum(numpy_helper.to_array(t).nbytes for t in b.graph.initializer
                   if t.data_type == TensorProto.FLOAT and t.name not in conv3d)
        assert fp16 > 10 * fp32, (role, fp16, fp32)
        assert all(t.data_type == TensorProto.FLOAT for t in b.graph.initializer if t.name in conv3d)
        assert os.path.getsize(out / "onnx" / f"{role}_fp16.onnx") < 0.6 * os.path.getsize(out / "onnx" / f"{role}.onnx")
    with pytest.raises(FileExistsError):
        convert_package(PACKAGE, str(out))


def test_3d_convolutions_stay_float32_and_2d_ones_become_float16():
    """A 3D Conv (the detail branch) is computed in float32, weights included; a 2D one (the patch embedding) is not."""
    rng = np.random.default_rng(1)
    w3 = numpy_helper.from_array(rng.standard_normal((2, 1, 3, 3, 3)).astype(np.float32), "w3")
    w2 = numpy_helper.from_array(rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "w2")
    nodes = [helper.make_node("Conv", ["v", "w3"], ["c3"], pads=[1] * 6),
             helper.make_node("Conv", ["i", "w2"], ["c2"], pads=[1] * 4)]
    graph = helper.make_graph(
        nodes, "convs",
        [helper.make_tensor_value_info("v", TensorProto.FLOAT, [1, 1, 4, 4, 4]),
         helper.make_tensor_value_info("i", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("c3", TensorProto.FLOAT, [1, 2, 4, 4, 4]),
         helper.make_tensor_value_info("c2", TensorProto.FLOAT, [1, 2, 4, 4])],
        [w3, w2])
    out = convert_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    t = types_of(out)
    conv3, conv2 = [n for n in out.graph.node if n.op_type == "Conv"]
    assert t["w3"] == TensorProto.FLOAT and all(t[x] == TensorProto.FLOAT for x in conv3.input)
    assert t["w2"] == TensorProto.FLOAT16 and all(t[x] == TensorProto.FLOAT16 for x in conv2.input)
