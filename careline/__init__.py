"""Careline: configuration, the command line and the launcher shared by every package."""
