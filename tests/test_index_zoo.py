"""`convkit index resnet18 photos/`: a zoo name with imported weights as the embedder."""

from __future__ import annotations

import numpy as np
import torch

from convkit.cli import main
from reference_nets import reference


def test_index_with_a_zoo_name_uses_the_pooled_last_stage(tmp_path, monkeypatch, capsys):
    import cv2

    from convkit import search

    monkeypatch.setenv("CONVKIT_WEIGHTS", str(tmp_path / "cache"))
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for index in range(4):
        cv2.imwrite(str(photos / f"{index}.png"), rng.integers(0, 255, (40, 50, 3), dtype=np.uint8))
    out = tmp_path / "photos.cindex"
    assert main(["index", "resnet18", str(photos), "--out", str(out)]) == 2
    assert "convkit weights pull resnet18" in capsys.readouterr().err
    weights = tmp_path / "r18.pth"
    torch.save(reference("resnet18").state_dict(), weights)
    assert main(["weights", "import", str(weights), "--arch", "resnet18"]) == 0
    assert main(["index", "resnet18", str(photos), "--out", str(out)]) == 0
    assert "512-d vectors from layer pool" in capsys.readouterr().out
    assert len(search.open_index(out)) == 4
    assert main(["search", str(out), str(photos / "0.png"), "--top", "1"]) == 0
    assert "0.png" in capsys.readouterr().out
