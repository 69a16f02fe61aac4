"""GitLab versions as instances report them (R17, R18 compare against these)."""

from __future__ import annotations

import pytest

from protocol import GitLabVersion, LocalProtocolError


@pytest.mark.parametrize(
    ("text", "parts", "shown"),
    [
        ("16.8.0-ee", (16, 8, 0, "ee"), "16.8.0-ee"),
        ("17.3", (17, 3, 0, ""), "17.3.0"),
        ("17.0.0-rc42-ee", (17, 0, 0, "rc42-ee"), "17.0.0-rc42-ee"),
        ("16.11.10", (16, 11, 10, ""), "16.11.10"),
        ("0.0.1-pre", (0, 0, 1, "pre"), "0.0.1-pre"),
    ],
)
def test_parse_reads_major_minor_patch_and_suffix(
    text: str, parts: tuple[int, int, int, str], shown: str
) -> None:
    version = GitLabVersion.parse(text)
    assert (version.major, version.minor, version.patch, version.suffix) == parts
    assert str(version) == shown


@pytest.mark.parametrize(
    "text",
    [
        "",
        "17",
        "17.",
        "v17.3",
        "17.3.0.1",
        "017.3",
        "17.3-",
        "17.3 ",
        "latest",
        "１７.3",
        "17.3.0-ee!",
        "999999.1",
    ],
)
def test_parse_refuses_other_strings(text: str) -> None:
    with pytest.raises(ValueError):
        GitLabVersion.parse(text)


def test_versions_order_by_number_not_by_text() -> None:
    assert GitLabVersion.parse("16.10.0") > GitLabVersion.parse("16.9.5")
    assert GitLabVersion.parse("17.3") >= GitLabVersion(17, 3)
    assert GitLabVersion.parse("17.2.9") < GitLabVersion(17, 3)


def test_suffix_does_not_move_feature_gates() -> None:
    assert GitLabVersion.parse("16.8.0-ee") == GitLabVersion.parse("16.8.0")
    assert GitLabVersion.parse("16.8.0-pre") >= GitLabVersion(16, 8)


def test_constructor_refuses_negative_or_non_integer_parts() -> None:
    with pytest.raises(LocalProtocolError, match="gitlab_version.minor"):
        GitLabVersion(17, -1)
    with pytest.raises(LocalProtocolError, match="gitlab_version.major"):
        GitLabVersion(True, 1)
    with pytest.raises(LocalProtocolError, match="gitlab_version.suffix"):
        GitLabVersion(17, 1, 0, "e e")
