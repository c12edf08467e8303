"""Content-addressed DICOM files on disk: ``<root>/ab/cd/<sha256>.dcm``.

A file is written to a temporary name in the same folder and renamed into place, so a reader never sees
half a file. Files are written before the database row commits: a row always points at a complete file,
and a failed transaction leaves at most an unreferenced file (same bytes stored again reuse it).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from careline.settings import Settings


def storage_root(settings: Settings) -> Path:
    return settings.imaging.storage_dir or settings.data_dir / "dicom"


class BlobStore:
    """Immutable files named by the SHA-256 of their bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.dcm"

    def put(self, data: bytes) -> str:
        """Store `data` (no-op when the same bytes are already there); returns its SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_of(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def read(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()
