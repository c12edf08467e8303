"""The running world of the assistant tests: both servers' URLs, settings and the seeded passwords.

Kept out of conftest.py so test modules import it by a unique name (several test folders have a conftest).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from careline.settings import Settings


@dataclass
class World:
    clinical_url: str
    assistant_url: str
    settings: Settings
    passwords: dict[str, str]

    def token(self, username: str, base: str | None = None) -> str:
        response = httpx.post(
            f"{base or self.clinical_url}/auth/token",
            data={"username": username, "password": self.passwords[username]},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def assistant(self, username: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        return httpx.Client(base_url=self.assistant_url, headers=headers, timeout=120)

    def clinical(self, username: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        return httpx.Client(base_url=self.clinical_url, headers=headers, timeout=30)
