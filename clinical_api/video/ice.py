"""RTCIceServer entries for browsers and aiortc peers, from ``settings.video``.

STUN URLs are handed out as they are. TURN URLs get credentials: with ``turn_secret`` set they are the
short-lived ones coturn's ``use-auth-secret`` mode checks (username ``<expiry>:<user>``, credential
base64(HMAC-SHA1(secret, username))), so no long-lived TURN password reaches a browser; otherwise the
static ``turn_username``/``turn_password`` pair is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from careline.settings import Settings


def turn_credentials(secret: str, user: str, expires: int) -> tuple[str, str]:
    """coturn REST-API credentials valid until `expires` (epoch seconds)."""
    username = f"{expires}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: Settings, user: str, expires: int | None = None) -> list[dict[str, Any]]:
    """The configured servers as RTCIceServer dicts (``urls``, and ``username``/``credential`` for TURN)."""
    video = settings.video
    stun = [u for u in video.ice_servers if u.startswith(("stun:", "stuns:"))]
    turn = [u for u in video.ice_servers if u.startswith(("turn:", "turns:"))]
    servers: list[dict[str, Any]] = []
    if stun:
        servers.append({"urls": stun})
    if turn:
        secret = video.turn_secret.get_secret_value()
        if secret:
            username, credential = turn_credentials(secret, user, expires or int(time.time()) + 3600)
        else:
            username, credential = video.turn_username, video.turn_password.get_secret_value()
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers
