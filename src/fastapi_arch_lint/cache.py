"""The per-file facts cache: ``.fastapi_arch_lint_cache/<version>/<key[:2]>/<key[2:]>``.

A file's facts depend only on its bytes (module names and relative imports are resolved
later, by the engine and the linker), so an entry is keyed by the sha256 of the content
plus everything else that could change the extraction: the tool version, ``CACHE_SALT``,
a fingerprint of the extractor's own source, the LibCST and Python versions and the
``max-file-bytes`` setting. Mtimes are not used (CI checkouts reset them). The same
content at another path is a hit; the entry stores no path.

Layout as ruff's: ``CACHEDIR.TAG`` and a ``.gitignore`` of ``*`` at the top, one folder per
tool version. Every entry is written to a temporary file and renamed over the final name,
so concurrent runs never see half an entry; an entry that cannot be read back (truncated,
garbage, another format) is a miss and is rewritten. Entries are pickles read with an
unpickler that only builds the model's own fact classes, so a planted entry cannot run
code. The facts hold no source text beyond the literal values the rules need (string
constants, names); docstrings and comments are not collected. Nothing here ever fails a
run: a cache that cannot be written is switched off and ``problem`` says why.
"""

from __future__ import annotations

import copyreg
import dataclasses
import enum
import hashlib
import io
import json
import operator
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from fastapi_arch_lint import __version__
from fastapi_arch_lint import findings as _findings
from fastapi_arch_lint.findings import Diagnostic, Finding
from fastapi_arch_lint.model import expr as _expr
from fastapi_arch_lint.model import facts as _facts

CACHE_DIR_NAME = ".fastapi_arch_lint_cache"
ENV_CACHE_DIR = "FASTAPI_ARCH_LINT_CACHE_DIR"
ENV_NO_CACHE = "FASTAPI_ARCH_LINT_NO_CACHE"
_MAGIC = "fastapi-arch-lint facts"
_FORMAT = 1
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by fastapi-arch-lint.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/\n"
)
# the sources whose change changes what a file's facts are
_FINGERPRINTED = ("extract/source.py", "extract/parse.py", "extract/collect.py", "extract/convert.py",
                  "extract/positions.py", "extract/walk.py", "model/facts.py", "model/expr.py")


def _model_classes() -> dict[tuple[str, str], type]:
    out: dict[tuple[str, str], type] = {}
    for mod in (_facts, _expr):
        for name, value in vars(mod).items():
            if isinstance(value, type) and value.__module__ == mod.__name__ and (
                    dataclasses.is_dataclass(value) or issubclass(value, enum.Enum)):
                out[(mod.__name__, name)] = value
    return out


_CLASSES = _model_classes()
_RESULT_CLASSES = {(_findings.__name__, c.__name__): c
                   for c in (_findings.Finding, _findings.Related, _findings.Diagnostic,
                             _findings.Severity, _findings.Confidence)}
_ALLOWED: dict[tuple[str, str], Any] = {
    **_CLASSES,
    **_RESULT_CLASSES,
    ("builtins", "Ellipsis"): Ellipsis,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "set"): set,
    ("builtins", "complex"): complex,
}


def _reducer(cls: type):  # type: ignore[no-untyped-def]
    names = [f.name for f in dataclasses.fields(cls)]
    get = operator.attrgetter(*names)  # one C call for all fields: 40% less pickling time
    if len(names) == 1:
        return lambda obj: (cls, (get(obj),))
    return lambda obj: (cls, get(obj))


# a frozen dataclass pickles as ``cls(*fields)``: smaller and about twice as fast to load
# as the default (which calls ``dataclasses.fields`` in ``__setstate__`` for every object)
_DISPATCH = dict(copyreg.dispatch_table)
_DISPATCH.update({cls: _reducer(cls) for cls in (*_CLASSES.values(), *_RESULT_CLASSES.values())
                  if dataclasses.is_dataclass(cls) and all(f.init for f in dataclasses.fields(cls))})


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cache entry") from None


def dumps(obj: object) -> bytes:
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=5)
    p.dispatch_table = _DISPATCH
    p.dump(obj)
    return buf.getvalue()


def loads(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


def code_fingerprint() -> str:
    """A hash of the extractor's source, so an edited extractor never reads stale facts."""
    from fastapi_arch_lint.extract.source import CACHE_SALT

    h = hashlib.sha256(CACHE_SALT.encode())
    pkg = Path(__file__).resolve().parent
    for rel in _FINGERPRINTED:
        try:
            h.update(rel.encode() + b"\0" + (pkg / rel).read_bytes())
        except OSError:  # pragma: no cover - a zipped install: the version and salt must do
            h.update(rel.encode() + b"\0?")
    return h.hexdigest()


_PACKAGE_FINGERPRINT: list[str] = []


def package_fingerprint() -> str:
    """A hash of all of the tool's own Python source (linker, rules, suppression...): a stored
    review result is only reused by the very code that made it."""
    if not _PACKAGE_FINGERPRINT:
        h = hashlib.sha256(__version__.encode())
        pkg = Path(__file__).resolve().parent
        for path in sorted(pkg.rglob("*.py")):
            try:
                h.update(path.relative_to(pkg).as_posix().encode() + b"\0" + path.read_bytes())
            except OSError:  # pragma: no cover - unreadable: the version must do
                h.update(path.name.encode() + b"\0?")
        _PACKAGE_FINGERPRINT.append(h.hexdigest())
    return _PACKAGE_FINGERPRINT[0]


def _libcst_version() -> str:
    try:
        from importlib.metadata import version

        return version("libcst")
    except Exception:  # pragma: no cover
        return "?"


def default_cache_dir(root: Path) -> Path:
    return root / CACHE_DIR_NAME


class FactCache:
    """Per-file facts (or the diagnostic of a file that cannot be analyzed) by content hash."""

    def __init__(self, directory: Path | str, *, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.bucket = self.directory / __version__
        settings = {
            "tool": __version__,
            "code": code_fingerprint(),
            "libcst": _libcst_version(),
            "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
            "max_file_bytes": max_bytes,
            "format": _FORMAT,
        }
        self.salt = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).digest()
        self.hits = 0
        self.misses = 0
        self.writes = 0
        self.problem: str | None = None
        self._ready = False
        self._folders: set[Path] = set()  # entry folders known to exist

    # -- keys ------------------------------------------------------------------
    def key(self, content_digest: str) -> str:
        return hashlib.sha256(self.salt + content_digest.encode("ascii")).hexdigest()

    def entry_path(self, key: str) -> Path:
        return self.bucket / key[:2] / key[2:]

    # -- reading -----------------------------------------------------------------
    def load(self, key: str, display: str) -> tuple[_facts.ModuleFacts | None, Diagnostic | None] | None:
        """The cached ``(facts, diagnostic)`` of content ``key`` shown as ``display``, or None."""
        try:
            data = self.entry_path(key).read_bytes()
        except OSError:
            self.misses += 1
            return None
        result = decode_entry(data, key, display)
        if result is None:  # corrupt, truncated or foreign: a miss, rewritten after extraction
            self.misses += 1
            return None
        self.hits += 1
        return result

    # -- writing -----------------------------------------------------------------
    def _prepare(self) -> bool:
        if self._ready:
            return True
        if self.problem is not None:
            return False
        try:
            if self.directory.is_symlink():
                raise OSError(f"{self.directory} is a symbolic link")
            self.directory.mkdir(parents=True, exist_ok=True)
            for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", "# Automatically created by fastapi-arch-lint.\n*\n")):
                target = self.directory / name
                if not target.exists():
                    self._write_atomic(target, text.encode())
            self.bucket.mkdir(exist_ok=True)
        except OSError as exc:
            self.problem = f"cannot use the cache folder {self.directory}: {exc.strerror or exc}"
            return False
        self._ready = True
        return True

    _serial = 0

    @classmethod
    def _write_atomic(cls, target: Path, data: bytes) -> None:
        # a name no other process or thread uses (pid, a counter, random bytes), created
        # exclusively: cheaper than ``tempfile.mkstemp``, which costs ~0.2 ms a file
        cls._serial += 1
        tmp = f"{target.parent}/.tmp-{os.getpid()}-{cls._serial}-{os.urandom(4).hex()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def write(self, key: str, entry: bytes) -> None:
        """Store an entry made by ``encode_entry`` under ``key``."""
        if not self._prepare():
            return
        target = self.entry_path(key)
        try:
            if target.parent not in self._folders:
                target.parent.mkdir(exist_ok=True)
                self._folders.add(target.parent)
            try:
                self._write_atomic(target, entry)
            except FileNotFoundError:  # the folder was removed meanwhile (another run cleaning up)
                self._folders.discard(target.parent)
                target.parent.mkdir(parents=True, exist_ok=True)
                self._write_atomic(target, entry)
        except OSError as exc:
            self.problem = f"cannot write to the cache folder {self.directory}: {exc.strerror or exc}"
            return
        self.writes += 1


    # -- whole review results -------------------------------------------------------
    # One stored result per project and settings ("slot"), overwritten by the next run there, so
    # they do not pile up; it is reused only when the run key (every file's path and bytes, the
    # settings, the tool's code) matches exactly.
    def result_slot(self, settings: str) -> str:
        return hashlib.sha256(self.salt + b"slot\0" + settings.encode()).hexdigest()

    def result_key(self, inputs: str) -> str:
        return hashlib.sha256(self.salt + package_fingerprint().encode() + b"\0" + inputs.encode()).hexdigest()

    def result_path(self, slot: str) -> Path:
        return self.bucket / "results" / slot

    def load_result(self, slot: str, key: str) -> tuple[list[Finding], list[Diagnostic]] | None:
        try:
            data = self.result_path(slot).read_bytes()
        except OSError:
            return None
        try:
            magic, fmt, stored_key, kind, payload = loads(data)
            if magic != _MAGIC or fmt != _FORMAT or stored_key != key or kind != "result":
                return None
            findings, diagnostics = payload
            if (isinstance(findings, list) and all(type(f) is Finding for f in findings)
                    and isinstance(diagnostics, list) and all(type(d) is Diagnostic for d in diagnostics)):
                return findings, diagnostics
        except Exception:  # corrupt, truncated or foreign: a miss, rewritten by this run
            return None
        return None

    def write_result(self, slot: str, key: str, findings: list[Finding], diagnostics: list[Diagnostic]) -> None:
        if not self._prepare():
            return
        target = self.result_path(slot)
        try:
            target.parent.mkdir(exist_ok=True)
            self._write_atomic(target, dumps((_MAGIC, _FORMAT, key, "result", (list(findings), list(diagnostics)))))
        except OSError as exc:
            self.problem = f"cannot write to the cache folder {self.directory}: {exc.strerror or exc}"


def encode_entry(key: str, facts: _facts.ModuleFacts | None, diagnostic: Diagnostic | None) -> bytes:
    """What a content ``key`` gave, without the file's path (the same bytes may live anywhere)."""
    if facts is not None:
        return dumps((_MAGIC, _FORMAT, key, "facts", dataclasses.replace(facts, path="")))
    assert diagnostic is not None
    return dumps((_MAGIC, _FORMAT, key, "diagnostic", (diagnostic.message, diagnostic.kind)))


def decode_entry(data: bytes, key: str, display: str) -> tuple[_facts.ModuleFacts | None, Diagnostic | None] | None:
    """``(facts, diagnostic)`` for the file shown as ``display``, or None for anything that is
    not a well-formed entry of ``key``."""
    try:
        magic, fmt, stored_key, kind, payload = loads(data)
        if magic != _MAGIC or fmt != _FORMAT or stored_key != key:
            return None
        if kind == "facts" and isinstance(payload, _facts.ModuleFacts):
            return dataclasses.replace(payload, path=display), None
        if (kind == "diagnostic" and isinstance(payload, tuple) and len(payload) == 2
                and all(isinstance(p, str) for p in payload)):
            return None, Diagnostic(display, payload[0], payload[1])
    except Exception:
        return None
    return None


def resolve_cache_dir(*, no_cache: bool, cli_dir: str | None, config_dir: Path | None, root: Path) -> Path | None:
    """Where the cache lives: ``--no-cache`` / ``FASTAPI_ARCH_LINT_NO_CACHE`` switch it off;
    then ``--cache-dir``, ``FASTAPI_ARCH_LINT_CACHE_DIR``, the config's ``cache-dir``, and
    ``.fastapi_arch_lint_cache`` in the project root, in that order."""
    if no_cache or os.environ.get(ENV_NO_CACHE, "").strip().lower() in ("1", "true", "yes", "on"):
        return None
    if cli_dir:
        return Path(cli_dir)
    env = os.environ.get(ENV_CACHE_DIR, "").strip()
    if env:
        return Path(env)
    if config_dir is not None:
        return config_dir
    return default_cache_dir(root)
