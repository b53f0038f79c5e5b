"""The common Pascal VOC layouts read as they are: images/ + annotations/ or annots/
(any case), XML beside the images, the images folder given with its XML in a sibling
folder — and the real kangaroo set in its author's layout."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from convkit.detect.dataset import detect_format, open_detection_dataset
from convkit.errors import DataError


def write_pair(image_dir, xml_dir, stem, box=(3, 4, 20, 18), size=(32, 24)):
    image_dir.mkdir(parents=True, exist_ok=True)
    xml_dir.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(image_dir / f"{stem}.jpg"), np.full((size[1], size[0], 3), 80, np.uint8))
    (xml_dir / f"{stem}.xml").write_text(
        f"<annotation><size><width>{size[0]}</width><height>{size[1]}</height></size>"
        f"<object><name>roo</name><bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}</ymin>"
        f"<xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object></annotation>"
    )


@pytest.mark.parametrize(
    "images, annotations",
    [
        ("images", "annotations"),
        ("images", "annots"),
        ("Images", "Annots"),
        ("JPEGImages", "Annotations"),
        ("jpegimages", "annotations"),
        ("images", "images"),  # XML beside the images, in images/
        (".", "."),  # XML beside the images, in the folder given
    ],
)
def test_voc_layouts_read_as_they_are(tmp_path, images, annotations):
    for stem in ("a", "b"):
        write_pair(tmp_path / images, tmp_path / annotations, stem)
    assert detect_format(tmp_path) == "voc"
    dataset = open_detection_dataset(tmp_path)
    assert [a.image.stem for a in dataset.annotations] == ["a", "b"]
    assert dataset.classes == ["roo"]
    _, boxes, labels = dataset.load(0)
    np.testing.assert_allclose(boxes, [[2, 3, 20, 18]])  # VOC corners are 1-based
    assert dataset.annotations[0].size == (32, 24)


def test_images_folder_given_with_xml_in_a_sibling_folder(tmp_path):
    write_pair(tmp_path / "images", tmp_path / "annots", "a")
    dataset = open_detection_dataset(tmp_path / "images")
    assert dataset.format == "voc" and len(dataset) == 1 and dataset.class_counts() == {"roo": 1}


def test_annotation_folder_without_images_names_the_missing_files(tmp_path):
    write_pair(tmp_path / "pictures_elsewhere", tmp_path / "annots", "a")
    with pytest.raises(DataError, match="no image named a"):
        open_detection_dataset(tmp_path)


def test_kangaroo_set_reads_in_its_authors_layout(shared_data):
    dataset = open_detection_dataset(shared_data / "kangaroo")
    assert dataset.format == "voc" and len(dataset) == 164
    assert dataset.class_counts() == {"kangaroo": 266} and not dataset.skipped
