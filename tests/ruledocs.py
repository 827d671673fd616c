"""Read a rule page's examples into runnable cases (the pages are the rules' tests).

A section's ```python blocks form one project; a line `` `path/to/file.py`: ``
right before a block names its file (else ``example.py``, ``example_2.py`` ...).
Lines carry expectations as comments: ``# expect: FAL101``, ``# todo-expect: FAL101``
(a known miss: must stay unflagged until fixed) and ``# todo-ok: FAL101`` (a known
false alarm: must stay flagged until fixed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

LABEL_RE = re.compile(r"^`([^`]+\.pyi?)`:\s*$")
MARK_RE = re.compile(r"#\s*(expect|todo-expect|todo-ok):\s*([A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)")


# "Misreadings" (optional): code that looks like the problem but is not, which must stay quiet,
# each beside its true twin, which must fire (`# expect:`).
CASE_SECTIONS = ("Example", "Use instead", "Misreadings")


@dataclass
class Case:
    section: str
    files: dict[str, str] = field(default_factory=dict)
    expect: set[tuple[str, int, str]] = field(default_factory=set)
    todo_expect: set[tuple[str, int, str]] = field(default_factory=set)
    todo_ok: set[tuple[str, int, str]] = field(default_factory=set)


def sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return out


def case_of(section: str, lines: list[str]) -> Case:
    case = Case(section)
    label = None
    i = 0
    n_unlabelled = 0
    while i < len(lines):
        line = lines[i]
        m = LABEL_RE.match(line.strip())
        if m:
            label = m.group(1)
            i += 1
            continue
        if line.strip().startswith("```python"):
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                body.append(lines[i])
                i += 1
            if label is None:
                n_unlabelled += 1
                label = "example.py" if n_unlabelled == 1 else f"example_{n_unlabelled}.py"
            code = "\n".join(body) + "\n"
            case.files[label] = case.files.get(label, "") + code
            for number, src_line in enumerate(code.splitlines(), start=1):
                for mm in MARK_RE.finditer(src_line):
                    kind = mm.group(1)
                    for c in re.split(r"\s*,\s*", mm.group(2)):
                        target = {"expect": case.expect, "todo-expect": case.todo_expect, "todo-ok": case.todo_ok}[kind]
                        target.add((label, number, c))
            label = None
        elif line.strip():
            label = None if not line.strip().startswith("```") else label
        i += 1
    return case


def page_cases(path: Path) -> list[Case]:
    secs = sections(path.read_text(encoding="utf-8"))
    return [case_of(name, secs[name]) for name in CASE_SECTIONS if name in secs]


@dataclass
class FixCase:
    """A page's ``## Fix`` section: whether it says the fix is safe (its text starts ``Safe:`` or
    ``Unsafe:``), the project before (``### Before``) and the project after (``### After``)."""

    safe: bool
    before: dict[str, str]
    after: dict[str, str]


def fix_case(path: Path) -> FixCase | None:
    lines = sections(path.read_text(encoding="utf-8")).get("Fix")
    if lines is None:
        return None
    text = "\n".join(lines)
    head, _, rest = text.partition("\n### Before\n")
    before, _, after = rest.partition("\n### After\n")
    words = head.strip().split()
    assert words and words[0] in ("Safe:", "Unsafe:"), f"{path.name}: the Fix section must start `Safe:` or `Unsafe:`"
    return FixCase(words[0] == "Safe:", case_of("Fix", before.splitlines()).files, case_of("Fix", after.splitlines()).files)
