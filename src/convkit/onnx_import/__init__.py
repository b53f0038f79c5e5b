"""ONNX graph -> convkit spec plus weights (``convkit import model.onnx``).

    from convkit.onnx_import import import_onnx
    spec, state = import_onnx("model.onnx")     # NetSpec, {state-dict key: tensor}

- ``reading``: load and check the file (one image input of fixed height and width).
- ``ops``: one converter per ONNX op, in a table; an op missing from it is refused,
  naming the node.
- ``convert``: walks the nodes in order, wires their tensors to convkit layers,
  and turns the last linear layer into the classifier's ``output`` layer.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name in ("import_onnx", "write_model"):
        from convkit.onnx_import import convert

        return getattr(convert, name)
    raise AttributeError(name)


__all__ = ["import_onnx", "write_model"]
