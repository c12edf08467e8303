"""A headless consult participant built on aiortc: joins a room through the signalling socket, sends a
synthetic camera and microphone, and counts the audio and video frames it receives.

Used by the tests, by ``bench/video_call_setup.py`` and as a synthetic probe against a deployment
(aiortc is a dev dependency; the API itself never imports this module). It follows the same protocol as
the consult page: the newcomer offers to everyone already in the room; the others answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import websockets
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame

VIDEO_CLOCK = 90_000


class MovingVideoTrack(MediaStreamTrack):
    """A small synthetic camera: a bright bar sweeping over a grey field, so each frame differs."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            await asyncio.sleep(max(0.0, self._start + self._count / self.fps - time.time()))
        image = np.full((self.height, self.width, 3), 90, dtype=np.uint8)
        x = (self._count * 8) % self.width
        image[:, x : x + 16] = 240
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = int(self._count * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        return frame


@dataclass
class Received:
    """Frames received from one remote peer, by kind, and when the first one of each arrived."""

    frames: dict[str, int] = field(default_factory=lambda: {"audio": 0, "video": 0})
    first: dict[str, float] = field(default_factory=dict)
    size: tuple[int, int] | None = None


class Participant:
    """One aiortc participant in one room. Use ``async with Participant(...)`` or call join()/close()."""

    def __init__(self, base_url: str, room: str, token: str, *, send_media: bool = True) -> None:
        ws_base = base_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/")
        self.url = f"{ws_base}/video/rooms/{room}/signal"
        self.token = token
        self.send_media = send_media
        self.id: str | None = None
        self.peers: dict[str, dict[str, Any]] = {}
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.received: dict[str, Received] = {}
        self.events: list[dict[str, Any]] = []
        self.ice: list[RTCIceServer] = []
        self.close_code: int | None = None
        self.close_reason: str = ""
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._pending: dict[str, list[dict[str, Any]]] = {}

    async def __aenter__(self) -> Participant:
        await self.join()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def join(self) -> None:
        """Connect, authenticate with the first message, and wait for the room's peer list."""
        self._ws = await websockets.connect(self.url, max_size=2**20)
        await self._ws.send(json.dumps({"type": "auth", "token": self.token}))
        self._reader = asyncio.create_task(self._read())
        await self.wait_for(lambda: self.id is not None or self.close_code is not None, 20)
        if self.id is None:
            raise ConnectionRefusedError(f"join refused: {self.close_code} {self.close_reason}")

    async def send(self, message: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(message))

    async def wait_for(self, predicate: Any, timeout: float) -> None:
        """Wait until `predicate()` holds (re-checked on every event), or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("condition not reached")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))

    def media_from_all(self, minimum: int = 1) -> bool:
        """True when every remote peer has sent at least `minimum` audio and video frames."""
        return bool(self.peers) and all(
            self.received.get(pid) is not None and min(self.received[pid].frames.values()) >= minimum
            for pid in self.peers
        )

    async def _read(self) -> None:
        try:
            async for text in self._ws:
                msg = json.loads(text)
                self.events.append(msg)
                await self._handle(msg)
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            if self._ws.close_code is not None:
                self.close_code = self._ws.close_code
                self.close_reason = self._ws.close_reason or ""
            self._changed.set()

    async def _handle(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "ice-servers":
            self.ice = [
                RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
                for s in msg["iceServers"]
            ]
        elif kind == "peers":
            self.id = msg["you"]
            for peer in msg["peers"]:
                self.peers[peer["id"]] = peer
                self._spawn(self._offer(peer["id"]))
        elif kind == "joined":
            self.peers[msg["peer"]["id"]] = msg["peer"]
        elif kind == "left":
            self.peers.pop(msg["peer"], None)
            pc = self.pcs.pop(msg["peer"], None)
            if pc is not None:
                await pc.close()
        elif kind == "offer":  # answered inline, so candidates that follow find the remote description
            await self._answer(msg["from"], msg["sdp"])
        elif kind == "answer":
            pc = self.pcs.get(msg["from"])
            if pc is not None:
                await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "answer"))
                for cand in self._pending.pop(msg["from"], []):
                    await self._add_candidate(msg["from"], cand)
        elif kind == "ice":
            await self._add_candidate(msg["from"], msg.get("candidate"))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _pc(self, peer_id: str) -> RTCPeerConnection:
        old = self.pcs.pop(peer_id, None)
        if old is not None:
            self._spawn(old.close())
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice))
        self.pcs[peer_id] = pc
        got = self.received.setdefault(peer_id, Received())

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            self._spawn(self._consume(track, got))

        if self.send_media:
            pc.addTrack(AudioStreamTrack())
            pc.addTrack(MovingVideoTrack())
        else:
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")
        return pc

    async def _consume(self, track: MediaStreamTrack, got: Received) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            got.frames[track.kind] += 1
            got.first.setdefault(track.kind, time.monotonic())
            if isinstance(frame, VideoFrame):
                got.size = (frame.width, frame.height)
            self._changed.set()

    async def _offer(self, peer_id: str) -> None:
        pc = self._pc(peer_id)
        await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers every candidate here
        await self.send({"type": "offer", "to": peer_id, "sdp": pc.localDescription.sdp})

    async def _answer(self, peer_id: str, sdp: str) -> None:
        pc = self.pcs.get(peer_id)
        if pc is None or pc.signalingState != "stable" or pc.remoteDescription is not None:
            pc = self._pc(peer_id)
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.send({"type": "answer", "to": peer_id, "sdp": pc.localDescription.sdp})

    async def _add_candidate(self, peer_id: str, cand: dict[str, Any] | None) -> None:
        pc = self.pcs.get(peer_id)
        if pc is None or not cand or not cand.get("candidate"):
            return
        if pc.remoteDescription is None:  # our offer is not answered yet: keep it for later
            self._pending.setdefault(peer_id, []).append(cand)
            return
        text = cand["candidate"]
        candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
        candidate.sdpMid = cand.get("sdpMid")
        candidate.sdpMLineIndex = cand.get("sdpMLineIndex")
        with contextlib.suppress(Exception):  # a candidate for a closed/replaced connection
            await pc.addIceCandidate(candidate)

    async def close(self, say_bye: bool = True) -> None:
        if self._ws is not None and say_bye:
            with contextlib.suppress(Exception):
                await self.send({"type": "bye"})
        for pc in list(self.pcs.values()):
            await pc.close()
        self.pcs.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
