"""Reading a file's bytes and naming its content: what the engine and the cache need before
(and instead of) parsing. No LibCST here, so that a run answered from the cache never imports
it (about 0.15 s of start-up)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi_arch_lint import __version__
from fastapi_arch_lint.findings import Diagnostic

if TYPE_CHECKING:
    from fastapi_arch_lint.model.facts import ModuleFacts

DEFAULT_MAX_FILE_BYTES = 1_000_000

CACHE_SALT = f"fastapi-arch-lint {__version__} facts v11"


@dataclass(frozen=True, slots=True)
class Extracted:
    """The per-file result: facts, or a diagnostic, never both missing."""

    path: str
    facts: ModuleFacts | None
    diagnostic: Diagnostic | None = None


def digest(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()


def _too_large(size: int, max_bytes: int) -> str:
    return f"skipped: {size:,} bytes is over the {max_bytes:,}-byte limit (max-file-bytes)"


def read_source(file: Path, display: str, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes | Diagnostic:
    """The bytes of ``file``, or a diagnostic saying why not; never raises, never blocks.

    Only regular files are read (a FIFO or a device named ``x.py`` would block or never
    end), the file is opened without blocking, and at most ``max_bytes`` + 1 bytes are read
    even when the file grows after its size was checked.
    """
    import os
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(file, flags)
    except PermissionError:
        return Diagnostic(display, "cannot read file: permission denied")
    except IsADirectoryError:
        return Diagnostic(display, "cannot read file: is a directory")
    except OSError as exc:
        return Diagnostic(display, f"cannot read file: {exc.strerror or exc}")
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            return Diagnostic(display, "cannot read file: is a directory")
        if not stat.S_ISREG(st.st_mode):
            return Diagnostic(display, "skipped: not a regular file (a FIFO, socket or device)")
        if max_bytes and st.st_size > max_bytes:
            return Diagnostic(display, _too_large(st.st_size, max_bytes))
        limit = max_bytes + 1 if max_bytes else None
        chunks: list[bytes] = []
        total = 0
        while limit is None or total < limit:
            chunk = os.read(fd, 1 << 20 if limit is None else min(1 << 20, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        source = b"".join(chunks)
    except OSError as exc:
        return Diagnostic(display, f"cannot read file: {exc.strerror or exc}")
    finally:
        os.close(fd)
    if max_bytes and len(source) > max_bytes:  # it grew while being read
        return Diagnostic(display, f"skipped: over the {max_bytes:,}-byte limit (max-file-bytes)")
    return source
