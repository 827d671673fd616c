"""Which files to analyze, and the dotted module name of each.

Discovery walks the targets without following symlinks that lead outside them,
skips the usual tool and virtualenv folders plus the user's excludes, and later
names modules: by package structure (``__init__.py`` chains), and where that is
ambiguous (namespace packages, ``src/`` layouts, a target such as ``./app`` whose
code imports itself as ``app.x``) by choosing the import root under which most of
the project's own absolute imports resolve.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_arch_lint.findings import Diagnostic

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "virtualenv", "node_modules",
    "__pycache__", "build", "dist", ".tox", ".nox", "site-packages", ".eggs",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".fastapi_arch_lint_cache", ".hypothesis",
)

PY_SUFFIXES = (".py", ".pyi")


@dataclass(slots=True)
class SourceFile:
    path: Path  # absolute
    display: str  # relative to the working directory when below it, posix separators
    target: Path  # the target directory (or file's directory) it was found under


@dataclass(slots=True)
class Discovered:
    files: list[SourceFile] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def display_path(path: Path, cwd: Path | None = None) -> str:
    cwd = cwd or Path.cwd()
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        try:
            return Path(os.path.relpath(path, cwd)).as_posix() if path.is_absolute() else path.as_posix()
        except ValueError:  # different drives on Windows
            return path.as_posix()


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a gitignore-like glob to a regex matched against a relative posix path.

    The one glob syntax of ``exclude`` and ``per-file-ignores``: ``*`` and ``?`` stay within
    a folder, ``**`` spans folders (``**/`` also matches no folder at all). A pattern that
    starts with ``/`` or contains a ``/`` is anchored at the base folder, else it matches at
    any depth; a match on a folder also matches everything below it.
    """
    pattern = pattern.strip().replace(os.sep, "/")
    anchored = pattern.startswith("/")
    pattern = pattern.strip("/")
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    body = "".join(out)
    prefix = "^" if anchored or "/" in pattern else "^(?:.*/)?"
    return re.compile(prefix + body + "(?:/.*)?$")


class Excluder:
    """Matches relative posix paths against default and user exclude globs."""

    def __init__(self, patterns: Iterable[str] = (), use_defaults: bool = True) -> None:
        self.names = set(DEFAULT_EXCLUDES) if use_defaults else set()
        self.patterns = [glob_to_regex(p) for p in patterns if p.strip()]

    def excluded(self, rel: str, name: str) -> bool:
        if name in self.names:
            return True
        return any(p.match(rel) for p in self.patterns)


def discover(
    targets: Sequence[str | Path],
    excludes: Iterable[str] = (),
    *,
    base: Path | None = None,
    cwd: Path | None = None,
) -> Discovered:
    """Find the Python files under ``targets``.

    ``base`` is where exclude globs are anchored (the config file's folder); by
    default each target's own folder.
    """
    cwd = (cwd or Path.cwd()).resolve()
    excl = Excluder(excludes)
    result = Discovered()
    seen: set[Path] = set()
    for raw in targets:
        target = Path(raw)
        if not target.is_absolute():
            target = cwd / target
        if not os.path.lexists(target):
            result.diagnostics.append(Diagnostic(str(raw), "path does not exist"))
            continue
        target = Path(os.path.abspath(target))
        anchor = (base or (target if target.is_dir() else target.parent)).resolve()
        if target.is_file():
            if target.suffix in PY_SUFFIXES and target not in seen:
                seen.add(target)
                result.files.append(SourceFile(target, display_path(target, cwd), target.parent))
            continue
        if not target.is_dir():
            result.diagnostics.append(Diagnostic(display_path(target, cwd), "not a file or directory"))
            continue
        real_root = target.resolve()

        def onerror(err: OSError) -> None:
            result.diagnostics.append(
                Diagnostic(display_path(Path(err.filename or target), cwd), f"cannot read directory: {err.strerror}")
            )

        for dirpath, dirnames, filenames in os.walk(target, onerror=onerror, followlinks=False):
            here = Path(dirpath)
            rel_dir = _rel(here, anchor)
            kept = []
            for d in sorted(dirnames):
                full = here / d
                rel = f"{rel_dir}/{d}" if rel_dir else d
                if excl.excluded(rel, d) or (full / "pyvenv.cfg").exists():
                    continue
                if full.is_symlink():  # never walked (followlinks=False); say so when it leads out
                    try:
                        real = full.resolve(strict=True)
                    except (OSError, RuntimeError):
                        continue
                    if real != real_root and real_root not in real.parents:
                        result.diagnostics.append(Diagnostic(
                            display_path(full, cwd), "symlinked folder points outside the target: not followed"))
                    continue
                kept.append(d)
            dirnames[:] = kept
            for name in sorted(filenames):
                if not name.endswith(PY_SUFFIXES):
                    continue
                full = here / name
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if excl.excluded(rel, name):
                    continue
                try:
                    mode = os.lstat(full).st_mode
                except OSError as exc:
                    result.diagnostics.append(Diagnostic(display_path(full, cwd), f"cannot read file: {exc.strerror}"))
                    continue
                if not stat.S_ISREG(mode) and not stat.S_ISLNK(mode):
                    # a FIFO would block the read forever, a device never end
                    result.diagnostics.append(Diagnostic(
                        display_path(full, cwd), "not a regular file (a FIFO, socket or device): skipped"))
                    continue
                if stat.S_ISLNK(mode):
                    try:
                        real = full.resolve(strict=True)
                    except (OSError, RuntimeError):
                        result.diagnostics.append(Diagnostic(display_path(full, cwd), "broken or looping symlink: skipped"))
                        continue
                    if real_root not in real.parents:
                        result.diagnostics.append(
                            Diagnostic(display_path(full, cwd), "symlink points outside the target: not followed")
                        )
                        continue
                    # the real file lies inside the target and is found under its own name
                    continue
                if full in seen:
                    continue
                seen.add(full)
                result.files.append(SourceFile(full, display_path(full, cwd), target))
    result.files.sort(key=lambda f: f.display)
    return result


def _rel(path: Path, anchor: Path) -> str:
    try:
        rel = path.resolve().relative_to(anchor).as_posix()
    except (ValueError, OSError):
        return path.name
    return "" if rel == "." else rel


def is_excluded(path: Path, excludes: Iterable[str], base: Path) -> bool:
    """Whether an explicitly given file is excluded (ruff's ``--force-exclude``)."""
    excl = Excluder(excludes)
    rel = _rel(path, base)
    parts = rel.split("/")
    return any(excl.excluded("/".join(parts[: i + 1]), parts[i]) for i in range(len(parts)))


# ---------------------------------------------------------------------------
# module names


def package_root(path: Path) -> Path:
    """The first ancestor folder without ``__init__.py`` (the classic import root)."""
    parent = path.parent
    while (parent / "__init__.py").exists() or (parent / "__init__.pyi").exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    return parent


def module_name(path: Path, root: Path) -> str | None:
    try:
        rel = path.relative_to(root)
    except ValueError:
        return None
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def assign_module_names(
    files: Sequence[SourceFile], imported: Iterable[str]
) -> dict[Path, tuple[str, bool]]:
    """Name every file's module: ``{path: (dotted name, is_package)}``.

    ``imported`` are the absolute module names the project's own files import;
    they decide between candidate import roots when package structure alone does
    not (namespace packages, a target whose code imports it by its folder name).
    """
    imported_set = {m for m in imported if m}
    # A file's natural root and best root depend on its folder only (``package_root`` stats the
    # folder's ancestors), so they are computed once per folder; a project has many files per folder.
    roots: dict[Path, Path] = {}

    def natural_root(path: Path) -> Path:
        root = roots.get(path.parent)
        if root is None:
            root = roots[path.parent] = package_root(path)
        return root

    candidates: list[Path] = []
    targets: set[Path] = set()
    for f in files:
        options = [natural_root(f.path)]
        if f.target not in targets:  # the same three for every file of a target
            targets.add(f.target)
            options += (f.target, f.target.parent, f.target / "src")
        for c in options:
            if c not in candidates and c.is_dir():
                candidates.append(c)

    file_set = {f.path for f in files}
    dirs: set[Path] = set()
    for d in {p.parent for p in file_set}:
        dirs.add(d)
        dirs.update(d.parents)

    def score(root: Path) -> int:
        # Most imports are of other distributions (``fastapi.Depends``): a module below ``root``
        # needs ``root/<first part>`` to be a folder of ``dirs`` (which holds every ancestor of a
        # file) or ``root/<first part>.py`` a file, so that is tested once per first part.
        n = 0
        present: dict[str, bool] = {}
        for mod in imported_set:
            parts = mod.split(".")
            first = parts[0]
            if first.isidentifier():
                there = present.get(first)
                if there is None:
                    top = root / first
                    there = present[first] = top in dirs or top.with_suffix(".py") in file_set
                if not there:
                    continue
            base = root.joinpath(*parts)
            if base.with_suffix(".py") in file_set or (base / "__init__.py") in file_set or base in dirs:
                n += 1
        return n

    scores = {c: score(c) for c in candidates}
    best_roots: dict[Path, Path] = {}
    names: dict[Path, tuple[str, bool]] = {}
    for f in files:
        natural = natural_root(f.path)
        best = best_roots.get(f.path.parent)
        if best is None:
            best = natural
            best_score = scores.get(natural, 0)
            for c in candidates:
                if c == natural or c not in f.path.parents:
                    continue
                # a shallower root (namespace package) or a deeper one (src/) wins only on evidence
                if scores[c] > best_score:
                    best, best_score = c, scores[c]
            best_roots[f.path.parent] = best
        name = module_name(f.path, best) or module_name(f.path, natural) or f.path.stem
        names[f.path] = (name, f.path.name in ("__init__.py", "__init__.pyi"))
    return names
