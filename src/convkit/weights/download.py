"""Download one file: resumable (HTTP Range), checksum-verified, atomic.

The bytes go to ``<target>.part``; an interrupted download continues from
where it stopped when the server honours ``Range`` (answer 206), and starts
over when it does not (answer 200). Only a file whose SHA-256 matches is
renamed into place; a mismatch deletes the partial file.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from convkit.errors import ModelFileError

CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def matches(digest: str, expected: str) -> bool:
    """A full digest, or the published prefix of one (torch.hub's file-name convention)."""
    return digest.startswith(expected.lower())


def download(
    url: str, target: str | Path, sha256: str, timeout: float = 30.0, progress=None
) -> Path:
    """Fetch ``url`` into ``target`` unless it is already there with the right checksum.

    Raises ``OSError``/``urllib.error.URLError`` when the network is unreachable
    (the caller turns that into its offline message) and ``ModelFileError`` on a
    checksum mismatch.
    """
    target = Path(target)
    if target.is_file() and matches(file_sha256(target), sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # the partial file is already complete
            response = None
        else:
            raise
    if response is not None:
        with response:
            status = getattr(response, "status", None) or response.getcode()
            resumed = have and status == 206
            mode = "ab" if resumed else "wb"  # no Range support (200, or file://): start over
            total = response.headers.get("Content-Length")
            total = int(total) + (have if resumed else 0) if total else None
            done = have if resumed else 0
            with open(part, mode) as handle:
                for block in iter(lambda: response.read(CHUNK), b""):
                    handle.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
    digest = file_sha256(part)
    if not matches(digest, sha256):
        part.unlink()
        raise ModelFileError(
            f"{url}: checksum mismatch (SHA-256 {digest[:16]}…, expected {sha256}…); the partial "
            f"download was deleted, run the command again"
        )
    os.replace(part, target)
    return target
