"""The per-file facts cache: ``.fastapi_arch_lint_cache/<version>/facts.sqlite3``.

A file's facts depend only on its bytes (module names and relative imports are resolved
later, by the engine and the linker), so an entry is keyed by the sha256 of the content
plus everything else that could change the extraction: the tool version, ``CACHE_SALT``,
a fingerprint of the extractor's own source, the LibCST and Python versions and the
``max-file-bytes`` setting. Mtimes are not used (CI checkouts reset them). The same
content at another path is a hit; the entry stores no path.

Layout as ruff's: ``CACHEDIR.TAG`` and a ``.gitignore`` of ``*`` at the top, one folder per
tool version. The entries live in one SQLite table (``key``, ``data``), written in a few
transactions of ~4 MB during extraction: a file per entry cost 0.5-1.5 s of file creation
per 1,500 files on the benchmark machine, the database 0.02 s. SQLite's locking makes concurrent
runs safe (a run that cannot get the database within ``busy_timeout`` just does not cache
this time); an entry that cannot be read back (truncated, garbage, another format) is a miss
and is rewritten, and a file that is not a sound database is replaced. Entries are pickles
read with an unpickler that only builds the model's own fact classes, so a planted entry
cannot run code. The facts hold no source text beyond the literal values the rules need
(string constants, names); docstrings and comments are not collected. The stored review
results (``results/``) are files written to a temporary name and renamed. Nothing here ever
fails a run: a cache that cannot be written is switched off and ``problem`` says why.
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
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi_arch_lint import __version__
from fastapi_arch_lint import findings as _findings
from fastapi_arch_lint.findings import Diagnostic, Finding

if TYPE_CHECKING:
    import sqlite3

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


_MODEL_MODULES = ("fastapi_arch_lint.model.facts", "fastapi_arch_lint.model.expr")


def _model_classes() -> dict[tuple[str, str], type]:
    import importlib

    out: dict[tuple[str, str], type] = {}
    for mod in map(importlib.import_module, _MODEL_MODULES):
        for name, value in vars(mod).items():
            if isinstance(value, type) and value.__module__ == mod.__name__ and (
                    dataclasses.is_dataclass(value) or issubclass(value, enum.Enum)):
                out[(mod.__name__, name)] = value
    return out


_RESULT_CLASSES = {(_findings.__name__, c.__name__): c
                   for c in (_findings.Finding, _findings.Related, _findings.Diagnostic, _findings.Fix, _findings.Edit,
                             _findings.Severity, _findings.Confidence)}
# what an entry may hold; the model's classes join when a facts entry is first read or written
# (a run answered from the stored result never imports the model: a third of its start-up)
_ALLOWED: dict[tuple[str, str], Any] = {
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


def _reducers(classes: Any) -> dict[type, Any]:
    return {cls: _reducer(cls) for cls in classes
            if dataclasses.is_dataclass(cls) and all(f.init for f in dataclasses.fields(cls))}


# a frozen dataclass pickles as ``cls(*fields)``: smaller and about twice as fast to load
# as the default (which calls ``dataclasses.fields`` in ``__setstate__`` for every object)
_DISPATCH = dict(copyreg.dispatch_table)
_DISPATCH.update(_reducers(_RESULT_CLASSES.values()))
_WITH_MODEL: list[bool] = []


def _with_model() -> None:
    """Let entries hold the model's classes (see ``_ALLOWED``)."""
    if not _WITH_MODEL:
        classes = _model_classes()
        _ALLOWED.update(classes)
        _DISPATCH.update(_reducers(classes.values()))
        _WITH_MODEL.append(True)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            if module in _MODEL_MODULES and not _WITH_MODEL:
                _with_model()
                return self.find_class(module, name)
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cache entry") from None


def dumps(obj: object) -> bytes:
    if not _WITH_MODEL:
        _with_model()
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
    """LibCST's version, for the facts' key. Read from the installed package's ``_version.py``
    without importing it: every run asks, and a run answered from the cache never imports
    LibCST (0.1 s) nor, here, ``importlib.metadata`` (10 ms), the fallback."""
    try:
        from importlib.util import find_spec

        spec = find_spec("libcst")
        if spec is not None and spec.submodule_search_locations:
            text = (Path(next(iter(spec.submodule_search_locations))) / "_version.py").read_text(encoding="utf-8")
            m = re.search(r"""^__version__\s*=\s*(?:version\s*=\s*)?['"]([^'"]+)['"]""", text, re.M)
            if m:
                return m.group(1)
    except Exception:  # pragma: no cover - no such file: ask the metadata
        pass
    try:
        from importlib.metadata import version

        return version("libcst")
    except Exception:  # pragma: no cover
        return "?"


DB_NAME = "facts.sqlite3"
_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, data BLOB NOT NULL)"


def _is_busy(exc: sqlite3.Error) -> bool:
    """Another connection holds the database (past the busy timeout)."""
    import sqlite3

    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED and their extended codes
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _is_corrupt(exc: sqlite3.Error) -> bool:
    """The file is not a (sound) database: replaced by a new one. Permissions, a full disk or
    a lock are not that."""
    import sqlite3

    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
    return type(exc) is sqlite3.DatabaseError


def default_cache_dir(root: Path) -> Path:
    return root / CACHE_DIR_NAME


class FactCache:
    """Per-file facts (or the diagnostic of a file that cannot be analyzed) by content hash."""

    busy_timeout = 30.0  # seconds to wait for another run's transaction on the database

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
        self._db: sqlite3.Connection | None = None
        self._pending: dict[str, bytes] = {}
        self._pending_bytes = 0
        self._written: set[str] = set()  # keys this run has written
        self._unreadable = False  # reading failed once: the rest of this run's lookups are misses
        self._replaced = False  # a corrupt database was removed in this run

    # -- keys ------------------------------------------------------------------
    def key(self, content_digest: str) -> str:
        return hashlib.sha256(self.salt + content_digest.encode("ascii")).hexdigest()

    # -- the entries' database ----------------------------------------------------
    def _database(self, *, create: bool) -> sqlite3.Connection | None:
        """The open entries database; None if there is none yet (unless ``create``) or it
        cannot be used (then ``problem`` says why when it matters)."""
        if self._db is not None:
            return self._db
        try:
            import sqlite3  # here: a run answered from the stored result never needs it
        except ImportError:  # pragma: no cover - a Python built without it
            if create:
                self.problem = "this Python has no sqlite3 module"
            return None
        path = self.bucket / DB_NAME
        if not create and not path.is_file():
            return None
        if create and not self._prepare():
            return None
        try:
            if create and not path.exists():  # private, like every entry: made here, then opened
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600))
            db = sqlite3.connect(path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            if create:
                self.problem = f"cannot open the cache database {path}: {exc}"
            return None
        try:
            db.execute("PRAGMA synchronous=OFF")  # a cache: a torn write after a power cut reads as corrupt
            db.execute(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            db.close()
            if create and _is_corrupt(exc) and self._replace_corrupt(path):
                return self._database(create=True)
            if create and not _is_busy(exc):
                self.problem = f"cannot use the cache database {path}: {exc}"
            return None
        self._db = db
        return db

    def _replace_corrupt(self, path: Path) -> bool:
        """Remove a file that is not a usable database (once per run), so that a new one is made."""
        if self._replaced:
            return False
        self._replaced = True
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            return False
        return True

    # -- reading -----------------------------------------------------------------
    def load(self, key: str, display: str) -> tuple[_facts.ModuleFacts | None, Diagnostic | None] | None:
        """The cached ``(facts, diagnostic)`` of content ``key`` shown as ``display``, or None."""
        entry = self.fetch(key, display)
        return None if entry is None else self.decode(entry, key, display)

    def fetch(self, key: str, display: str) -> Any:
        """The stored entry of content ``key`` shown as ``display``, not yet decoded (``decode``), or None
        (a miss): ``load`` in two steps, so a caller can start parsing what is missing before it decodes
        what is there."""
        data = self._fetch(key)
        if data is None:
            self.misses += 1
        return data

    def decode(self, entry: Any, key: str, display: str
               ) -> tuple[_facts.ModuleFacts | None, Diagnostic | None] | None:
        """The ``(facts, diagnostic)`` of an entry ``fetch`` returned, or None (a miss: corrupt, foreign)."""
        result = decode_entry(entry, key, display)
        if result is None:  # absent, corrupt, truncated or foreign: a miss, rewritten after extraction
            self.misses += 1
            return None
        self.hits += 1
        return result

    def _fetch(self, key: str) -> bytes | None:
        """The stored bytes of ``key``, or None (absent, or a database that cannot be read)."""
        db = None if self._unreadable else self._database(create=False)
        if db is None:  # no database yet, or one that cannot be opened: every lookup is a miss
            self._unreadable = True
            return None
        import sqlite3

        try:
            row = db.execute("SELECT data FROM entries WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:  # corrupt, or locked past the timeout: misses; flush() mends it
            self._unreadable = True
            return None
        return row[0] if row and isinstance(row[0], bytes) else None

    # -- derived values (a fix's replaced lines) -----------------------------------
    # Keyed like the facts, by a digest of what they derive from (the file's text and the fix): the JSON
    # and SARIF reports carry each fix's replaced lines, which cost a LibCST parse of the file to work out.
    def load_lines(self, key: str) -> list[tuple[int, int, str]] | None:
        """The replaced lines stored under ``key`` by ``write_lines``, or None."""
        data = self._fetch(key)
        if data is None:
            return None
        try:
            magic, fmt, stored_key, kind, payload = loads(data)
        except Exception:  # corrupt, truncated or foreign: a miss
            return None
        if magic != _MAGIC or fmt != _FORMAT or stored_key != key or kind != "lines" or not isinstance(payload, list):
            return None
        if not all(isinstance(t, tuple) and len(t) == 3 and isinstance(t[0], int) and isinstance(t[1], int)
                   and isinstance(t[2], str) for t in payload):
            return None
        return payload

    def write_lines(self, key: str, lines: list[tuple[int, int, str]]) -> None:
        self.write(key, dumps((_MAGIC, _FORMAT, key, "lines", list(lines))))

    # -- writing -----------------------------------------------------------------
    # Entries are written in transactions of about this many bytes: holding a whole cold run's
    # entries (40 MB on the large benchmark) until the end slowed the parsing around them by
    # about a second, a transaction per entry would cost a lock and a journal each.
    flush_bytes = 4 << 20

    def write(self, key: str, entry: bytes) -> None:
        """Store an entry made by ``encode_entry`` under ``key`` (written by ``flush``, which
        runs by itself every ``flush_bytes``)."""
        if key in self._written:  # the same content twice in this run (empty ``__init__.py`` files)
            return
        self._pending[key] = entry
        self._pending_bytes += len(entry)
        if self._pending_bytes >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        """Write the entries ``write`` was given, in one transaction. Another run holding the
        database longer than ``busy_timeout`` means they are not cached this time; a file that
        is not a database is replaced once."""
        pending, self._pending, self._pending_bytes = self._pending, {}, 0
        while pending:
            db = self._database(create=True)
            if db is None:
                return
            import sqlite3

            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.executemany("INSERT OR REPLACE INTO entries (key, data) VALUES (?, ?)", pending.items())
                    db.execute("COMMIT")
                except BaseException:
                    try:
                        db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                    raise
            except sqlite3.DatabaseError as exc:
                self.close()
                if _is_busy(exc):
                    return
                if _is_corrupt(exc) and self._replace_corrupt(self.bucket / DB_NAME):
                    continue
                self.problem = f"cannot write to the cache database {self.bucket / DB_NAME}: {exc}"
                return
            self.writes += len(pending)
            self._written.update(pending)
            return

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- files -------------------------------------------------------------------
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
        from fastapi_arch_lint.model.facts import ModuleFacts

        if kind == "facts" and isinstance(payload, ModuleFacts):
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
