"""Images in: decoding (OpenCV), sources, scan, split, preprocessing, augmentation, batches.

    from convkit.data import read_image, open_image_dataset, Preprocessing, Augment, make_batches

Importing this package loads numpy only; OpenCV and torch are imported by
the functions that use them.
"""

from convkit.data.augment import Augment
from convkit.data.batches import BatchSource, FileBatches, InMemoryBatches, make_batches
from convkit.data.dataset import ArrayDataset, FileDataset, ImageDataset, ScanReport
from convkit.data.decode import IMAGE_SUFFIXES, decode_image, read_image
from convkit.data.digits import sklearn_digits
from convkit.data.folders import class_folder_dataset, csv_dataset
from convkit.data.idx import download_mnist, find_mnist, idx_dataset, mnist, read_idx
from convkit.data.open import open_image_dataset
from convkit.data.preprocessing import Preprocessing, preprocessing_from_dict
from convkit.data.split import stratified_split

__all__ = [
    "IMAGE_SUFFIXES",
    "ArrayDataset",
    "Augment",
    "BatchSource",
    "FileBatches",
    "FileDataset",
    "ImageDataset",
    "InMemoryBatches",
    "Preprocessing",
    "ScanReport",
    "class_folder_dataset",
    "csv_dataset",
    "decode_image",
    "download_mnist",
    "find_mnist",
    "idx_dataset",
    "make_batches",
    "mnist",
    "open_image_dataset",
    "preprocessing_from_dict",
    "read_idx",
    "read_image",
    "sklearn_digits",
    "stratified_split",
]
