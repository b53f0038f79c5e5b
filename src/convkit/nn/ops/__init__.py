"""Builder modules; each registers its builders when imported (see ``convkit.nn.registry``).

To add a layer type's builder, add a module here and one line to this list.
"""

OP_MODULES = [
    "convkit.nn.ops.conv",
    "convkit.nn.ops.pool",
    "convkit.nn.ops.dense",
    "convkit.nn.ops.elementwise",
    "convkit.nn.ops.resize",
    "convkit.nn.ops.merge",
    "convkit.nn.ops.sequence",
    "convkit.nn.ops.detection",
]
