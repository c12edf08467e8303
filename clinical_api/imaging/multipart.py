"""multipart/related bodies (RFC 2387), as DICOMweb uses them for STOW requests and WADO replies."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from clinical_api.errors import FhirError

_PARAM = re.compile(r';\s*([A-Za-z0-9_\-]+)\s*=\s*("([^"]*)"|[^;\s]*)')


def media_params(content_type: str) -> tuple[str, dict[str, str]]:
    """``multipart/related; type="application/dicom"; boundary=x`` -> (media type, {param: value})."""
    media = content_type.split(";", 1)[0].strip().lower()
    params = {}
    for match in _PARAM.finditer(content_type):
        value = match.group(3) if match.group(3) is not None else match.group(2)
        params[match.group(1).lower()] = value
    return media, params


@dataclass
class Part:
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def parse_related(body: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart/related body; FhirError 400/415 when the envelope itself is broken."""
    media, params = media_params(content_type)
    if media != "multipart/related":
        raise FhirError(415, 'STOW-RS takes multipart/related; type="application/dicom"', "not-supported")
    part_type = params.get("type", "application/dicom").lower()
    if part_type != "application/dicom":
        raise FhirError(415, "only application/dicom parts are accepted", "not-supported")
    boundary = params.get("boundary")
    if not boundary or len(boundary) > 200:
        raise FhirError(400, "multipart boundary missing", "invalid")
    marker = b"--" + boundary.encode("latin-1")
    chunks = body.split(marker)
    if len(chunks) < 3:
        raise FhirError(400, "multipart body has no parts", "invalid")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise FhirError(400, "multipart part without headers", "invalid")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers = {}
        for line in head.split(b"\r\n"):
            name, colon, value = line.decode("latin-1").partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        parts.append(Part(headers, data))
    return parts


def new_boundary() -> str:
    return uuid.uuid4().hex


def related_content_type(part_type: str, boundary: str, transfer_syntax: str | None = None) -> str:
    value = f'multipart/related; type="{part_type}"; boundary={boundary}'
    return value + (f"; transfer-syntax={transfer_syntax}" if transfer_syntax else "")


def encode_related(parts: Iterable[tuple[str, bytes]], boundary: str) -> Iterator[bytes]:
    """Stream (content type, bytes) pairs as a multipart/related body."""
    for part_type, data in parts:
        yield f"--{boundary}\r\nContent-Type: {part_type}\r\n\r\n".encode("latin-1")
        yield data
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode("latin-1")
