"""The little git this tool needs, through the ``git`` command (no extra dependency).

* ``changed_lines``: for ``review --changed-since REF``, the lines of the working tree that
  differ from the merge base of REF and HEAD (committed, staged and unstaged changes alike),
  plus untracked files as entirely changed.
* ``tree_files`` / ``read_tree``: for ``diff BASE [HEAD]``, the Python files (and
  ``pyproject.toml`` files) of a revision, read with ``git ls-tree`` and ``git cat-file``
  into a temporary folder; the user's work tree and index are never touched.

Every failure is a ``GitError`` whose message is one line for the user.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fastapi_arch_lint.findings import Diagnostic, Finding


class GitError(Exception):
    """A git problem, with a one-line message for the user."""


# Keep git's output independent of the user's configuration: no pager, no colour, no
# external diff drivers, plain ``a/`` ``b/`` prefixes and unquoted non-ASCII paths.
_BASE_ARGS = ("-c", "core.quotePath=false", "-c", "color.ui=false", "-c", "diff.noprefix=false",
              "-c", "diff.mnemonicPrefix=false", "-c", "diff.external=")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_PAGER": "cat", "PAGER": "cat", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"})
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):  # pre-commit sets these in hooks
        env.pop(var, None)
    return env


def git(args: Sequence[str], cwd: Path, *, binary: bool = False, stdin: bytes | None = None) -> bytes | str:
    """Run ``git args`` in ``cwd``; its stdout (text unless ``binary``). Raises ``GitError``."""
    try:
        proc = subprocess.run(["git", *_BASE_ARGS, *args], cwd=cwd, input=stdin, capture_output=True,
                              env=_env(), check=False)
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except NotADirectoryError:
        raise GitError(f"not a folder: {cwd}") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(err[-1].removeprefix("fatal: ").strip() if err else f"git {args[0]} failed")
    return proc.stdout if binary else proc.stdout.decode("utf-8", "surrogateescape")


def toplevel(start: Path) -> Path:
    """The top folder of the git work tree holding ``start`` (a file or folder)."""
    folder = start if start.is_dir() else start.parent
    folder = folder.resolve()
    while not folder.exists():  # a path that does not exist yet: use its nearest existing parent
        folder = folder.parent
    try:
        out = git(["rev-parse", "--show-toplevel"], folder)
    except GitError:
        raise GitError(f"not inside a git repository: {folder}") from None
    assert isinstance(out, str)
    if not out.strip():  # inside the .git folder itself
        raise GitError(f"not inside a git work tree: {folder}")
    return Path(out.strip()).resolve()


def resolve_commit(rev: str, repo: Path) -> str:
    """The commit id ``rev`` names, or a ``GitError`` saying the revision is unknown."""
    if not rev or rev.startswith("-"):
        raise GitError(f"unknown git revision `{rev}`")
    try:
        out = git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], repo)
    except GitError:
        out = ""
    assert isinstance(out, str)
    if not out.strip():
        if rev == "HEAD":
            raise GitError("the repository has no commits yet (HEAD does not name a commit)")
        raise GitError(f"unknown git revision `{rev}` (not a branch, tag or commit in {repo})")
    return out.strip()


def merge_base(ref: str, repo: Path, head: str = "HEAD") -> str:
    """``git merge-base REF HEAD``: the commit a branch forked from."""
    a = resolve_commit(ref, repo)
    b = resolve_commit(head, repo)
    try:
        out = git(["merge-base", a, b], repo)
    except GitError:
        out = ""
    assert isinstance(out, str)
    if not out.strip():
        raise GitError(f"`{ref}` and {head} have no common ancestor")
    return out.strip()


# ------------------------------------------------------------------ changed lines

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {b"a": 7, b"b": 8, b"t": 9, b"n": 10, b"v": 11, b"f": 12, b"r": 13, b'"': 34, b"\\": 92}


def _unquote(raw: bytes) -> str:
    """A path as git prints it in a diff header: C-quoted when it holds special characters."""
    if not (raw.startswith(b'"') and raw.endswith(b'"')):
        return raw.decode("utf-8", "surrogateescape")
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i:i + 1]
        if c == b"\\" and i + 1 < len(body):
            nxt = body[i + 1:i + 2]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            octal = body[i + 1:i + 4]
            if re.fullmatch(rb"[0-7]{3}", octal):
                out.append(int(octal, 8))
                i += 4
                continue
        out += c
        i += 1
    return bytes(out).decode("utf-8", "surrogateescape")


def parse_unified_diff(diff: bytes) -> dict[str, set[int]]:
    """Added or modified line numbers (new side) per file path, from ``git diff --unified=0``.

    A hunk ``@@ -a,b +c,d @@`` adds lines ``c .. c+d-1`` (``d`` defaults to 1, ``d == 0`` is a
    pure deletion). Deleted files (``+++ /dev/null``) are left out; a file whose only change is
    its mode or a rename without edits maps to an empty set.
    """
    out: dict[str, set[int]] = {}
    current: str | None = None
    for line in diff.split(b"\n"):
        if line.startswith(b"diff --git "):
            current = None
        elif line.startswith(b"+++ "):
            target = line[4:].rstrip(b"\r")
            if target == b"/dev/null":
                current = None
                continue
            # an unquoted name never holds a raw tab (git quotes it), but git appends one
            # after a name that contains a space
            name = _unquote(target.split(b"\t")[0])
            current = name[2:] if name.startswith("b/") else name
            out.setdefault(current, set())
        elif line.startswith(b"rename to ") and current is None:
            out.setdefault(_unquote(line[len(b"rename to "):]), set())
        elif line.startswith(b"@@ ") and current is not None:
            m = _HUNK.match(line)
            if m:
                start, count = int(m.group(1)), int(m.group(2)) if m.group(2) is not None else 1
                out[current].update(range(start, start + count))
    return out


@dataclass(slots=True)
class ChangedLines:
    """What changed in the work tree since ``base``: absolute path -> changed line numbers
    (``None`` = the whole file, for untracked files)."""

    repo: Path
    base: str  # the merge-base commit
    ref: str
    files: dict[Path, set[int] | None]

    def file_changed(self, path: str | Path) -> bool:
        return _abs(path) in self.files

    def touches(self, path: str | Path, first: int, last: int | None = None) -> bool:
        """Whether lines ``first .. last`` of ``path`` include a changed line."""
        lines = self.files.get(_abs(path), set())
        if lines is None:
            return True
        last = max(first, last or first)
        if last - first > 10_000:
            return any(first <= n <= last for n in lines)
        return any(n in lines for n in range(first, last + 1))

    def filter(self, findings: Sequence[Finding], diagnostics: Sequence[Diagnostic]
               ) -> tuple[list[Finding], list[Diagnostic]]:
        """Findings whose primary span touches a changed line; diagnostics of changed files
        (and the tool's own, ``<internal>``)."""
        kept = [f for f in findings if self.touches(f.path, f.line, f.end_line)]
        diags = [d for d in diagnostics if d.path.startswith("<") or self.file_changed(d.path)]
        return kept, diags


def _abs(path: str | Path) -> Path:
    return Path(os.path.abspath(path)).resolve()


def changed_lines(ref: str, start: Path) -> ChangedLines:
    """Lines changed in the work tree holding ``start`` since ``git merge-base REF HEAD``:
    committed, staged and unstaged changes (``git diff <merge-base>`` compares that commit with
    the working tree), and every line of untracked, not ignored files."""
    repo = toplevel(start)
    base = merge_base(ref, repo)
    diff = git(["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--unified=0", "--find-renames",
                "--src-prefix=a/", "--dst-prefix=b/", base, "--"], repo, binary=True)
    assert isinstance(diff, bytes)
    files: dict[Path, set[int] | None] = {}
    for rel, lines in parse_unified_diff(diff).items():
        files[(repo / rel).resolve()] = lines
    untracked = git(["ls-files", "--others", "--exclude-standard", "-z"], repo)
    assert isinstance(untracked, str)
    for rel in untracked.split("\0"):
        if rel:
            files[(repo / rel).resolve()] = None
    return ChangedLines(repo, base, ref, files)


# ------------------------------------------------------------------ a revision's files

def prefix_of(path: Path, repo: Path) -> str:
    """``path`` relative to the top of ``repo``, posix, '' for the top itself."""
    rel = path.resolve().relative_to(repo)
    return "" if str(rel) == "." else rel.as_posix()


def tree_files(rev: str, repo: Path, prefix: str = "",
               keep: Iterable[str] = (".py", ".pyi")) -> list[tuple[str, str]]:
    """``(path, blob id)`` of the regular files of commit ``rev`` under ``prefix`` whose names end
    with one of ``keep``, plus every ``pyproject.toml`` of the tree (configuration is looked up
    in parent folders). Symlinks and submodules are skipped."""
    commit = resolve_commit(rev, repo)
    out = git(["ls-tree", "-r", "-z", "--full-tree", commit], repo)
    assert isinstance(out, str)
    keep = tuple(keep)
    inside = PurePosixPath(prefix) if prefix else None
    files: list[tuple[str, str]] = []
    for entry in out.split("\0"):
        if not entry or "\t" not in entry:
            continue
        meta, name = entry.split("\t", 1)
        mode, kind, obj = meta.split(" ")
        if kind != "blob" or mode not in ("100644", "100755"):
            continue
        p = PurePosixPath(name)
        if p.name == "pyproject.toml":
            files.append((name, obj))
        elif name.endswith(keep) and (inside is None or p.is_relative_to(inside)):
            files.append((name, obj))
    return sorted(files)


def read_tree(rev: str, repo: Path, dest: Path, prefix: str = "") -> int:
    """Write the files ``tree_files`` selects from revision ``rev`` below ``dest`` (their repository
    paths kept), reading blobs with one ``git cat-file --batch``. Returns how many were written."""
    files = tree_files(rev, repo, prefix)
    if not files:
        return 0
    data = git(["cat-file", "--batch"], repo, binary=True,
               stdin="".join(f"{obj}\n" for _, obj in files).encode())
    assert isinstance(data, bytes)
    pos = 0
    dest = dest.resolve()
    for name, obj in files:
        header_end = data.index(b"\n", pos)
        header = data[pos:header_end].split(b" ")
        if len(header) != 3 or header[0].decode() != obj:
            raise GitError(f"unexpected output from git cat-file for {name}")
        size = int(header[2])
        body = data[header_end + 1:header_end + 1 + size]
        pos = header_end + 1 + size + 1  # content is followed by a newline
        target = (dest / name).resolve()
        if not target.is_relative_to(dest):  # never write outside the temporary folder
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    return len(files)
