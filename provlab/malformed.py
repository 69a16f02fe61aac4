"""A project file that breaks its format (a scenario, docs/rules.md), named by file and line."""

from __future__ import annotations

from pathlib import Path


class MalformedFile(Exception):
    """A file breaks its format: says which file, which line (when known) and what is wrong."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
