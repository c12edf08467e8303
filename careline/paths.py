"""Where the repository and the shared data sit (the shared folder lies beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CARELINE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
