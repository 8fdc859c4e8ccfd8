"""fp16 variants of a package's graphs: onnx/<role>.onnx -> onnx/<role>_fp16.onnx (transformers.js naming).

The runtime picks them with `dtype` fp16 (or auto on WebGPU, src/core/model/dtype.ts). Written here because
Debian has no onnxconverter-common; onnx 1.12 is enough:

- every float tensor of the graph becomes float16 — initializers, Constant / ConstantOfShape values (clipped to
  fp16's finite range: the decoder's -3.4e38 mask fill would otherwise become -inf), Cast(to=float) nodes;
- the numerically sensitive ops stay float32 (KEEP_FP32): LayerNormalization and Softmax (variance and exp over
  a row lose the most in fp16), the routing's TopK (ties between experts multiply in fp16 and flip the top-k),
  the reductions and powers of the text guidance and router renormalisation, and 3D convolutions (the detail
  branch, model/detail.py: an execution provider without 3D Conv hands the node to onnxruntime's CPU provider,
  which has no float16 Conv on x86, so the session would fail); their float inputs get a Cast
  to float32 and their outputs a Cast back, and initializers only they read stay float32;
- the graph's inputs and outputs keep their float32 declarations (a Cast after each input, before each output),
  so the runtime feeds and reads the same tensors as for the fp32 graphs, the KV cache included.

The result is checked with onnx's strict shape inference (every Cast in place, no type mismatch left).

    python3 -m model.fp16 PACKAGE_DIR [--out DIR]

writes the three *_fp16.onnx into PACKAGE_DIR/onnx, or with --out copies the package to DIR first (the optional
second package folder) and writes them there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

ROLES = ("vision_encoder", "embed_tokens", "decoder_model_merged")
KEEP_FP32 = frozenset({"LayerNormalization", "Softmax", "TopK", "ReduceMean", "ReduceSum", "ReduceMax", "Pow", "Sqrt"})
FP16_MAX = float(np.finfo(np.float16).max)  # 65504
FLOAT, FLOAT16 = TensorProto.FLOAT, TensorProto.FLOAT16


def _to_fp16_tensor(t: onnx.TensorProto) -> onnx.TensorProto:
    a = numpy_helper.to_array(t)
    return numpy_helper.from_array(np.clip(a, -FP16_MAX, FP16_MAX).astype(np.float16), t.name)


def _elem_types(model: onnx.ModelProto) -> dict[str, int]:
    inferred = shape_inference.infer_shapes(model)
    g = inferred.graph
    types = {t.name: t.data_type for t in g.initializer}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        types[vi.name] = vi.type.tensor_type.elem_type
    for n in g.node:  # Constant outputs are not always in value_info
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    types[n.output[0]] = a.t.data_type
    return types


def convert_model(model: onnx.ModelProto, keep_fp32: frozenset[str] = KEEP_FP32) -> onnx.ModelProto:
    """The fp16 variant of one graph (float32 inputs and outputs kept, KEEP_FP32 ops computed in float32)."""
    types = _elem_types(model)
    g = model.graph
    if any(n.op_type in ("If", "Loop", "Scan") for n in g.node):
        raise ValueError("graphs with subgraphs (If/Loop/Scan) are not supported")

    def is_float(name: str) -> bool:
        if name == "":
            return False
        if name not in types:
            raise ValueError(f"no type known for tensor {name!r} (shape inference left it out)")
        return types[name] == FLOAT

    inputs = {i.name for i in g.input if i.type.tensor_type.elem_type == FLOAT}
    outputs = [o.name for o in g.output if o.type.tensor_type.elem_type == FLOAT]
    inits = {t.name: t for t in g.initializer}

    def kept(n: onnx.NodeProto) -> bool:
        return n.op_type in keep_fp32 or (n.op_type == "Conv" and n.input[1] in inits and len(inits[n.input[1]].dims) == 5)

    readers: dict[str, set[bool]] = {}  # initializer -> {is the reader kept in fp32}
    for n in g.node:
        for x in n.input:
            if x in inits:
                readers.setdefault(x, set()).add(kept(n))

    # Where each float tensor lives after conversion ("home" precision), before any casts.
    home: dict[str, int] = {name: FLOAT for name in inputs}
    new_inits = []
    for t in g.initializer:
        if t.data_type == FLOAT and readers.get(t.name, set()) != {True}:
            new_inits.append(_to_fp16_tensor(t))
            home[t.name] = FLOAT16
        else:
            new_inits.append(t)
            if t.data_type == FLOAT:
                home[t.name] = FLOAT

    out_nodes: list[onnx.NodeProto] = []
    casts: dict[tuple[str, int], str] = {}

    def cast_node(src: str, dst: str, to: int) -> onnx.NodeProto:
        return helper.make_node("Cast", [src], [dst], to=to, name=f"fp16_cast_{dst}")

    def as_type(name: str, want: int) -> str:
        """A tensor name holding `name` in `want` precision (a Cast added once where needed)."""
        if home.get(name, want) == want:
            return name
        key = (name, want)
        if key not in casts:
            dst = f"{name}__{'fp32' if want == FLOAT else 'fp16'}"
            out_nodes.append(cast_node(name, dst, want))
            casts[key] = dst
        return casts[key]

    graph_outputs = set(outputs)
    renamed_outputs: dict[str, str] = {}
    for n in g.node:
        keep = kept(n)
        want = FLOAT if keep else FLOAT16
        node = onnx.NodeProto()
        node.CopyFrom(n)
        for i, x in enumerate(n.input):
            if is_float(x):
                node.input[i] = as_type(renamed_outputs.get(x, x), want)
        if not keep:
            if n.op_type == "Cast":
                for a in node.attribute:
                    if a.name == "to" and a.i == FLOAT:
                        a.i = FLOAT16
            elif n.op_type in ("Constant", "ConstantOfShape"):
                for a in node.attribute:
                    if a.name == "value" and a.t.data_type == FLOAT:
                        a.t.CopyFrom(_to_fp16_tensor(a.t))
            elif any(a.type in (onnx.AttributeProto.TENSOR, onnx.AttributeProto.TENSORS, onnx.AttributeProto.GRAPH) for a in n.attribute):
                raise ValueError(f"{n.op_type} node {n.name!r} has a tensor attribute this converter does not handle")
        for i, y in enumerate(n.output):
            if not is_float(y):
                continue
            if want == FLOAT16 and y in graph_outputs:
                # The declared output stays float32: produce fp16 under another name, cast back below.
                internal = f"{y}__fp16"
                node.output[i] = internal
                renamed_outputs[y] = internal
                home[internal] = FLOAT16
            else:
                home[y] = want
        out_nodes.append(node)

    for y in outputs:
        src = renamed_outputs.get(y)
        if src is not None:
            out_nodes.append(cast_node(src, y, FLOAT))
        elif y in inputs or y in inits:
            raise ValueError(f"output {y!r} is an input or initializer; not supported")

    new_graph = helper.make_graph(
        out_nodes, g.name, list(g.input), list(g.output), new_inits, doc_string=g.doc_string
    )
    out = helper.make_model(new_graph, opset_imports=list(model.opset_import), producer_name="ctlens model/fp16.py")
    out.ir_version = model.ir_version
    for p in model.metadata_props:
        out.metadata_props.append(p)
    onnx.checker.check_model(out)
    # Strict inference fails on any operator whose inputs disagree in type: proof that no Cast is missing.
    shape_inference.infer_shapes(out, strict_mode=True)
    return out


def convert_package(package: str, out: str | None = None) -> list[str]:
    """Writes onnx/<role>_fp16.onnx for the three graphs (into `out`, a copy of the package, when given)."""
    if out is not None:
        if os.path.exists(out):
            raise FileExistsError(f"{out} exists")
        shutil.copytree(package, out)
        package = out
    written = []
    for role in ROLES:
        src = os.path.join(package, "onnx", f"{role}.onnx")
        dst = os.path.join(package, "onnx", f"{role}_fp16.onnx")
        onnx.save(convert_model(onnx.load(src)), dst)
        written.append(dst)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("package")
    ap.add_argument("--out", help="copy the package here and add the fp16 graphs to the copy")
    a = ap.parse_args(argv)
    for f in convert_package(a.package, a.out):
        print(f"{f}: {os.path.getsize(f) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
