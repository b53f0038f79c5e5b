"""The built-in layer types. Each module registers its types when imported.

To add a layer type, add a module here and one line to this list (see
docs/spec.md, "Adding a layer type").
"""

LAYER_TYPE_MODULES = [
    "convkit.spec.layer_types.conv",
    "convkit.spec.layer_types.pool",
    "convkit.spec.layer_types.dense",
    "convkit.spec.layer_types.elementwise",
    "convkit.spec.layer_types.resize",
    "convkit.spec.layer_types.merge",
    "convkit.spec.layer_types.sequence",
    "convkit.spec.layer_types.detection",
]
