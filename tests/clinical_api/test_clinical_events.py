"""SSE Task events reach the consoles that may see the patient, and only those."""

from __future__ import annotations

import json
import queue
import threading

import httpx


def _listen(api, who, out: queue.Queue, ready: threading.Event, stop: threading.Event):
    headers = {"Authorization": f"Bearer {api.tokens[who]}"}
    with (
        httpx.Client(base_url=api.url, timeout=httpx.Timeout(30, read=30)) as c,
        c.stream("GET", "/events/tasks", headers=headers) as r,
    ):
        out.put(("status", r.status_code, r.headers.get("content-type")))
        event = None
        for line in r.iter_lines():
            if line.startswith(": subscribed"):
                ready.set()
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "task":
                out.put(("task", json.loads(line[6:])))
                if stop.is_set() or out.qsize() > 2:
                    return
                return


def test_task_events_follow_scope(api):
    out: queue.Queue = queue.Queue()
    ready, stop = threading.Event(), threading.Event()
    listener = threading.Thread(target=_listen, args=(api, "nurse-cardio", out, ready, stop), daemon=True)
    listener.start()
    assert ready.wait(10)
    with api.client("nurse-onco") as c:  # oncology patient first: must not reach the cardiology nurse
        r = c.post(
            "/fhir/Task/$from-triage",
            json={"patient_id": api.ids["patient_b"], "triage_level": "emergency", "department": "oncology"},
        )
        assert r.status_code == 201
    with api.client("nurse-cardio") as c:
        r = c.post(
            "/fhir/Task/$from-triage",
            json={
                "patient_id": api.ids["patient_a"],
                "triage_level": "emergency",
                "department": "cardiology",
            },
        )
        assert r.status_code == 201
        expected = r.json()["id"]
    listener.join(15)
    stop.set()
    assert out.get(timeout=1) == ("status", 200, "text/event-stream; charset=utf-8")
    kind, payload = out.get(timeout=5)
    assert kind == "task" and payload["kind"] == "created"
    assert payload["task"]["id"] == expected and payload["task"]["priority"] == "stat"


def test_patients_cannot_subscribe(api):
    with api.client("pat-a") as c:
        assert c.get("/events/tasks").status_code == 403
