"""Patient-facing wording of the dialogue layer, loaded from `wording.yaml` and checked at load."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

WORDING_FILE = Path(__file__).with_name("wording.yaml")
LANGUAGES = ("en", "zh")


class Wording:
    def __init__(self, messages: dict[str, dict[str, str]]) -> None:
        for key, texts in messages.items():
            missing = [lang for lang in LANGUAGES if not texts.get(lang)]
            if missing:
                raise ValueError(f"{WORDING_FILE}: message {key!r} lacks {', '.join(missing)}")
        self._messages = messages

    def say(self, key: str, lang: str, **values: Any) -> str:
        texts = self._messages[key]
        return texts.get(lang, texts["en"]).format(**values)


@lru_cache(maxsize=1)
def get_wording() -> Wording:
    data = yaml.safe_load(WORDING_FILE.read_text(encoding="utf-8"))
    return Wording(data["messages"])
