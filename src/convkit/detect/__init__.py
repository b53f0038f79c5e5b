"""Object recognition within scenes: boxes, labels and confidences.

A detector is a network whose last layer is ``yolo_output`` (a YOLOv2-style
head with anchors). This package holds everything that is specific to boxes:
annotation formats, box-aware augmentation, the loss, decoding with
non-maximum suppression, mAP, and a generator of synthetic scenes.

Importing the package is cheap; each module imports torch or OpenCV itself.
"""
