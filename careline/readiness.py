"""Waiting for a child process's HTTP endpoint to answer (the launcher, benches and tests all do it)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx


class NotReady(RuntimeError):
    """The process exited, or the endpoint did not answer in time."""


def wait_until_ready(
    url: str,
    process: subprocess.Popen[bytes] | None = None,
    timeout_s: float = 600.0,
    accept: Callable[[int], bool] = lambda status: status == 200,
) -> None:
    """Polls `url` until `accept(status)`; raises NotReady when `process` exits first or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise NotReady(f"the process stopped during start-up (exit {process.returncode})")
        try:
            if accept(httpx.get(url, timeout=2.0).status_code):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise NotReady(f"{url} did not answer within {timeout_s:.0f} s")
