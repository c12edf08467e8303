"""A local telephony provider that speaks the Twilio REST shape, for tests, the bench and demos.

``POST /2010-04-01/Accounts/{sid}/Calls.json`` checks basic auth, E.164 numbers and that TwiML or a URL
is given, and answers with a call SID like the real API. When the call "connects", it opens the media
stream WebSocket named in the TwiML ``<Stream url>`` and sends the Media Streams frames ``connected``,
``start`` (with the ``customParameters``), a few silent ``media`` frames and ``stop``. It can be told
to fail the next requests or to answer slowly (a provider timeout).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SILENCE_20MS = base64.b64encode(b"\xff" * 160).decode()


@dataclass
class SimCall:
    sid: str
    to: str
    from_: str
    twiml: str | None
    url: str | None
    status_callback: str | None
    status: str = "queued"
    stream_url: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    error: str | None = None
    callback_status: int | None = None
    done: threading.Event = field(default_factory=threading.Event)


def parse_stream(twiml: str) -> tuple[str, dict[str, str]]:
    """The ``<Connect><Stream url>`` of a TwiML document and its ``<Parameter>`` pairs."""
    root = ET.fromstring(twiml)
    stream = root.find(".//Stream")
    if stream is None or not stream.get("url"):
        raise ValueError("TwiML has no <Stream url>")
    params = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    return str(stream.get("url")), params


class TelephonySimulator:
    def __init__(
        self, account_sid: str, auth_token: str, media_frames: int = 3, listen_s: float = 0.0
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.media_frames = media_frames
        self.listen_s = listen_s  # how long the callee stays on the line (sending silence) before hanging up
        self.calls: dict[str, SimCall] = {}
        self.by_key: dict[str, str] = {}
        self.requests = 0
        self.fail_next: list[tuple[int, str]] = []
        self.delay_s = 0.0
        self.next_outcomes: list[str] = []  # e.g. "no-answer", "busy": the next calls end so, unconnected
        self.app = FastAPI(title="telephony simulator")
        self.app.add_api_route(
            "/2010-04-01/Accounts/{sid}/Calls.json", self.create_call, methods=["POST"], status_code=201
        )
        self.app.add_api_route(
            "/2010-04-01/Accounts/{sid}/Calls/{call_sid}.json", self.read_call, methods=["GET"]
        )

    def _authorized(self, request: Request, sid: str) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        ok_user = secrets.compare_digest(user, self.account_sid) and sid == self.account_sid
        return ok_user and secrets.compare_digest(password, self.auth_token)

    async def create_call(self, sid: str, request: Request) -> JSONResponse:
        self.requests += 1
        if not self._authorized(request, sid):
            return _error(401, 20003, "Authenticate")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_next:
            status, message = self.fail_next.pop(0)
            return _error(status, 20500 if status >= 500 else 21000, message)
        form = await request.form()
        to, from_ = str(form.get("To", "")), str(form.get("From", ""))
        if not E164.fullmatch(to):
            return _error(400, 21211, "The 'To' number is not a valid phone number.")
        if not E164.fullmatch(from_):
            return _error(400, 21212, "The 'From' number is not a valid phone number.")
        twiml, url = form.get("Twiml"), form.get("Url")
        if not twiml and not url:
            return _error(400, 21205, "Url or Twiml is required.")
        key = request.headers.get("idempotency-key")
        if key and key in self.by_key:
            return JSONResponse(self._json(self.calls[self.by_key[key]]), status_code=201)
        call = SimCall(
            sid="CA" + secrets.token_hex(16),
            to=to,
            from_=from_,
            twiml=str(twiml) if twiml else None,
            url=str(url) if url else None,
            status_callback=str(form.get("StatusCallback") or "") or None,
        )
        self.calls[call.sid] = call
        if key:
            self.by_key[key] = call.sid
        asyncio.get_running_loop().create_task(self._connect(call))
        return JSONResponse(self._json(call), status_code=201)

    async def read_call(self, sid: str, call_sid: str, request: Request) -> JSONResponse:
        if not self._authorized(request, sid):
            return _error(401, 20003, "Authenticate")
        call = self.calls.get(call_sid)
        if call is None:
            return _error(404, 20404, "The requested resource was not found")
        return JSONResponse(self._json(call))

    def _json(self, call: SimCall) -> dict[str, Any]:
        return {
            "sid": call.sid,
            "account_sid": self.account_sid,
            "to": call.to,
            "from": call.from_,
            "status": call.status,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call.sid}.json",
        }

    async def _connect(self, call: SimCall) -> None:
        """Answer the call: fetch TwiML if a URL was given, then play the media stream."""
        try:
            twiml = call.twiml
            if twiml is None and call.url:
                async with httpx.AsyncClient(timeout=10) as client:
                    response = await client.post(call.url, data={"CallSid": call.sid, "To": call.to})
                    twiml = response.text
            call.stream_url, call.parameters = parse_stream(twiml or "")
            outcome = self.next_outcomes.pop(0) if self.next_outcomes else "completed"
            if outcome == "completed":
                call.status = "in-progress"
                await self._stream(call)
            call.status = outcome
        except Exception as exc:  # the simulated call fails; tests read the reason
            call.status = "failed"
            call.error = f"{type(exc).__name__}: {exc}"
        finally:
            if call.status_callback:
                try:
                    async with httpx.AsyncClient(timeout=5) as client:
                        response = await client.post(
                            call.status_callback, data={"CallSid": call.sid, "CallStatus": call.status}
                        )
                        call.callback_status = response.status_code
                except httpx.HTTPError:
                    pass
            call.done.set()

    async def _stream(self, call: SimCall) -> None:
        assert call.stream_url is not None
        stream_sid = "MZ" + secrets.token_hex(16)
        frames: list[dict[str, Any]] = [
            {"event": "connected", "protocol": "Call", "version": "1.0.0"},
            {
                "event": "start",
                "sequenceNumber": "1",
                "streamSid": stream_sid,
                "start": {
                    "accountSid": self.account_sid,
                    "streamSid": stream_sid,
                    "callSid": call.sid,
                    "tracks": ["inbound"],
                    "customParameters": call.parameters,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            },
        ]
        for i in range(self.media_frames):
            frames.append(
                {
                    "event": "media",
                    "sequenceNumber": str(i + 2),
                    "streamSid": stream_sid,
                    "media": {
                        "track": "inbound",
                        "chunk": str(i + 1),
                        "timestamp": str(20 * i),
                        "payload": SILENCE_20MS,
                    },
                }
            )
        stop = {
            "event": "stop",
            "sequenceNumber": str(len(frames) + 1),
            "streamSid": stream_sid,
            "stop": {"accountSid": self.account_sid, "callSid": call.sid},
        }
        async with websockets.connect(call.stream_url, open_timeout=10) as ws:
            for frame in frames:
                await ws.send(json.dumps(frame))
                call.sent.append(frame)
            await self._listen(ws, call, stream_sid)
            await ws.send(json.dumps(stop))
            call.sent.append(stop)
            try:
                while True:
                    message = await asyncio.wait_for(ws.recv(), timeout=2)
                    call.received.append(message if isinstance(message, str) else message.decode())
            except (TimeoutError, websockets.ConnectionClosed):
                pass

    async def _listen(self, ws: Any, call: SimCall, stream_sid: str) -> None:
        """The callee listens for `listen_s`: silence goes up in real time, marks are echoed back as played."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.listen_s
        silence = json.dumps(
            {
                "event": "media",
                "streamSid": stream_sid,
                "media": {"track": "inbound", "payload": SILENCE_20MS},
            }
        )
        while loop.time() < deadline:
            await ws.send(silence)
            try:
                message = await asyncio.wait_for(ws.recv(), timeout=0.02)
            except TimeoutError:
                continue
            text = message if isinstance(message, str) else message.decode()
            call.received.append(text)
            event = json.loads(text)
            if event.get("event") == "mark":
                await ws.send(json.dumps({"event": "mark", "streamSid": stream_sid, "mark": event["mark"]}))


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "status": status}, status_code=status)
