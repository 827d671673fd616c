"""House style: what a codebase does consistently is said once, and its outliers are flagged.

Some rules judge a choice a team makes once for the whole API (snake_case path segments, 200 on
every create, PUT as a partial update). When the code makes that choice consistently, a finding on
every route repeats one decision hundreds of times and hides the routes that really stand out.
A rule that uses this helper therefore labels each instance it judges (a segment's case style, a
create's status code) and asks ``detect``: when one label holds at least ``THRESHOLD`` of at least
``MINIMUM`` instances, that label is the house style. The rule then reports the house style once,
at the project level (``project_finding``: info severity unless the style is itself a defect, such as
a schema that indexes none of its foreign keys; at the first place, with the count and
the other places as related locations, and a stable entity for baselines), and flags only the
instances that depart from it (the outliers, which are the inconsistency worth a warning).

Each such rule has a ``house_style`` option (default true); false judges every instance on its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Loc

THRESHOLD = 0.8  # share of the instances that must agree
MINIMUM = 5  # fewer instances than this never make a house style
MAX_RELATED = 50  # places listed on the project-level finding
OPTION = "house_style"


@dataclass(frozen=True, slots=True)
class House:
    style: str  # the label most instances share
    count: int  # instances with that label
    total: int  # instances judged

    @property
    def share(self) -> str:
        return f"{self.count} of {self.total}"


def app_label(app: AppModel, app_id: str) -> str:
    """A line-independent name of an app for entities: its module and name (``app.main.app``)."""
    for a in app.apps:
        if a.id == app_id:
            return f"{app_id.split(':', 1)[0]}.{a.name}"
    return app_id.split(":", 1)[0]


def enabled(options: Mapping[str, Any]) -> bool:
    return bool(options.get(OPTION, True))


def detect(labels: Iterable[str], threshold: float = THRESHOLD, minimum: int = MINIMUM) -> House | None:
    """The house style among ``labels`` (one per instance), or None when the code is not consistent."""
    counts = Counter(labels)
    total = sum(counts.values())
    if total < minimum:
        return None
    style, count = counts.most_common(1)[0]
    if count < threshold * total:
        return None
    return House(style, count, total)


def project_finding(rule: Any, house: House, places: list[tuple[Loc, str]], message: str, *, help: str,
                    entity: str, severity: Severity = Severity.INFO) -> Finding:
    """The one finding that states a house style: at the first place, the others as related locations.

    ``places`` are the instances in the house style, each with a short label; ``entity`` names the
    style (``snake``), so that a baseline keeps the finding while the count changes.
    """
    ordered = sorted(places, key=lambda p: (p[0].path, p[0].line, p[0].col))
    first = ordered[0][0]
    related = [Related(loc.path, loc.line, label) for loc, label in ordered[1:MAX_RELATED + 1]]
    more = len(ordered) - 1 - len(related)
    if more > 0:
        message += f" ({more} more places not listed)"
    return rule.finding(
        first.path, first.line, first.col, message, help=help, related=related,
        entity=f"house-style {rule.code} {entity}", severity=severity,
    )
