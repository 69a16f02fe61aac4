# GitLab versions, as instances report them ("16.8.0-ee", "17.3").
#
# Rules this module enforces:
# - A version is major.minor[.patch][-suffix]; a missing patch means 0. Anything else is
#   refused, so "which features may this instance use" (R17, R18) is never guessed.
# - Order and equality look at major.minor.patch only: the suffix names the edition or a
#   pre-release build ("-ee", "-pre", "-rc42-ee") and does not move feature gates, as in
#   GitLab's own VersionInfo.
from __future__ import annotations

import re
from dataclasses import dataclass, field

from protocol.errors import LocalProtocolError

__all__ = ["GitLabVersion"]

# No leading zeros, so each version has a single spelling; five digits is far beyond any
# real version and keeps absurd input from becoming a huge int.
_NUMBER = r"(0|[1-9][0-9]{0,4})"
_SUFFIX = r"[0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*"
_VERSION = re.compile(rf"{_NUMBER}\.{_NUMBER}(?:\.{_NUMBER})?(?:-({_SUFFIX}))?")
_SUFFIX_ONLY = re.compile(_SUFFIX)


@dataclass(frozen=True, order=True)
class GitLabVersion:
    major: int
    minor: int
    patch: int = 0
    suffix: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("major", "minor", "patch"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise LocalProtocolError(
                    "expected a non-negative integer", field=f"gitlab_version.{name}"
                )
        if not isinstance(self.suffix, str) or (
            self.suffix and not _SUFFIX_ONLY.fullmatch(self.suffix)
        ):
            raise LocalProtocolError(
                "expected letters and digits separated by '.' or '-'",
                field="gitlab_version.suffix",
            )

    @classmethod
    def parse(cls, text: str) -> GitLabVersion:
        """Parse "16.8.0-ee" or "17.3"; anything else raises ValueError."""
        match = _VERSION.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            shown = text[:40] if isinstance(text, str) else type(text).__name__
            raise ValueError(f"not a GitLab version: {shown!r}")
        major, minor, patch, suffix = match.groups()
        return cls(int(major), int(minor), int(patch or 0), suffix or "")

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return f"{text}-{self.suffix}" if self.suffix else text
