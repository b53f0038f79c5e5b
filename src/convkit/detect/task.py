"""Detection: find objects in a scene — boxes, labels and confidences.

The network ends in a ``yolo_output`` layer (a YOLOv2-style head with
anchors). The loss, decoding, NMS and mAP live in ``convkit.detect``; this
class plugs them into the Task interface the trainer and model file use.
``prepare_input`` records each photo's letterbox, so ``decode`` returns
boxes in the photo's own pixels whichever front end asks.
"""

from __future__ import annotations

from typing import Any, ClassVar

from convkit.errors import DataError, SpecError, UsageError
from convkit.tasks.base import Metrics, Task


class DetectMetrics(Metrics):
    """Loss per image and mAP over the epoch (detections are kept on the CPU)."""

    def __init__(self, task: DetectTask):
        self.task = task
        self.results = []
        self.loss_sum = 0.0
        self.images = 0
        self.measured = False  # True once a batch was decoded for mAP

    def update(self, output, targets, loss) -> None:
        from convkit.detect.map_metrics import EVAL_CONF_THRESHOLD, batch_results

        if loss is not None:
            self.loss_sum += float(loss.detach()) * output.shape[0]
        self.images += output.shape[0]
        if output.requires_grad:
            # A training batch (validation runs without gradients): decoding and
            # matching every training batch would cost more than the step itself,
            # so mAP is measured on validation only; training reports the loss.
            return
        self.measured = True
        detections = self.task.detect(output, conf_threshold=EVAL_CONF_THRESHOLD)
        self.results.extend(batch_results(detections, targets))

    def compute(self) -> dict[str, float]:
        from convkit.detect.map_metrics import evaluate_detections

        if not self.images:
            return {}
        if not self.measured:
            return {"loss": self.loss_sum / self.images}
        report = evaluate_detections(self.results, self.task.labels, self.task.conf_threshold)
        return {
            "loss": self.loss_sum / self.images,
            "map50": report["map50"],
            "map": report["map"],
            "precision": report["precision"],
            "recall": report["recall"],
        }


def head_geometry(spec) -> tuple[list[list[float]], int, tuple[float, float]]:
    """(anchors, classes, stride (x, y) in input pixels per grid cell) of a detector spec."""
    last = spec.layers[-1]
    if last.type != "yolo_output":
        raise SpecError(f"a detector ends in a yolo_output layer; {last.name} is {last.type}")
    grid = spec.infer()[-1].output_shape
    stride = (spec.input.width / grid.width, spec.input.height / grid.height)
    anchors = last.params["anchors"]  # "auto": found from the training boxes (open_data)
    return (
        anchors if anchors == "auto" else [list(map(float, a)) for a in anchors],
        int(last.params["classes"]),
        stride,
    )


class DetectTask(Task):
    kind: ClassVar[str] = "detect"
    monitor: ClassVar[str] = "map50"
    monitor_mode: ClassVar[str] = "max"

    def __init__(
        self,
        anchors,
        num_classes: int,
        stride,
        input_size,
        labels: list[str] | None = None,
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        max_detections: int = 100,
    ):
        self.anchors = None if anchors is None else [[float(w), float(h)] for w, h in anchors]
        self.num_classes = int(num_classes)
        self.stride = (float(stride[0]), float(stride[1]))
        self.input_size = (int(input_size[0]), int(input_size[1]))  # (width, height)
        self.labels = list(labels) if labels else [str(i) for i in range(self.num_classes)]
        self.conf_threshold = float(conf_threshold)
        self.iou_threshold = float(iou_threshold)
        self.max_detections = int(max_detections)
        self._anchor_tensor = None

    @classmethod
    def for_spec(cls, spec, options: dict | None = None) -> DetectTask:
        from convkit.detect.anchors import anchors_wanted
        from convkit.detect.augment import train_augment_options

        options = options or {}
        anchors, classes, stride = head_geometry(spec)
        task = cls(
            None if anchors == "auto" else anchors,
            classes,
            stride,
            (spec.input.width, spec.input.height),
            conf_threshold=float(options.get("conf", 0.25)),
            iou_threshold=float(options.get("iou", 0.45)),
        )
        task.anchors_to_find = anchors_wanted(spec, options)  # k-means at open_data, 0 = keep
        task.train_augment = train_augment_options(options)  # mosaic, hsv (detection only)
        return task

    def anchor_tensor(self, device):
        import torch

        if self.anchors is None:
            raise SpecError("the yolo_output anchors are `auto`: open the training data first")
        if self._anchor_tensor is None or self._anchor_tensor.device != device:
            self._anchor_tensor = torch.tensor(self.anchors, device=device)  # (A, 2) cells
        return self._anchor_tensor

    # -- training -----------------------------------------------------------
    def loss(self, output, targets):
        from convkit.detect.loss import yolo_loss

        total, _ = yolo_loss(output, targets, self.anchor_tensor(output.device), self.stride)
        return total

    def new_metrics(self) -> DetectMetrics:
        return DetectMetrics(self)

    # -- prediction ---------------------------------------------------------
    def detect(
        self, output, conf_threshold: float | None = None, iou_threshold: float | None = None
    ):
        """Per image: (boxes (D, 4) input pixels, scores (D,), labels (D,)) tensors."""
        from convkit.detect.head import decode_detections

        return decode_detections(
            output,
            self.anchor_tensor(output.device),
            self.stride,
            conf_threshold=self.conf_threshold if conf_threshold is None else conf_threshold,
            iou_threshold=self.iou_threshold if iou_threshold is None else iou_threshold,
            max_detections=self.max_detections,
            image_size=self.input_size,
        )

    def prepare_input(self, preprocessing, item):
        """Letterbox one photo; ``info`` keeps the letterbox and the photo's size for decode."""
        import numpy as np

        image = item if isinstance(item, np.ndarray) else preprocessing.read(item)  # (H, W, C)
        if image.ndim == 2:
            image = image[:, :, None]
        array, _, box_map = preprocessing.fit(image)
        return array, {"letterbox": box_map, "size": (image.shape[1], image.shape[0])}

    def decode(
        self,
        output,
        top_k: int = 5,
        infos: list | None = None,
        conf_threshold: float | None = None,
        iou_threshold: float | None = None,
    ) -> list[dict[str, Any]]:
        """One dict per image: ``boxes`` = [{label, index, confidence, box x1,y1,x2,y2}].

        With ``infos`` (from ``prepare_input``) boxes are in each photo's own
        pixels, clipped to it, and ``width``/``height`` are the photo's; without,
        in network-input pixels. ``label``/``probability``/``top`` name the most
        confident objects, so a classifier's view of the answer is sensible too.
        """
        import torch

        self.check_options(conf_threshold, iou_threshold)
        found = self.detect(
            torch.as_tensor(output), conf_threshold, iou_threshold
        )  # numpy from ORT
        infos = infos if infos is not None else [None] * len(found)
        results = []
        for (boxes, scores, labels), info in zip(found, infos, strict=True):
            boxes = boxes.cpu().numpy()
            width, height = self.input_size
            if info is not None:
                width, height = info["size"]
                boxes = info["letterbox"].to_original(boxes)
                boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
                boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
            detections = [
                {
                    "label": self.labels[k],
                    "index": k,
                    "confidence": round(s, 6),
                    "box": [round(v, 2) for v in box],
                }
                for box, s, k in zip(boxes.tolist(), scores.tolist(), labels.tolist(), strict=True)
            ]
            top = [
                {"label": d["label"], "index": d["index"], "probability": d["confidence"]}
                for d in detections[:top_k]
            ]
            results.append(
                {
                    "label": top[0]["label"] if top else None,
                    "probability": top[0]["probability"] if top else 0.0,
                    "top": top,
                    "boxes": detections,
                    "width": int(width),
                    "height": int(height),
                }
            )
        return results

    def check_options(self, conf_threshold=None, iou_threshold=None) -> None:
        from convkit.spec.constraints import Interval, check_value

        for name, value in (("--conf", conf_threshold), ("--iou", iou_threshold)):
            if value is not None:
                check_value(name, value, Interval(float, 0, 1), error=UsageError)

    def text_lines(self, path: str, prediction: dict, top_k: int = 1) -> list[str]:
        """One line per box: path, label, confidence, x1,y1,x2,y2 in the photo's pixels."""
        if not prediction["boxes"]:
            return [f"{path}\t(nothing found)"]
        return [
            f"{path}\t{d['label']}\t{d['confidence']:.3f}\t"
            + ",".join(f"{v:.1f}" for v in d["box"])
            for d in prediction["boxes"]
        ]

    spark_type: ClassVar[str] = (
        "struct<label:string, probability:double, boxes:array<struct<label:string, index:int, "
        "confidence:double, box:array<double>>>, width:int, height:int, error:string>"
    )

    def spark_row(self, prediction: dict) -> dict:
        return {
            "label": prediction["label"],
            "probability": float(prediction["probability"]),
            "boxes": [
                {
                    "label": d["label"],
                    "index": int(d["index"]),
                    "confidence": float(d["confidence"]),
                    "box": [float(v) for v in d["box"]],
                }
                for d in prediction["boxes"]
            ],
            "width": int(prediction["width"]),
            "height": int(prediction["height"]),
            "error": None,
        }

    def summary_line(self, report: dict) -> str:
        return (
            f"mAP@0.5 {report['map50']:.3f}, mAP@[0.5:0.95] {report['map']:.3f} "
            f"on {report['images']} images"
        )

    # -- data ---------------------------------------------------------------
    def open_data(self, path: str, split: str = "train", options: dict | None = None):
        from convkit.data.packed_layout import has_manifest
        from convkit.detect.dataset import open_detection_dataset

        options = options or {}
        channels = int(options.get("channels", 3))
        if has_manifest(str(path)):  # `convkit dataset pack --kind detect`: one split per pack
            from convkit.detect.packed import PackedDetectionDataset

            dataset = PackedDetectionDataset(str(path), channels=channels)
        else:
            dataset = open_detection_dataset(
                path, format=options.get("format"), split=split, channels=channels
            )
        self._adopt_labels(dataset.classes, path)
        if getattr(self, "anchors_to_find", 0) and split == "train":
            from convkit.detect.anchors import find_anchors

            find_anchors(self, dataset)  # once, from the first (training) data opened
        return dataset

    def has_test_split(self, path: str, options: dict | None = None) -> bool:
        """A held-out test split of the data's own: VOC's ImageSets/Main/test.txt or a
        YOLO dataset YAML's ``test:`` entry (COCO files carry one split each)."""
        from pathlib import Path

        from convkit.detect.dataset import detect_format
        from convkit.detect.formats.voc import split_ids
        from convkit.detect.formats.yolo import has_split

        root = Path(path)
        if not root.exists():  # a URL (a pack on object storage) or nothing: no split of its own
            return False
        try:
            format = (options or {}).get("format") or detect_format(root)
        except DataError:
            return False  # opening the training data says what is wrong
        if format == "voc":
            # only with a training list too: otherwise training reads the test images as well
            return root.is_dir() and None not in (split_ids(root, "test"), split_ids(root, "train"))
        if format == "yolo":
            return has_split(root, "test")
        return False

    def _adopt_labels(self, classes: list[str], path) -> None:
        if len(classes) != self.num_classes:
            raise SpecError(
                f"the spec's yolo_output layer has {self.num_classes} classes but {path} has "
                f"{len(classes)} ({', '.join(classes[:8])}): set `classes: {len(classes)}` in yolo_output"
            )
        if self.labels != [str(i) for i in range(self.num_classes)] and self.labels != list(
            classes
        ):
            raise DataError(
                f"the classes in {path} ({', '.join(classes)}) differ from the model's ({', '.join(self.labels)})"
            )
        self.labels = list(classes)

    def make_batches(self, dataset, indices, preprocessing, augment=None, **kwargs):
        from convkit.detect.augment import DetectAugment

        seed = int(kwargs.get("seed", 0))
        if augment is not None and not isinstance(augment, DetectAugment):
            # `convkit train --augment …` gives the image Augment: translate it for boxes.
            augment = DetectAugment.from_generic(augment, seed)
        if kwargs.get("shuffle") and getattr(self, "train_augment", None):  # training batches
            from convkit.detect.augment import with_detection_extras

            augment = with_detection_extras(augment, self.train_augment, seed)
        allowed = {"batch_size", "shuffle", "seed", "workers", "drop_last"}
        # A folder's DetectBatchSource, or a pack's stream of this rank's row groups.
        return dataset.make_batches(
            indices, preprocessing, augment, **{k: v for k, v in kwargs.items() if k in allowed}
        )

    def default_preprocessing(self, spec, dataset, options: dict | None = None):
        from convkit.detect.preprocess import DetectPreprocessing

        options = options or {}
        return DetectPreprocessing.for_spec(spec, mean=options.get("mean"), std=options.get("std"))

    # -- persistence --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "labels": self.labels,
            "num_classes": self.num_classes,
            "anchors": self.anchors,
            "stride": list(self.stride),
            "input_size": list(self.input_size),
            "conf_threshold": self.conf_threshold,
            "iou_threshold": self.iou_threshold,
            "max_detections": self.max_detections,
        }

    stored_keys: ClassVar[tuple[str, ...]] = (
        "kind",
        "labels",
        "num_classes",
        "anchors",
        "stride",
        "input_size",
        "conf_threshold",
        "iou_threshold",
        "max_detections",
    )
    required_keys: ClassVar[tuple[str, ...]] = ("anchors", "num_classes", "stride", "input_size")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectTask:
        data = cls.checked_dict(data)
        return cls(
            data["anchors"],
            data["num_classes"],
            data["stride"],
            data["input_size"],
            data.get("labels"),
            data.get("conf_threshold", 0.25),
            data.get("iou_threshold", 0.45),
            data.get("max_detections", 100),
        )

    # -- evaluation (called by convkit.api.evaluate for non-classify tasks) --
    def evaluate(self, model, data, **kwargs) -> dict:
        from convkit.detect.evaluation import evaluate_detector

        return evaluate_detector(model, data, **kwargs)
