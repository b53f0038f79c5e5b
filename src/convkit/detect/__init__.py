"""Object recognition within scenes: boxes, labels and confidences.

A detector is a network whose last layer is ``yolo_output`` (a YOLOv2-style
head with anchors). This package holds everything that is specific to boxes:
the task (``task``: DetectTask), annotation formats, box-aware augmentation,
the loss, decoding with non-maximum suppression, the mAP maths
(``map_metrics``), evaluating a model file (``evaluation``), which photos
`convkit detect` reads (``inputs``) and a generator of synthetic scenes.
Predicting in Python: ``convkit.inference.Detector``.

Importing the package is cheap; each module imports torch or OpenCV itself.
"""
