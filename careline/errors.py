"""Errors that stop a start with one clear line instead of a traceback."""

from __future__ import annotations


class ConfigError(Exception):
    """A setting is wrong. `setting` names it; `fix` says what to do."""

    def __init__(self, setting: str, problem: str, fix: str) -> None:
        super().__init__(f"{setting}: {problem}. Fix: {fix}")
        self.setting = setting
        self.problem = problem
        self.fix = fix
