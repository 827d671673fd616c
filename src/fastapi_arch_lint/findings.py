"""Findings and diagnostics: what the tool reports. Standard library only."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Confidence(str, enum.Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return {"high": 3, "medium": 2, "low": 1}[self.value]


@dataclass(frozen=True, slots=True)
class Related:
    """Another place that explains a finding (the include that set a prefix, ...)."""

    path: str
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    name: str
    severity: Severity
    confidence: Confidence
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    help: str = ""
    cwe: tuple[str, ...] = ()
    owasp: tuple[str, ...] = ()
    related: tuple[Related, ...] = ()
    # a line-independent identity of what was flagged (route, model field, call...),
    # used by baselines and fingerprints
    entity: str = ""

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem with the input itself (a file that does not parse, a bad path...), or, with
    ``kind`` ``"unresolved"``, the one line about what the model could not resolve statically
    (``model.unresolved``): ``count`` items, ``routes`` routes they may misplace or leave without
    their auth, ``locations`` where each item is. It is not a finding and never changes the exit code."""

    path: str
    message: str
    kind: str = "error"
    count: int = 0
    routes: int = 0
    locations: tuple[Related, ...] = ()

    @property
    def is_note(self) -> bool:
        """About the model (``kind == "unresolved"``), not a file that could not be analyzed."""
        return self.kind == "unresolved"


def split_diagnostics(diagnostics: Sequence[Diagnostic]) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """``(files not analyzed or internal errors, notes about the model)``."""
    problems = [d for d in diagnostics if not d.is_note]
    notes = [d for d in diagnostics if d.is_note]
    return problems, notes


@dataclass(slots=True)
class Summary:
    counts: dict[str, int] = field(default_factory=dict)
