"""The assistant's tools: the clinical API, called with the session patient's scoped token only.

The server enforces the scope; this client only carries it. Any failure becomes a
`ToolError` that the dialogue turns into a polite message, never a crash.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class ToolError(Exception):
    """A clinical API call failed; `status` is the HTTP status, 0 when the server was unreachable."""

    def __init__(self, operation: str, status: int, detail: str) -> None:
        super().__init__(f"{operation} failed ({status}): {detail}")
        self.operation = operation
        self.status = status


class ClinicalAuth:
    """Exchanges a patient's own token for a short-lived token scoped to that patient alone."""

    def __init__(self, base_url: str, service_username: str, service_password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = service_username
        self._password = service_password
        self._service_token: tuple[str, float] | None = None

    async def _service(self, client: httpx.AsyncClient) -> str:
        if self._service_token and self._service_token[1] > time.time() + 30:
            return self._service_token[0]
        response = await client.post(
            f"{self.base_url}/auth/token", data={"username": self._username, "password": self._password}
        )
        if response.status_code != 200:
            raise ToolError("service sign-in", response.status_code, response.text[:200])
        body = response.json()
        self._service_token = (body["access_token"], time.time() + float(body["expires_in"]))
        return str(body["access_token"])

    async def patient_scope(self, patient_token: str) -> tuple[str, str, float]:
        """(scoped token, patient id, expiry) for the patient who owns `patient_token`."""
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                service = await self._service(client)
                response = await client.post(
                    f"{self.base_url}/auth/patient-token",
                    json={"subject_token": patient_token},
                    headers={"Authorization": f"Bearer {service}"},
                )
        except httpx.HTTPError as exc:
            raise ToolError("patient token exchange", 0, type(exc).__name__) from None
        if response.status_code != 200:
            raise ToolError("patient token exchange", response.status_code, response.text[:200])
        body = response.json()
        return str(body["access_token"]), str(body["patient_id"]), time.time() + float(body["expires_in"])


class PatientTools:
    """Every call the dialogue may make, bound to one patient's scoped token."""

    def __init__(self, base_url: str, scoped_token: str, patient_id: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.patient_id = patient_id
        self._headers = {"Authorization": f"Bearer {scoped_token}"}

    async def _call(
        self, operation: str, method: str, path: str, *, expect: tuple[int, ...] = (200, 201), **kwargs: Any
    ) -> dict[str, Any]:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                response = await client.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ToolError(operation, 0, type(exc).__name__) from None
        if response.status_code not in expect:
            raise ToolError(operation, response.status_code, response.text[:300])
        result: dict[str, Any] = response.json()
        return result

    @staticmethod
    def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
        return [entry["resource"] for entry in bundle.get("entry", []) if "resource" in entry]

    async def patient_record(self) -> dict[str, Any]:
        return await self._call("look up the record", "GET", f"/fhir/Patient/{self.patient_id}")

    async def imaging(self) -> list[dict[str, Any]]:
        bundle = await self._call(
            "list imaging", "GET", "/fhir/ImagingStudy", params={"patient": self.patient_id}
        )
        return self._entries(bundle)

    async def create(self, resource: dict[str, Any]) -> dict[str, Any]:
        kind = str(resource.get("resourceType"))
        return await self._call(f"create {kind}", "POST", f"/fhir/{kind}", json=resource)

    async def update(self, resource: dict[str, Any]) -> dict[str, Any]:
        kind, rid = str(resource.get("resourceType")), str(resource.get("id"))
        return await self._call(f"update {kind}", "PUT", f"/fhir/{kind}/{rid}", json=resource)

    async def triage_task(
        self, level: str, kind: str, department: str | None, focus: str | None, rule: str | None
    ) -> dict[str, Any]:
        body = {
            "patient_id": self.patient_id,
            "triage_level": level,
            "kind": kind,
            "department": department,
            "focus": focus,
            "rule": rule,
        }
        return await self._call("create task", "POST", "/fhir/Task/$from-triage", json=body)

    async def free_slots(self, count: int = 3) -> list[dict[str, Any]]:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        bundle = await self._call(
            "list free slots",
            "GET",
            "/fhir/Slot",
            params={"status": "free", "start": f"ge{now}", "_count": count},
        )
        return self._entries(bundle)

    async def book(self, slot_id: str, idempotency_key: str) -> dict[str, Any]:
        body = {
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": f"Slot/{slot_id}"}],
            "participant": [{"actor": {"reference": f"Patient/{self.patient_id}"}, "status": "accepted"}],
        }
        return await self._call(
            "book a consult",
            "POST",
            "/fhir/Appointment",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    async def upcoming_appointments(self) -> list[dict[str, Any]]:
        bundle = await self._call(
            "list appointments",
            "GET",
            "/fhir/Appointment",
            params={"patient": self.patient_id, "status": "booked"},
        )
        return self._entries(bundle)

    async def cancel(self, appointment_id: str) -> dict[str, Any]:
        return await self._call("cancel a consult", "POST", f"/fhir/Appointment/{appointment_id}/$cancel")

    async def reschedule(self, appointment_id: str, slot_id: str, idempotency_key: str) -> dict[str, Any]:
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": "slot", "valueReference": {"reference": f"Slot/{slot_id}"}}],
        }
        return await self._call(
            "reschedule a consult",
            "POST",
            f"/fhir/Appointment/{appointment_id}/$reschedule",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    async def care_plans(self) -> list[dict[str, Any]]:
        bundle = await self._call(
            "read follow-up plans",
            "GET",
            "/fhir/CarePlan",
            params={"patient": self.patient_id, "status": "active"},
        )
        return self._entries(bundle)
