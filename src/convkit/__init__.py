"""convkit: convolutional networks, declared layer by layer, explained, trained and used.

Importing ``convkit`` is cheap: heavy libraries (torch, cv2, faiss, pyspark)
are imported by the modules that use them, when they are used.
"""

__version__ = "0.1.0"

from convkit.limits import configure_opencv as _configure_opencv

# Before any convkit module imports cv2: OpenCV reads its pixel limit once, at load.
_configure_opencv()
