"""Careline clinical API: the system of record (FHIR R4 JSON over FastAPI, its own database)."""
