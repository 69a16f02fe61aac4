"""JUnit XML for CI: one test suite per transport, one test case per scenario file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from provlab.scenario.runner import ScenarioResult


def write_junit(results: list[ScenarioResult], path: Path) -> None:
    root = ET.Element("testsuites", name="provlab scenarios")
    by_transport: dict[str, list[ScenarioResult]] = defaultdict(list)
    for result in results:
        by_transport[result.transport].append(result)
    for transport, group in by_transport.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"scenarios[{transport}]",
            tests=str(len(group)),
            failures=str(sum(1 for r in group if r.kind == "failed")),
            errors=str(sum(1 for r in group if r.kind == "error")),
            time=f"{sum(r.seconds for r in group):.3f}",
        )
        for result in group:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"scenarios.{transport}",
                name=f"{result.path}: {result.name}",
                time=f"{result.seconds:.3f}",
            )
            if result.rules:
                properties = ET.SubElement(case, "properties")
                ET.SubElement(properties, "property", name="rules", value=" ".join(result.rules))
            if not result.passed:
                tag = "failure" if result.kind == "failed" else "error"
                element = ET.SubElement(case, tag, message=(result.failure or "")[:500])
                element.text = result.report()
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
