"""Session state and where it is kept (memory by default, Redis when configured)."""
