"""Live video consults: rooms, per-participant join tokens and WebRTC signalling."""
