"""The apps call other parties only through their session factories, which count every call.

Time travel over HTTP asks the other parties for their next job again only after a run that
called out (``webcore.simulation``'s ``called_out``), so a call that slipped past the count would
leave the orchestrator trusting a stale answer and running a job late, silently. Hence: no module
of ``portal/``, ``instance/`` or ``webcore/`` but the sanctioned ones may import an HTTP client
(or a raw socket), those build a ``requests.Session`` only inside a factory, and each factory
counts the call it hands a session out for (``webcore.transport.note_call_out``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import Flask

from webcore.transport import calls_out

ROOT = Path(__file__).resolve().parents[1]
APPS = ("portal", "instance", "webcore")

# Modules that can reach another host, by their full dotted name.
SENDERS = {
    "aiohttp",
    "http.client",
    "httpx",
    "pycurl",
    "requests",
    "socket",
    "urllib.request",
    "urllib3",
    "websocket",
    "websockets",
    "xmlrpc.client",
}
# module -> the functions in it that may build a session (each counts its calls)
SANCTIONED = {
    "instance/portal_client.py": {"portal_session"},
    "portal/gitlab_com/client.py": {"gitlab_com_session"},
    "portal/gitlab_com/oauth_client.py": set(),  # sends through gitlab_com_session
    "webcore/transport.py": {"in_process_session"},  # handed to an app's factory by its wiring
}
# ``requests.<name>(...)``: a session, or a request sent through a session of its own.
SENDING_CALLS = {"Session", "session", "request", "get", "options", "head", "post", "put"}
SENDING_CALLS |= {"patch", "delete"}
COUNTING_FACTORIES = {
    "instance/portal_client.py": "portal_session",
    "portal/gitlab_com/client.py": "gitlab_com_session",
}


def imported_modules(tree: ast.AST) -> dict[str, int]:
    """Every module ``tree`` imports, by full dotted name (``from a import b`` counts ``a`` and
    ``a.b``: ``b`` may be a module), with the line of its first import."""
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            found.setdefault(name, node.lineno)
    return found


def sends(module: str) -> bool:
    return any(module == sender or module.startswith(sender + ".") for sender in SENDERS)


def builders_of_sessions(tree: ast.AST) -> dict[int, str | None]:
    """Each line building a ``requests.Session`` (or calling ``requests.get`` and the like),
    with the function it is in (``None``: the module's top level)."""
    found: dict[int, str | None] = {}

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and isinstance(child.func.value, ast.Name)
                and child.func.value.id == "requests"
                and child.func.attr in SENDING_CALLS
            ):
                found[child.lineno] = function
            visit(child, inner)

    visit(tree, None)
    return found


def test_the_checker_sees_every_way_to_send() -> None:
    source = (
        "import socket\nfrom http import client\nfrom urllib import parse\n"
        "def f():\n    import requests\n    requests.post('x')\n    return requests.Session()\n"
    )
    tree = ast.parse(source)
    assert sorted(m for m in imported_modules(tree) if sends(m)) == [
        "http.client",
        "requests",
        "socket",
    ]
    assert builders_of_sessions(tree) == {6: "f", 7: "f"}


@pytest.mark.parametrize("package", APPS)
def test_only_the_sanctioned_modules_can_send_http(package: str) -> None:
    senders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        imported = imported_modules(ast.parse(path.read_text(encoding="utf-8"), name))
        senders += [
            f"{name}:{line} imports {module}"
            for module, line in imported.items()
            if sends(module) and name not in SANCTIONED
        ]
    assert senders == []


@pytest.mark.parametrize("name", sorted(SANCTIONED))
def test_sessions_are_built_only_by_the_factories(name: str) -> None:
    tree = ast.parse((ROOT / name).read_text(encoding="utf-8"), name)
    outside = [
        f"{name}:{line} in {function or 'the module'}"
        for line, function in builders_of_sessions(tree).items()
        if function not in SANCTIONED[name]
    ]
    assert outside == []


@pytest.mark.parametrize("name", sorted(COUNTING_FACTORIES))
def test_each_factory_counts_before_anything_else(name: str) -> None:
    tree = ast.parse((ROOT / name).read_text(encoding="utf-8"), name)
    factory = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == COUNTING_FACTORIES[name]
    )
    body = [node for node in factory.body if not _is_docstring(node)]
    first = body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Call)
    assert isinstance(first.value.func, ast.Name) and first.value.func.id == "note_call_out"


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def test_a_call_to_the_portal_is_counted_even_when_it_cannot_be_made(instance_app: Flask) -> None:
    from instance.portal_client import SESSION_HOOK, PortalError, portal_session

    instance_app.extensions.pop(SESSION_HOOK, None)
    instance_app.config["PORTAL_TRANSPORT"] = "inprocess"  # and no session given: unwired
    before = calls_out(instance_app)
    with pytest.raises(PortalError):
        portal_session(instance_app)
    assert calls_out(instance_app) == before + 1


def test_a_call_to_gitlab_com_is_counted(portal_app: Flask) -> None:
    from portal.gitlab_com.client import SESSION_HOOK, gitlab_com_session
    from webcore.transport import in_process_session

    portal_app.extensions[SESSION_HOOK] = in_process_session(Flask("gitlab_com"), "http://x")
    before = calls_out(portal_app)
    gitlab_com_session(portal_app)
    gitlab_com_session(portal_app)
    assert calls_out(portal_app) == before + 2
