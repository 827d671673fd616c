"""``review --format junit``: JUnit XML (GitLab ``artifacts:reports:junit``, Jenkins, Azure DevOps).

``<testsuites>`` → one ``<testsuite>`` per file → one failing ``<testcase>`` per finding.
Files that could not be analyzed are ``<testcase>``s with an ``<error>``; the line about what the
model could not resolve is not a test case (``review`` prints it on standard error). A clean run is a
single passing test case, so CI does not report "0 tests".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from fastapi_arch_lint.findings import Diagnostic, Finding, split_diagnostics


def _classname(path: str) -> str:
    stem = path[:-3] if path.endswith(".py") else path[:-4] if path.endswith(".pyi") else path
    return stem.replace("/", ".")


def document(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic], *, files: int = 0) -> ET.Element:
    root = ET.Element("testsuites", name="fastapi-arch-lint")
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.path, []).append(f)
    diags_by_file: dict[str, list[Diagnostic]] = {}
    # the line about what the model could not resolve is no test case: ``review`` prints it on stderr
    for d in split_diagnostics(diagnostics)[0]:
        diags_by_file.setdefault(d.path, []).append(d)
    total = failures = errors = 0
    for path in sorted(set(by_file) | set(diags_by_file)):
        fs, ds = by_file.get(path, []), diags_by_file.get(path, [])
        suite = ET.SubElement(root, "testsuite", name=path, tests=str(len(fs) + len(ds)),
                              failures=str(len(fs)), errors=str(len(ds)), skipped="0")
        for f in fs:
            case = ET.SubElement(suite, "testcase", name=f"{f.rule} {f.name} (line {f.line})",
                                 classname=_classname(path), file=path, line=str(f.line))
            failure = ET.SubElement(case, "failure", message=f.message, type=f.severity.value)
            text = f"{path}:{f.line}:{f.column}: {f.rule} {f.message}"
            if f.help:
                text += f"\nhelp: {f.help}"
            for r in f.related:
                text += f"\nnote: {r.path}:{r.line}: {r.message}"
            failure.text = text
        for d in ds:
            case = ET.SubElement(suite, "testcase", name="not analyzed", classname=_classname(path), file=path)
            err = ET.SubElement(case, "error", message=d.message, type="not-analyzed")
            err.text = f"{path}: {d.message}"
        total += len(fs) + len(ds)
        failures += len(fs)
        errors += len(ds)
    if total == 0:
        suite = ET.SubElement(root, "testsuite", name="fastapi-arch-lint", tests="1", failures="0", errors="0",
                              skipped="0")
        ET.SubElement(suite, "testcase", name="No findings", classname="fastapi-arch-lint")
        total = 1
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    return root


def render(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic], *, files: int = 0) -> str:
    root = document(findings, diagnostics, files=files)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
