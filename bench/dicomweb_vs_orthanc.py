"""DICOMweb side by side: the clinical API's /dicomweb against Orthanc + its DICOMweb plugin.

Both servers run on this machine as separate processes and get the same bytes: `--studies` studies (one
instance each; PS3.10 files re-identified from pydicom's CT_small/MR_small, 12 issuers, a few thousand
patients) stored through STOW-RS in batches by parallel clients. Then QIDO study searches (limit 100) and
WADO /rendered (PNG) are timed one request at a time. Prints STOW instances/s, QIDO and rendered p50/p95,
and the ratios (ours / Orthanc: above 1 means we are slower for latencies, faster for the rate).

    .venv/bin/python bench/dicomweb_vs_orthanc.py --studies 10000

Orthanc: Debian `orthanc` + `orthanc-dicomweb`; the plugin path comes from `dpkg -L orthanc-dicomweb`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pydicom
import requests
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from careline.readiness import wait_until_ready

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-1"
UID_ROOT = "1.2.826.0.1.3680043.10.543."
SERVER = """
from careline.settings import Settings
from clinical_api.app import run
run(Settings())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    wait_until_ready(url, process, timeout, accept=lambda status: status < 500)


def dicomweb_plugin() -> str:
    listing = subprocess.run(["dpkg", "-L", "orthanc-dicomweb"], capture_output=True, text=True, check=True)
    for line in listing.stdout.splitlines():
        if line.endswith(".so") and "DicomWeb" in line:
            return line
    raise RuntimeError("orthanc-dicomweb plugin not found")


def start_orthanc(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = {
        "Name": "bench",
        "StorageDirectory": str(tmp / "orthanc"),
        "IndexDirectory": str(tmp / "orthanc"),
        "HttpPort": port,
        "DicomPort": free_port(),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [dicomweb_plugin()],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    (tmp / "orthanc.json").write_text(json.dumps(config))
    log = open(tmp / "orthanc.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(["Orthanc", str(tmp / "orthanc.json")], stdout=log, stderr=log)
    wait_for(f"http://127.0.0.1:{port}/system", process)
    return process, f"http://127.0.0.1:{port}/dicom-web"


def start_careline(tmp: Path, database_url: str | None) -> tuple[subprocess.Popen[bytes], str, str]:
    """Our API in its own process (uvicorn, one worker, as `clinical_api.app.run` serves it) + admin token."""
    from careline.settings import DatabaseSettings, Settings
    from clinical_api.auth import create_user
    from clinical_api.db import make_engine, make_sessionmaker, migrate

    port = free_port()
    url = database_url or f"sqlite:///{tmp / 'clinical.db'}"
    settings = Settings(data_dir=tmp, database=DatabaseSettings(url=url))
    migrate(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        create_user(session, username="bench-admin", password=PASSWORD, role="admin")
        session.commit()
    engine.dispose()
    env = dict(os.environ)
    env.update(
        {
            "CARELINE_DATA_DIR": str(tmp),
            "CARELINE_DATABASE__URL": settings.database_url,
            "CARELINE_SERVER__HOST": "127.0.0.1",
            "CARELINE_SERVER__CLINICAL_PORT": str(port),
            "CARELINE_SERVER__MAX_UPLOAD_BYTES": str(500_000_000),
            "CARELINE_LOG_LEVEL": "WARNING",
            "CARELINE_OUTREACH__ENABLED": "false",
        }
    )
    log = open(tmp / "careline.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen([sys.executable, "-c", SERVER], env=env, cwd=REPO, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", process)
    r = requests.post(
        f"{base}/auth/token", data={"username": "bench-admin", "password": PASSWORD}, timeout=30
    )
    r.raise_for_status()
    return process, f"{base}/dicomweb", str(r.json()["access_token"])


def make_studies(n: int, seed: int = 7) -> list[tuple[bytes, dict[str, str]]]:
    """`n` one-instance studies as PS3.10 bytes, with the keys each was given (for queries)."""
    rng = random.Random(seed)
    templates = {m: pydicom.dcmread(get_testdata_file(f"{m}_small.dcm")) for m in ("CT", "MR")}  # type: ignore[arg-type]
    out = []
    for i in range(n):
        modality = "CT" if i % 5 == 0 else "MR"
        ds: Dataset = templates[modality].copy()
        patient = i % max(1, n // 4)
        keys = {
            "PatientID": f"P{patient:06d}",
            "IssuerOfPatientID": f"HOSP{patient % 12:02d}",
            "PatientName": f"Bench^Patient{patient:06d}",
            "StudyDate": f"{rng.randint(2019, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
            "AccessionNumber": f"ACC{i:07d}",
            "Modality": modality,
        }
        for key, value in keys.items():
            setattr(ds, key, value)
        ds.StudyInstanceUID = f"{UID_ROOT}1.{i}"
        ds.SeriesInstanceUID = f"{UID_ROOT}2.{i}"
        ds.SOPInstanceUID = f"{UID_ROOT}3.{i}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        buffer = io.BytesIO()
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
        out.append((buffer.getvalue(), keys))
    return out


def stow(base: str, headers: dict[str, str], files: list[bytes], batch: int, workers: int) -> float:
    """Store everything; returns instances per second. Fails loudly when a server refuses an instance."""
    boundary = "bench-boundary-7d3a"
    content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
    batches = [files[i : i + batch] for i in range(0, len(files), batch)]

    def post(parts: list[bytes]) -> None:
        body = (
            b"".join(
                f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p + b"\r\n"
                for p in parts
            )
            + f"--{boundary}--\r\n".encode()
        )
        r = requests.post(
            f"{base}/studies",
            data=body,
            headers={**headers, "Content-Type": content_type, "Accept": "application/dicom+json"},
            timeout=600,
        )
        if r.status_code != 200:
            raise RuntimeError(f"STOW {base}: HTTP {r.status_code} {r.text[:300]}")

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(post, batches))
    return len(files) / (time.perf_counter() - start)


Get = tuple[str, dict[str, str], dict[str, str]]  # url, query parameters, headers


def timed(session: requests.Session, gets: list[Get]) -> list[float]:
    """Milliseconds of each GET, one at a time; fails loudly on an error status."""
    latencies = []
    for url, params, headers in gets:
        start = time.perf_counter()
        r = session.get(url, params=params, headers=headers, timeout=60)
        latencies.append((time.perf_counter() - start) * 1000)
        if r.status_code not in (200, 204):
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
    return latencies


def queries(keys: list[dict[str, str]], n: int, seed: int = 11) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        k = rng.choice(keys)
        year = k["StudyDate"][:4]
        kind = i % 5
        if kind == 0:
            out.append({"PatientID": k["PatientID"]})
        elif kind == 1:
            out.append({"PatientName": k["PatientName"][:-2] + "*"})
        elif kind == 2:
            out.append({"StudyDate": f"{year}0301-{year}0331"})
        elif kind == 3:
            out.append({"ModalitiesInStudy": "CT", "StudyDate": f"{year}0101-{year}0630"})
        else:
            out.append({"AccessionNumber": k["AccessionNumber"]})
    return [{**q, "limit": "100"} for q in out]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--studies", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=20, help="instances per STOW request")
    parser.add_argument("--workers", type=int, default=4, help="parallel STOW clients")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--renders", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="our database (default: SQLite in a temp dir)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="dicomweb-bench-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        t0 = time.perf_counter()
        data = make_studies(args.studies)
        files = [d for d, _ in data]
        keys = [k for _, k in data]
        print(
            f"generated {len(files)} studies ({sum(map(len, files)) / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f}s"
        )
        orthanc, orthanc_url = start_orthanc(tmp)
        processes.append(orthanc)
        ours, our_url, token = start_careline(tmp, args.database_url)
        processes.append(ours)
        servers = {"careline": (our_url, {"Authorization": f"Bearer {token}"}), "orthanc": (orthanc_url, {})}

        results: dict[str, dict[str, float]] = {}
        for name, (base, headers) in servers.items():
            rate = stow(base, headers, files, args.batch, args.workers)
            print(f"{name}: stored {len(files)} instances, {rate:.1f}/s")
            results[name] = {"stow": rate}

        qs = queries(keys, args.queries)
        rng = random.Random(5)
        render_ids = [rng.randrange(len(files)) for _ in range(args.renders)]
        for name, (base, headers) in servers.items():
            session = requests.Session()
            session.headers.update(headers)
            check = session.get(
                f"{base}/studies", params={"limit": "1", "offset": str(args.studies - 1)}, timeout=60
            )
            assert check.status_code == 200 and len(check.json()) == 1, f"{name} did not index every study"
            for q in qs[:10]:  # warm-up
                session.get(f"{base}/studies", params=q, timeout=60)
            qido = timed(session, [(f"{base}/studies", q, {}) for q in qs])
            path = "{base}/studies/{r}1.{i}/series/{r}2.{i}/instances/{r}3.{i}/rendered"
            png = {"Accept": "image/png"}
            rendered = timed(
                session, [(path.format(base=base, r=UID_ROOT, i=i), {}, png) for i in render_ids]
            )
            results[name].update(
                {
                    "qido_p50": statistics.median(qido),
                    "qido_p95": pct(qido, 0.95),
                    "rendered_p50": statistics.median(rendered),
                    "rendered_p95": pct(rendered, 0.95),
                }
            )

        ours_r, orth_r = results["careline"], results["orthanc"]
        print()
        print(f"studies indexed: {args.studies}  (STOW batch {args.batch}, {args.workers} parallel clients)")
        print(f"{'metric':<26}{'careline':>12}{'orthanc':>12}{'ratio':>10}")
        for metric, label in (
            ("stow", "STOW instances/s"),
            ("qido_p50", "QIDO studies p50 ms"),
            ("qido_p95", "QIDO studies p95 ms"),
            ("rendered_p50", "WADO rendered p50 ms"),
            ("rendered_p95", "WADO rendered p95 ms"),
        ):
            a, b = ours_r[metric], orth_r[metric]
            print(f"{label:<26}{a:>12.1f}{b:>12.1f}{a / b:>10.2f}")
        print("ratio = careline / orthanc")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
