"""Builder modules; each registers its builders when imported (see ``convkit.build.registry``).

To add a layer type's builder, add a module here and one line to this list.
"""

OP_MODULES = [
    "convkit.build.ops.conv",
    "convkit.build.ops.pool",
    "convkit.build.ops.dense",
    "convkit.build.ops.elementwise",
    "convkit.build.ops.resize",
    "convkit.build.ops.merge",
    "convkit.build.ops.sequence",
    "convkit.build.ops.detection",
]
