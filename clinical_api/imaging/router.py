"""The /dicomweb endpoints (STOW-RS, QIDO-RS, WADO-RS, rendered, thumbnails, share links). Thin: parse,
call one function, reply."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clinical_api.auth import Principal, current_principal
from clinical_api.context import Ctx
from clinical_api.deps import commit, get_ctx
from clinical_api.errors import FhirError
from clinical_api.imaging import qido, shares, wado
from clinical_api.imaging.multipart import encode_related, new_boundary, parse_related, related_content_type
from clinical_api.imaging.render import Undecodable, parse_viewport, parse_window, render
from clinical_api.imaging.store import BlobStore, storage_root
from clinical_api.imaging.stow import Stow, reply
from clinical_api.imaging.tables import DicomInstance
from clinical_api.imaging.viewer import Viewer, get_viewer

router = APIRouter(prefix="/dicomweb", tags=["dicomweb"])

DICOM_JSON = "application/dicom+json"


def _base(request: Request) -> str:
    """Base of the links in replies: ``imaging.public_url``, else this server as the client reached it.

    Some clients (dicomweb-client) send a Host header without the port; the listening port fills it in.
    """
    public = request.app.state.settings.imaging.public_url
    if public:
        return str(public).rstrip("/") + "/dicomweb"
    host = request.headers.get("host", "")
    server = request.scope.get("server")
    if host and ":" not in host.rsplit("]", 1)[-1] and server and server[1] not in (80, 443):
        host = f"{host}:{server[1]}"
    return f"{request.url.scheme}://{host or 'localhost'}/dicomweb"


def _blobs(request: Request) -> BlobStore:
    return BlobStore(storage_root(request.app.state.settings))


# --- STOW-RS -----------------------------------------------------------------------------------------


async def _stow(request: Request, principal: Principal, study_uid: str | None) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if not body:
        raise FhirError(400, "empty STOW-RS request", "required")
    parts = parse_related(body, content_type)
    stow = Stow(request.app.state.settings, request.app.state.sessionmaker, principal, _blobs(request))
    outcomes = await run_in_threadpool(stow.store_all, parts, study_uid)
    status, payload = reply(outcomes, _base(request), study_uid)
    return JSONResponse(payload, status_code=status, media_type=DICOM_JSON)


@router.post("/studies")
async def store_instances(
    request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    """STOW-RS: store the application/dicom parts of a multipart/related body."""
    return await _stow(request, principal, None)


@router.post("/studies/{study}")
async def store_study_instances(
    request: Request, study: str, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    """STOW-RS into one study: parts of another study fail with 0xA900."""
    return await _stow(request, principal, study)


# --- QIDO-RS -----------------------------------------------------------------------------------------


def _search_reply(found: tuple[list[dict[str, Any]], list[str]]) -> Response:
    results, ignored = found
    headers = {"Warning": f'299 careline "ignored matching keys: {", ".join(ignored)}"'} if ignored else {}
    if not results:
        return Response(status_code=204, headers=headers)
    return JSONResponse(results, media_type=DICOM_JSON, headers=headers)


def _query(request: Request) -> qido.Query:
    return qido.parse_query(list(request.query_params.multi_items()))


def _done(viewer: Viewer, response: Response) -> Response:
    viewer.session.commit()
    return response


@router.get("/studies")
def search_studies(request: Request, viewer: Viewer = Depends(get_viewer)) -> Response:
    return _done(viewer, _search_reply(qido.search_studies(viewer, _query(request), _base(request))))


@router.get("/series")
def search_all_series(request: Request, viewer: Viewer = Depends(get_viewer)) -> Response:
    return _done(viewer, _search_reply(qido.search_series(viewer, _query(request), _base(request), None)))


@router.get("/instances")
def search_all_instances(request: Request, viewer: Viewer = Depends(get_viewer)) -> Response:
    found = qido.search_instances(viewer, _query(request), _base(request), None, None)
    return _done(viewer, _search_reply(found))


@router.get("/studies/{study}/series")
def search_series(request: Request, study: str, viewer: Viewer = Depends(get_viewer)) -> Response:
    return _done(viewer, _search_reply(qido.search_series(viewer, _query(request), _base(request), study)))


@router.get("/studies/{study}/instances")
def search_study_instances(request: Request, study: str, viewer: Viewer = Depends(get_viewer)) -> Response:
    found = qido.search_instances(viewer, _query(request), _base(request), study, None)
    return _done(viewer, _search_reply(found))


@router.get("/studies/{study}/series/{series}/instances")
def search_instances(
    request: Request, study: str, series: str, viewer: Viewer = Depends(get_viewer)
) -> Response:
    found = qido.search_instances(viewer, _query(request), _base(request), study, series)
    return _done(viewer, _search_reply(found))


# --- WADO-RS retrieve and metadata ------------------------------------------------------------------


def _accepts(accept: str | None, *kinds: str) -> bool:
    if not accept:
        return True
    accept = accept.lower()
    return "*/*" in accept or any(kind in accept for kind in kinds)


def _retrieve(request: Request, rows: list[DicomInstance], accept: str | None) -> StreamingResponse:
    if not _accepts(accept, "application/dicom", 'multipart/related; type="application/dicom"'):
        raise FhirError(406, 'instances are served as multipart/related; type="application/dicom"')
    blobs = _blobs(request)
    files = [
        (f"application/dicom; transfer-syntax={r.transfer_syntax}", blobs.path_of(r.sha256)) for r in rows
    ]
    boundary = new_boundary()

    def body() -> Iterator[bytes]:
        yield from encode_related(((ctype, path.read_bytes()) for ctype, path in files), boundary)

    return StreamingResponse(body(), media_type=related_content_type("application/dicom", boundary))


@router.get("/studies/{study}")
def retrieve_study(
    request: Request, study: str, accept: str | None = Header(None), viewer: Viewer = Depends(get_viewer)
) -> StreamingResponse:
    return _retrieve(request, wado.instances(viewer, study)[1], accept)


@router.get("/studies/{study}/series/{series}")
def retrieve_series(
    request: Request,
    study: str,
    series: str,
    accept: str | None = Header(None),
    viewer: Viewer = Depends(get_viewer),
) -> StreamingResponse:
    return _retrieve(request, wado.instances(viewer, study, series)[1], accept)


@router.get("/studies/{study}/series/{series}/instances/{instance}")
def retrieve_instance(
    request: Request,
    study: str,
    series: str,
    instance: str,
    accept: str | None = Header(None),
    viewer: Viewer = Depends(get_viewer),
) -> StreamingResponse:
    return _retrieve(request, wado.instances(viewer, study, series, instance)[1], accept)


def _metadata(request: Request, rows: list[DicomInstance]) -> JSONResponse:
    return JSONResponse(wado.metadata(rows, _base(request)), media_type=DICOM_JSON)


@router.get("/studies/{study}/metadata")
def study_metadata(request: Request, study: str, viewer: Viewer = Depends(get_viewer)) -> JSONResponse:
    return _metadata(request, wado.instances(viewer, study)[1])


@router.get("/studies/{study}/series/{series}/metadata")
def series_metadata(
    request: Request, study: str, series: str, viewer: Viewer = Depends(get_viewer)
) -> JSONResponse:
    return _metadata(request, wado.instances(viewer, study, series)[1])


@router.get("/studies/{study}/series/{series}/instances/{instance}/metadata")
def instance_metadata(
    request: Request, study: str, series: str, instance: str, viewer: Viewer = Depends(get_viewer)
) -> JSONResponse:
    return _metadata(request, wado.instances(viewer, study, series, instance)[1])


def _octets(chunks: list[bytes]) -> Response:
    boundary = new_boundary()
    body = b"".join(encode_related((("application/octet-stream", c) for c in chunks), boundary))
    return Response(body, media_type=related_content_type("application/octet-stream", boundary))


@router.get("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}")
def retrieve_frames(
    request: Request,
    study: str,
    series: str,
    instance: str,
    frames: str,
    accept: str | None = Header(None),
    viewer: Viewer = Depends(get_viewer),
) -> Response:
    """Uncompressed frames (multipart/related; type="application/octet-stream"), 1-based numbers."""
    if not _accepts(accept, "application/octet-stream"):
        raise FhirError(406, 'frames are served as multipart/related; type="application/octet-stream"')
    row = wado.instances(viewer, study, series, instance)[1][0]
    if row.frames == 0:
        raise FhirError(404, "the instance has no frames")
    path = _blobs(request).path_of(row.sha256)
    return _octets([wado.frame_bytes(path, row, i) for i in wado.parse_frames(frames, row.frames)])


@router.get("/studies/{study}/series/{series}/instances/{instance}/bulkdata/{tag}")
def retrieve_bulkdata(
    request: Request, study: str, series: str, instance: str, tag: str, viewer: Viewer = Depends(get_viewer)
) -> Response:
    row = wado.instances(viewer, study, series, instance)[1][0]
    return _octets([wado.bulk_value(_blobs(request).path_of(row.sha256), tag)])


# --- rendered and thumbnails -----------------------------------------------------------------------


def _image_type(accept: str | None, default: str) -> str:
    if not accept or "*/*" in accept or "image/*" in accept:
        return default
    accept = accept.lower()
    for media in ("image/png", "image/jpeg"):
        if media in accept and (default not in accept or accept.index(media) < accept.index(default)):
            return media
    if default in accept:
        return default
    raise FhirError(406, "rendered images are image/png or image/jpeg")


def _render(
    request: Request,
    rows: list[DicomInstance],
    frame: int,
    accept: str | None,
    thumbnail: bool = False,
) -> Response:
    params = request.query_params
    media = _image_type(accept, "image/jpeg" if thumbnail else "image/png")
    window = parse_window(params.get("window"))
    viewport = parse_viewport(params.get("viewport")) or ((128, 128) if thumbnail else None)
    quality = params.get("quality", "90")
    if not quality.isdigit() or not 1 <= int(quality) <= 100:
        raise FhirError(400, "quality must be 1..100", "invalid")
    candidates = wado.renderable(rows)
    if frame > candidates[0].frames:
        raise FhirError(404, f"frame number out of range (the instance has {candidates[0].frames})")
    blobs = _blobs(request)
    for row in candidates:  # a study or series shows its first instance that this server can decode
        try:
            image = render(blobs.path_of(row.sha256), frame - 1, media, window, int(quality), viewport)
            break
        except Undecodable:
            continue
    else:
        raise FhirError(
            406,
            f"pixel data in transfer syntax {candidates[0].transfer_syntax} cannot be decoded on this server; "
            "retrieve the instance as application/dicom instead",
            "not-supported",
        )
    return Response(image, media_type=media)


@router.get("/studies/{study}/rendered")
def study_rendered(
    request: Request, study: str, accept: str | None = Header(None), viewer: Viewer = Depends(get_viewer)
) -> Response:
    return _render(request, wado.instances(viewer, study)[1], 1, accept)


@router.get("/studies/{study}/series/{series}/rendered")
def series_rendered(
    request: Request,
    study: str,
    series: str,
    accept: str | None = Header(None),
    viewer: Viewer = Depends(get_viewer),
) -> Response:
    return _render(request, wado.instances(viewer, study, series)[1], 1, accept)


@router.get("/studies/{study}/series/{series}/instances/{instance}/rendered")
def instance_rendered(
    request: Request,
    study: str,
    series: str,
    instance: str,
    accept: str | None = Header(None),
    viewer: Viewer = Depends(get_viewer),
) -> Response:
    return _render(request, wado.instances(viewer, study, series, instance)[1], 1, accept)


@router.get("/studies/{study}/series/{series}/instances/{instance}/frames/{frame}/rendered")
def frame_rendered(
    request: Request,
    study: str,
    series: str,
    instance: str,
    frame: int,
    accept: str | None = Header(None),
    viewer: Viewer = Depends(get_viewer),
) -> Response:
    if frame < 1:
        raise FhirError(404, "frame numbers start at 1")
    return _render(request, wado.instances(viewer, study, series, instance)[1], frame, accept)


@router.get("/studies/{study}/thumbnail")
def study_thumbnail(
    request: Request, study: str, accept: str | None = Header(None), viewer: Viewer = Depends(get_viewer)
) -> Response:
    return _render(request, wado.instances(viewer, study)[1], 1, accept, thumbnail=True)


@router.get("/studies/{study}/series/{series}/thumbnail")
def series_thumbnail(
    request: Request,
    study: str,
    series: str,
    accept: str | None = Header(None),
    viewer: Viewer = Depends(get_viewer),
) -> Response:
    return _render(request, wado.instances(viewer, study, series)[1], 1, accept, thumbnail=True)


@router.get("/studies/{study}/series/{series}/instances/{instance}/thumbnail")
def instance_thumbnail(
    request: Request,
    study: str,
    series: str,
    instance: str,
    accept: str | None = Header(None),
    viewer: Viewer = Depends(get_viewer),
) -> Response:
    return _render(request, wado.instances(viewer, study, series, instance)[1], 1, accept, thumbnail=True)


# --- share links -----------------------------------------------------------------------------------


class ShareIn(BaseModel):
    studies: list[str] = Field(..., min_length=1, max_length=100)
    expires_in: int | None = Field(None, description="seconds; default imaging.share_link_ttl_s")


@router.post("/shares", status_code=201)
def create_share(request: Request, body: ShareIn, ctx: Ctx = Depends(get_ctx)) -> JSONResponse:
    """A view-only link to some studies of one patient (the patient themself, or staff who reach them)."""
    created = shares.create(ctx, body.studies, body.expires_in, _base(request))
    commit(request, ctx)
    return JSONResponse(created, status_code=201)


@router.delete("/shares/{share_id}", status_code=204)
def revoke_share(request: Request, share_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    shares.revoke(ctx, share_id)
    commit(request, ctx)
    return Response(status_code=204)
