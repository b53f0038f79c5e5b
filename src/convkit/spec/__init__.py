"""What a network is: layers, shapes, inference and summaries. Pure Python, never imports torch.

from convkit.spec import load_spec
spec = load_spec("examples/lenet.yaml")
for info in spec.infer():
    print(info.name, info.output_shape, info.params)
"""

# The subpackage first: it shares its name with the function layer_types() bound
# below, and the first import of a subpackage rebinds that name on its parent.
# Importing it is cheap (a list of module names; the types load on first use).
import convkit.spec.layer_types  # noqa: F401
from convkit.spec.infer import LayerInfo
from convkit.spec.loading import load_spec
from convkit.spec.netspec import INPUT_NAME, LayerSpec, NetSpec, layer
from convkit.spec.registry import LayerType, get_layer_type, layer_types, register_layer_type
from convkit.spec.shapes import Sequence, Shape, Vector, Volume

__all__ = [
    "INPUT_NAME",
    "LayerInfo",
    "LayerSpec",
    "LayerType",
    "NetSpec",
    "Sequence",
    "Shape",
    "Vector",
    "Volume",
    "get_layer_type",
    "layer",
    "layer_types",
    "load_spec",
    "register_layer_type",
]
