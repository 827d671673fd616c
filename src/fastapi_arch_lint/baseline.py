"""Baselines: ``review --write-baseline FILE`` records today's findings, ``review --baseline FILE``
reports only the findings that are not in it.

Identity never includes a line number: a finding is keyed by its rule, its repository-relative
path and its *entity* (the route, model field, call... it is about; the message when the rule
sets none), hashed into the same line-independent fingerprint SARIF and GitLab use
(``report._common.fingerprint_base``). So findings survive code moving inside a file.

When several findings share a key (two blocking calls in one handler), matching is count-based,
as in bandit: a baseline with n entries for a key absorbs up to n current findings. Unlike
bandit, which then shows *every* candidate, the surplus alone is reported: entries whose message
is unchanged are matched first, then any other finding with the key, in file order; what is
left is new.

File format (JSON, sorted, stable)::

    {"version": 1, "tool": "fastapi-arch-lint",
     "findings": [{"rule": "FAL601", "path": "app/routers/items.py", "entity": "GET /items/",
                   "fingerprint": "<sha256>", "message": "..."}, ...]}
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fastapi_arch_lint.findings import Finding
from fastapi_arch_lint.report._common import fingerprint_base, repo_relative

VERSION = 1
TOOL = "fastapi-arch-lint"


class BaselineError(Exception):
    """A missing or unreadable baseline; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Entry:
    rule: str
    path: str
    entity: str
    fingerprint: str
    message: str


def entry_for(f: Finding) -> Entry:
    rel = repo_relative(f.path)
    return Entry(f.rule, rel, f.entity, fingerprint_base(f, rel), f.message)


def document(findings: Sequence[Finding]) -> dict[str, object]:
    entries = sorted((entry_for(f) for f in findings),
                     key=lambda e: (e.path, e.rule, e.entity, e.message, e.fingerprint))
    return {
        "version": VERSION,
        "tool": TOOL,
        "findings": [{"rule": e.rule, "path": e.path, "entity": e.entity, "fingerprint": e.fingerprint,
                      "message": e.message} for e in entries],
    }


def write(path: Path, findings: Sequence[Finding]) -> int:
    """Write the baseline of ``findings`` to ``path``; the number of entries."""
    doc = document(findings)
    try:
        if path.parent and not path.parent.exists():
            raise BaselineError(f"cannot write baseline {path}: folder {path.parent} does not exist")
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {path}: {exc.strerror or exc}") from None
    return len(doc["findings"])  # type: ignore[arg-type]


def load(path: Path) -> list[Entry]:
    """The entries of the baseline at ``path``; ``BaselineError`` when it is missing or broken."""
    if not path.exists():
        raise BaselineError(f"baseline not found: {path} (create it with --write-baseline {path})")
    if path.is_dir():
        raise BaselineError(f"baseline {path} is a folder, not a file")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BaselineError(f"baseline {path} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise BaselineError(f"baseline {path} is not a fastapi-arch-lint baseline (no \"findings\" list)")
    if doc.get("version") != VERSION:
        raise BaselineError(f"baseline {path} has version {doc.get('version')!r}; this version of "
                            f"fastapi-arch-lint reads version {VERSION}")
    entries: list[Entry] = []
    for i, item in enumerate(doc["findings"]):
        if not isinstance(item, dict):
            raise BaselineError(f"baseline {path}: finding #{i + 1} is not an object")
        fields = {k: item.get(k, "") for k in ("rule", "path", "entity", "fingerprint", "message")}
        bad = [k for k, v in fields.items() if not isinstance(v, str)]
        if bad:
            raise BaselineError(f"baseline {path}: finding #{i + 1}: `{bad[0]}` must be a string")
        if not fields["fingerprint"]:
            if not (fields["rule"] and fields["path"]):
                raise BaselineError(f"baseline {path}: finding #{i + 1} has neither a fingerprint "
                                    f"nor a rule and path")
            fields["fingerprint"] = _recompute(fields)
        entries.append(Entry(**fields))
    return entries


def _recompute(fields: dict[str, str]) -> str:
    """The fingerprint of a hand-written entry (rule, path, entity or message)."""
    import hashlib

    what = fields["entity"] or fields["message"]
    return hashlib.sha256(f"{fields['rule']}\0{fields['path']}\0{what}".encode()).hexdigest()


def new_findings(findings: Sequence[Finding], entries: Sequence[Entry]) -> list[Finding]:
    """The findings the baseline does not account for, in their original order."""
    budget = Counter(e.fingerprint for e in entries)
    exact = Counter((e.fingerprint, e.message) for e in entries)
    keys = [entry_for(f) for f in findings]
    matched = [False] * len(findings)
    # 1. same key and same message
    for i, e in enumerate(keys):
        if exact[(e.fingerprint, e.message)] > 0 and budget[e.fingerprint] > 0:
            exact[(e.fingerprint, e.message)] -= 1
            budget[e.fingerprint] -= 1
            matched[i] = True
    # 2. same key, message changed (a count or a detail in it moved): what is left of the budget
    for i, e in enumerate(keys):
        if not matched[i] and budget[e.fingerprint] > 0:
            budget[e.fingerprint] -= 1
            matched[i] = True
    return [f for f, m in zip(findings, matched) if not m]
