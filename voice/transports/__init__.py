"""Transports: pure message codecs plus async runners over any WebSocket-like object."""
