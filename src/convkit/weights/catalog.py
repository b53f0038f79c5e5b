"""The published torchvision ImageNet weights convkit can pull, and how each was evaluated.

``sha256`` is the checksum torchvision publishes: the hex prefix of the
file's SHA-256 that it writes into the file name (``resnet18-f37072fd.pth``)
and that ``torch.hub`` checks after download (the full digest where it is
known). A downloaded file whose SHA-256 does not start with it is refused.

Preprocessing (all of them): resize the shorter side to 256, cut the central
224x224, scale to 0..1, subtract the ImageNet mean, divide by its std.
"""

from __future__ import annotations

from dataclasses import dataclass

from convkit.errors import UsageError

BASE_URL = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class PublishedWeights:
    arch: str
    filename: str
    sha256: str  # the published hex prefix of the file's SHA-256 (or the full digest)

    @property
    def url(self) -> str:
        return BASE_URL + self.filename


CATALOG = {
    entry.arch: entry
    for entry in (
        PublishedWeights("resnet18", "resnet18-f37072fd.pth", "f37072fd"),
        PublishedWeights("resnet34", "resnet34-b627a593.pth", "b627a593"),
        PublishedWeights("resnet50", "resnet50-0676ba61.pth", "0676ba61"),
        PublishedWeights("mobilenet_v2", "mobilenet_v2-b0353104.pth", "b0353104"),
        PublishedWeights("mobilenet_v3_small", "mobilenet_v3_small-047dcff4.pth", "047dcff4"),
        PublishedWeights("mobilenet_v3_large", "mobilenet_v3_large-8738ca79.pth", "8738ca79"),
        PublishedWeights(
            "efficientnet_b0",
            "efficientnet_b0_rwightman-7f5810bc.pth",
            "7f5810bc96def8f7552d5b7e68d53c4786f81167d28291b21c0d90e1fca14934",  # full digest
        ),
        PublishedWeights("vgg16", "vgg16-397923af.pth", "397923af"),
        PublishedWeights("vgg16_bn", "vgg16_bn-6c64b313.pth", "6c64b313"),
    )
}

# torchvision's evaluation transform for these weights
RESIZE_SHORTER = 256
CROP = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def published(arch: str) -> PublishedWeights:
    if arch not in CATALOG:
        raise UsageError(
            f"no published weights known for {arch!r}; pullable: {', '.join(sorted(CATALOG))}"
        )
    return CATALOG[arch]


def imagenet_labels() -> list[str]:
    """The 1,000 ImageNet-1k class names in index order (WordNet's first lemma)."""
    from importlib.resources import files

    text = files("convkit.weights").joinpath("imagenet_labels.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line]
