"""``[tool.fastapi-arch-lint]`` in pyproject.toml: finding, reading and validating it.

Command-line flags win over the file. Every problem (broken TOML, unknown key,
wrong type, unknown rule code) is a ``ConfigError`` with one clear message; the
CLI turns it into exit code 2.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from fastapi_arch_lint.findings import Confidence, Severity

SECTION = "fastapi-arch-lint"


class ConfigError(Exception):
    """A configuration or usage problem; the message is shown as is."""


@dataclass(slots=True)
class Config:
    path: Path | None = None  # the pyproject.toml it came from
    root: Path = field(default_factory=Path.cwd)  # where globs are anchored
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    extend_exclude: list[str] = field(default_factory=list)
    fail_on: Severity = Severity.WARNING
    min_confidence: Confidence = Confidence.LOW  # findings below it are not reported
    max_file_bytes: int = 1_000_000
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    narrative: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def all_excludes(self) -> list[str]:
        return [*self.exclude, *self.extend_exclude]

    @property
    def jobs(self) -> int | None:
        """``jobs``: worker processes for parsing (None: the CPU count; 1: in this process)."""
        return self.extra.get("jobs")

    @property
    def file_timeout(self) -> float | None:
        """``file-timeout``: seconds one file may take to parse before it is skipped (None: the default)."""
        return self.extra.get("file-timeout")

    @property
    def cache_dir(self) -> Path | None:
        """``cache-dir``: where the facts cache lives, relative to this file (None: the default)."""
        return self.extra.get("cache-dir")

    @property
    def auth_names(self) -> dict[str, list[str]]:
        """``auth-decorators``/``auth-dependencies``: qualified names (globs) the linker counts as auth."""
        return {"decorators": list(self.extra.get("auth-decorators", [])),
                "dependencies": list(self.extra.get("auth-dependencies", []))}


_LIST_KEYS = {"select", "ignore", "extend-select", "exclude", "extend-exclude"}
_KNOWN = _LIST_KEYS | {
    "per-file-ignores", "fail-on", "min-confidence", "max-file-bytes", "rules", "narrative",
    "auth-decorators", "auth-dependencies", "public-routes", "cache-dir", "jobs",
    "file-timeout",
}


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a ``[tool.fastapi-arch-lint]`` table, walking up."""
    start = start.resolve()
    here = start if start.is_dir() else start.parent
    for d in (here, *here.parents):
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                return candidate  # report the broken file when it is loaded
            if SECTION in data.get("tool", {}):
                return candidate
    return None


def load_config(path: Path | None = None, *, start: Path | None = None) -> Config:
    """Load the config from ``path`` or the nearest pyproject.toml above ``start``."""
    if path is None:
        path = find_pyproject(start or Path.cwd())
        if path is None:
            return Config(root=(start or Path.cwd()).resolve() if (start or Path.cwd()).is_dir() else (start or Path.cwd()).resolve().parent)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get(SECTION, {}) if path.name == "pyproject.toml" else data.get("tool", {}).get(SECTION, data)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{SECTION}] must be a table")
    return parse_table(table, path)


def _str_list(value: Any, key: str, path: Path | None) -> list[str]:
    if isinstance(value, str):
        raise ConfigError(f"{path}: `{key}` must be a list of strings, e.g. {key} = [\"{value}\"]")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: `{key}` must be a list of strings")
    return list(value)


_QUALNAME_GLOB = re.compile(r"[A-Za-z_*?\[][\w.*?\[\]!-]*")


def _qualname_list(value: Any, key: str, path: Path | None) -> list[str]:
    """A list of qualified names or globs: ``["app.auth.login_required", "app.deps.*"]``."""
    names = _str_list(value, key, path)
    for n in names:
        if not _QUALNAME_GLOB.fullmatch(n):
            raise ConfigError(f"{path}: `{key}` entries must be qualified names or globs such as "
                              f"\"app.auth.login_required\", got {n!r}")
    return names


def parse_table(table: Mapping[str, Any], path: Path | None) -> Config:
    cfg = Config(path=path, root=path.parent.resolve() if path else Path.cwd())
    for key, value in table.items():
        if key not in _KNOWN:
            raise ConfigError(f"{path}: unknown key `{key}` in [tool.{SECTION}] (known: {', '.join(sorted(_KNOWN))})")
        if key in _LIST_KEYS:
            setattr(cfg, key.replace("-", "_"), _str_list(value, key, path))
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: `per-file-ignores` must be a table of glob = [codes]")
            cfg.per_file_ignores = {str(k): _str_list(v, f"per-file-ignores.{k}", path) for k, v in value.items()}
        elif key == "fail-on":
            cfg.fail_on = parse_severity(value, f"{path}: `fail-on`")
        elif key == "min-confidence":
            cfg.min_confidence = parse_confidence(value, f"{path}: `min-confidence`")
        elif key == "max-file-bytes":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{path}: `max-file-bytes` must be a non-negative integer")
            cfg.max_file_bytes = value
        elif key == "rules":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise ConfigError(f"{path}: `rules` must hold one table per rule, e.g. [tool.{SECTION}.rules.FAL102]")
            cfg.rule_options = {str(k): dict(v) for k, v in value.items()}
        elif key == "jobs":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{path}: `jobs` must be a positive integer (1 analyzes in one process)")
            cfg.extra[key] = value
        elif key == "file-timeout":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < float("inf"):
                raise ConfigError(f"{path}: `file-timeout` must be a positive number of seconds, e.g. file-timeout = 30")
            cfg.extra[key] = float(value)
        elif key == "cache-dir":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{path}: `cache-dir` must be a folder path, e.g. cache-dir = \".fastapi_arch_lint_cache\"")
            cfg.extra[key] = cfg.root / Path(value).expanduser()
        elif key in ("auth-decorators", "auth-dependencies"):
            cfg.extra[key] = _qualname_list(value, key, path)
        elif key == "narrative":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: `narrative` must be a table")
            cfg.narrative = dict(value)
        else:
            cfg.extra[key] = value
    validate_codes(cfg)
    return cfg


def parse_severity(value: Any, where: str) -> Severity:
    if not isinstance(value, str) or value.lower() not in ("error", "warning", "info"):
        raise ConfigError(f"{where} must be one of error, warning, info (got {value!r})")
    return Severity(value.lower())


def parse_confidence(value: Any, where: str) -> Confidence:
    if not isinstance(value, str) or value.lower() not in ("high", "medium", "low"):
        raise ConfigError(f"{where} must be one of high, medium, low (got {value!r})")
    return Confidence(value.lower())


def validate_selectors(selectors: Sequence[str], where: str) -> None:
    from fastapi_arch_lint.rule import is_valid_selector

    for s in selectors:
        if not is_valid_selector(s):
            raise ConfigError(f"{where}: unknown rule code or prefix `{s}` (see `fastapi-arch-lint rules`)")


def validate_codes(cfg: Config) -> None:
    from fastapi_arch_lint.rule import by_name_or_code

    where = str(cfg.path) if cfg.path else "configuration"
    validate_selectors(cfg.select or [], f"{where}: select")
    validate_selectors(cfg.ignore, f"{where}: ignore")
    validate_selectors(cfg.extend_select, f"{where}: extend-select")
    for glob, codes in cfg.per_file_ignores.items():
        validate_selectors(codes, f"{where}: per-file-ignores.{glob}")
    normalized: dict[str, dict[str, Any]] = {}
    for key, opts in cfg.rule_options.items():
        rule = by_name_or_code(key)
        if rule is None:
            raise ConfigError(f"{where}: options for unknown rule `{key}`")
        for opt, val in opts.items():
            if opt not in rule.default_options:
                known = ", ".join(sorted(rule.default_options)) or "none"
                raise ConfigError(f"{where}: rule {rule.code} ({rule.name}) has no option `{opt}` (options: {known})")
            default = rule.default_options[opt]
            if not _same_type(default, val):
                raise ConfigError(f"{where}: option `{opt}` of {rule.code} must be {_type_name(default)}, got {val!r}")
        normalized[rule.code] = dict(opts)
    cfg.rule_options = normalized


def _same_type(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if isinstance(default, str):
        return isinstance(value, str)
    return True


def _type_name(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, (list, tuple)):
        return "a list of strings"
    if isinstance(default, str):
        return "a string"
    return type(default).__name__
