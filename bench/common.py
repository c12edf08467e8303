"""What every benchmark shares: free ports, percentiles, and an ASGI app served on loopback."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def describe_ms(values_s: list[float]) -> str:
    """'p50 X ms, p95 Y ms (n=N)' for durations in seconds."""
    if not values_s:
        return "no samples"
    return (
        f"p50 {percentile(values_s, 50) * 1000:.0f} ms, p95 {percentile(values_s, 95) * 1000:.0f} ms, "
        f"mean {statistics.fmean(values_s) * 1000:.0f} ms (n={len(values_s)})"
    )


class ServedApp:
    """An ASGI app under uvicorn on 127.0.0.1:<port>, in a daemon thread (same process as the load)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 300
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
