"""The README's QA engineer script runs as written against a real ``provlab up``: tokens,
activation over GraphQL and seats, through python-gitlab, reading no HTML."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_provlab_up import ROOT, Up, clean_environment, running_up

pytestmark = pytest.mark.e2e


def readme_script() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- qa-script -->\n```python\n(.*?)```\n<!-- /qa-script -->", text, re.S)
    assert match, "the README's QA script block is missing"
    return match.group(1)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    yield from running_up(tmp_path, "--simulated-time", "2026-03-02T00:00:00Z")


def test_the_readme_qa_script_runs_from_first_line_to_last(up: Up, tmp_path: Path) -> None:
    token = re.search(r"personal access token \(api\): (glpat-[A-Za-z0-9_-]{20,})", up.banner)
    assert token, up.banner
    assert re.search(r"subscription \S+  premium  online_cloud", up.banner), up.banner
    script = tmp_path / "qa.py"
    script.write_text(readme_script())
    env = clean_environment() | {
        "GITLAB_URL": f"http://127.0.0.1:{up.instance_port}",
        "GITLAB_TOKEN": token.group(1),
        "PROVLAB_VAR": str(up.var),
        "NO_PROXY": "127.0.0.1,localhost",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "QA script: tokens, activation and seats OK" in result.stdout
