"""``discover()`` (which files) and ``assign_module_names()`` (their dotted names)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from fastapi_arch_lint.discovery import assign_module_names, discover, glob_to_regex


def write(root: Path, files: dict[str, str] | list[str]) -> None:
    items = files.items() if isinstance(files, dict) else ((f, "x = 1\n") for f in files)
    for rel, text in items:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def displays(found) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.display for f in found.files]


def names_of(targets, imported, cwd: Path) -> dict[str, tuple[str, bool]]:  # type: ignore[no-untyped-def]
    found = discover(targets, cwd=cwd)
    assert found.diagnostics == []
    names = assign_module_names(found.files, imported)
    return {f.display: names[f.path] for f in found.files}


# ---------------------------------------------------------------------------
# which files


def test_default_excludes_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, [
        "app/__init__.py", "app/main.py",
        ".venv/lib/a.py", "venv/lib/b.py", "node_modules/pkg/c.py", "app/__pycache__/d.py",
        "build/lib/e.py", "dist/f.py", ".tox/py311/g.py", "lib/python3.11/site-packages/h.py",
        ".git/hooks/i.py",
    ])
    # a virtualenv under any name is recognised by its pyvenv.cfg
    write(tmp_path, {"my-env/pyvenv.cfg": "home = /usr/bin\n", "my-env/lib/j.py": "x = 1\n"})
    (tmp_path / "app" / "notes.txt").write_text("not python")
    found = discover([tmp_path], cwd=tmp_path)
    assert displays(found) == ["app/__init__.py", "app/main.py"]
    assert found.diagnostics == []


def test_pyi_files_are_found(tmp_path: Path) -> None:
    write(tmp_path, ["pkg/__init__.py", "pkg/stubs.pyi"])
    assert displays(discover([tmp_path], cwd=tmp_path)) == ["pkg/__init__.py", "pkg/stubs.pyi"]


def test_user_exclude_globs(tmp_path: Path) -> None:
    write(tmp_path, [
        "app/__init__.py", "app/main.py", "app/legacy.py", "app/sub/legacy.py",
        "app/test_main.py", "tests/test_api.py", "tests/conftest.py",
        "migrations/env.py", "migrations/versions/001_init.py",
    ])
    everything = discover([tmp_path], cwd=tmp_path)
    assert len(everything.files) == 9

    found = discover([tmp_path], ["migrations/**", "**/test_*.py", "app/legacy.py"], cwd=tmp_path)
    assert displays(found) == ["app/__init__.py", "app/main.py", "app/sub/legacy.py", "tests/conftest.py"]


def test_exclude_globs_are_anchored_at_base(tmp_path: Path) -> None:
    write(tmp_path, ["proj/app/__init__.py", "proj/app/legacy.py", "proj/app/main.py"])
    found = discover([tmp_path / "proj" / "app"], ["app/legacy.py"], base=tmp_path / "proj", cwd=tmp_path)
    assert displays(found) == ["proj/app/__init__.py", "proj/app/main.py"]


@pytest.mark.parametrize(("pattern", "path", "hit"), [
    ("migrations", "migrations/v1.py", True),
    ("migrations", "app/migrations/v1.py", True),       # no slash: any depth
    ("/migrations", "app/migrations/v1.py", False),     # leading slash: anchored
    ("app/*.py", "app/main.py", True),
    ("app/*.py", "app/sub/main.py", False),             # * stays within a folder
    ("app/**/*.py", "app/main.py", True),               # **/ also matches no folder
    ("app/**/*.py", "app/a/b/main.py", True),
    ("tests/test_?.py", "tests/test_a.py", True),
    ("tests/test_?.py", "tests/test_ab.py", False),
])
def test_glob_to_regex(pattern: str, path: str, hit: bool) -> None:
    assert bool(glob_to_regex(pattern).match(path)) is hit


def test_explicit_file_target(tmp_path: Path) -> None:
    write(tmp_path, ["app/main.py", "app/other.py"])
    found = discover(["app/main.py"], cwd=tmp_path)
    assert displays(found) == ["app/main.py"]
    assert found.files[0].path == tmp_path / "app" / "main.py"


def test_same_file_given_twice_is_listed_once(tmp_path: Path) -> None:
    write(tmp_path, ["app/main.py"])
    found = discover([tmp_path / "app", tmp_path / "app" / "main.py"], cwd=tmp_path)
    assert displays(found) == ["app/main.py"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_symlink_to_file_outside_target_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "secret.py"
    write(tmp_path, {"outside/secret.py": "x = 1\n", "proj/app/__init__.py": "", "proj/app/main.py": "x = 1\n"})
    os.symlink(outside, tmp_path / "proj" / "app" / "link.py")
    found = discover([tmp_path / "proj"], cwd=tmp_path)
    assert displays(found) == ["proj/app/__init__.py", "proj/app/main.py"]
    assert all(f.path.resolve() != outside.resolve() for f in found.files)
    [diag] = found.diagnostics
    assert diag.path == "proj/app/link.py"
    assert "outside" in diag.message and "not followed" in diag.message


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_symlink_loops_do_not_hang(tmp_path: Path) -> None:
    write(tmp_path, ["app/__init__.py", "app/main.py"])
    app = tmp_path / "app"
    os.symlink(app / "loop_b.py", app / "loop_a.py")
    os.symlink(app / "loop_a.py", app / "loop_b.py")
    os.symlink(app, app / "again")  # a directory symlink pointing at its own parent
    os.symlink(tmp_path, app / "up")
    found = discover([tmp_path], cwd=tmp_path)
    assert displays(found) == ["app/__init__.py", "app/main.py"]
    messages = {d.path: d.message for d in found.diagnostics}
    assert set(messages) == {"app/loop_a.py", "app/loop_b.py"}
    assert all("symlink" in m for m in messages.values())


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_broken_symlink_is_a_diagnostic(tmp_path: Path) -> None:
    write(tmp_path, ["app/main.py"])
    os.symlink(tmp_path / "app" / "gone.py", tmp_path / "app" / "dangling.py")
    found = discover([tmp_path], cwd=tmp_path)
    assert displays(found) == ["app/main.py"]
    assert [d.path for d in found.diagnostics] == ["app/dangling.py"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_symlink_inside_target_keeps_the_real_file(tmp_path: Path) -> None:
    # ``app/alias.py -> main.py`` (same target): the real module must still be analyzed
    # under its own name; the symlink sorts first, which must not make ``main.py`` vanish.
    write(tmp_path, ["app/__init__.py", "app/main.py"])
    os.symlink(tmp_path / "app" / "main.py", tmp_path / "app" / "alias.py")
    found = discover([tmp_path], cwd=tmp_path)
    assert "app/main.py" in displays(found)
    assert found.diagnostics == []


def test_nonexistent_path_is_a_diagnostic(tmp_path: Path) -> None:
    write(tmp_path, ["app/main.py"])
    found = discover(["app", "does/not/exist"], cwd=tmp_path)
    assert displays(found) == ["app/main.py"]
    [diag] = found.diagnostics
    assert diag.path == "does/not/exist"
    assert "does not exist" in diag.message


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_unreadable_directory_is_a_diagnostic(tmp_path: Path) -> None:
    write(tmp_path, ["app/main.py", "app/private/hidden.py"])
    private = tmp_path / "app" / "private"
    private.chmod(0)
    try:
        if os.access(private, os.R_OK):
            pytest.skip("running with privileges that ignore directory permissions (root?)")
        found = discover([tmp_path], cwd=tmp_path)
        assert displays(found) == ["app/main.py"]
        [diag] = found.diagnostics
        assert diag.path == "app/private"
        assert "cannot read directory" in diag.message
    finally:
        private.chmod(0o755)


def test_directory_that_cannot_be_listed_is_a_diagnostic(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # the same failure simulated, so it is covered when the tests run as root
    write(tmp_path, ["app/main.py", "app/private/hidden.py"])
    private = tmp_path / "app" / "private"
    real_scandir = os.scandir

    def scandir(path=None):  # type: ignore[no-untyped-def]
        if path is not None and Path(path) == private:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path) if path is not None else real_scandir()

    monkeypatch.setattr(os, "scandir", scandir)
    found = discover([tmp_path], cwd=tmp_path)
    assert displays(found) == ["app/main.py"]
    [diag] = found.diagnostics
    assert diag.path == "app/private"
    assert "cannot read directory" in diag.message and "Permission denied" in diag.message


# ---------------------------------------------------------------------------
# module names


def test_regular_packages(tmp_path: Path) -> None:
    write(tmp_path, ["app/__init__.py", "app/main.py", "app/routers/__init__.py", "app/routers/items.py"])
    expected = {
        "app/__init__.py": ("app", True),
        "app/main.py": ("app.main", False),
        "app/routers/__init__.py": ("app.routers", True),
        "app/routers/items.py": ("app.routers.items", False),
    }
    assert names_of([tmp_path], [], tmp_path) == expected
    # the same names whichever folder is the target
    assert names_of([tmp_path / "app"], [], tmp_path) == expected
    assert names_of([tmp_path / "app" / "routers"], [], tmp_path) == {
        k: v for k, v in expected.items() if k.startswith("app/routers/")
    }


def test_src_layout(tmp_path: Path) -> None:
    write(tmp_path, ["proj/src/pkg/__init__.py", "proj/src/pkg/x.py", "proj/src/pkg/sub/__init__.py",
                     "proj/src/pkg/sub/y.py"])
    names = names_of([tmp_path / "proj"], ["pkg.x", "pkg.sub.y"], tmp_path)
    assert names == {
        "proj/src/pkg/__init__.py": ("pkg", True),
        "proj/src/pkg/x.py": ("pkg.x", False),
        "proj/src/pkg/sub/__init__.py": ("pkg.sub", True),
        "proj/src/pkg/sub/y.py": ("pkg.sub.y", False),
    }


def test_namespace_target_imported_by_its_folder_name(tmp_path: Path) -> None:
    # ``./app`` without any __init__.py; the code says ``from app.routers.items import router``
    write(tmp_path, ["app/main.py", "app/routers/items.py", "app/routers/users.py"])
    imported = ["app.routers.items", "app.routers.items.router", "app.routers", "app.routers.users", "fastapi"]
    assert names_of(["./app"], imported, tmp_path) == {
        "app/main.py": ("app.main", False),
        "app/routers/items.py": ("app.routers.items", False),
        "app/routers/users.py": ("app.routers.users", False),
    }


def test_namespace_target_imported_without_folder_prefix(tmp_path: Path) -> None:
    # same tree, but the code is run from inside app/ and says ``from routers.items import router``
    write(tmp_path, ["app/main.py", "app/routers/items.py", "app/routers/users.py"])
    imported = ["routers.items", "routers.items.router", "routers", "routers.users", "fastapi"]
    assert names_of(["./app"], imported, tmp_path) == {
        "app/main.py": ("main", False),
        "app/routers/items.py": ("routers.items", False),
        "app/routers/users.py": ("routers.users", False),
    }


def test_init_module_is_named_after_its_package(tmp_path: Path) -> None:
    write(tmp_path, ["pkg/__init__.py", "pkg/inner/__init__.py", "pkg/inner/__init__.pyi", "pkg/inner/mod.py"])
    names = names_of([tmp_path], [], tmp_path)
    assert names["pkg/__init__.py"] == ("pkg", True)
    assert names["pkg/inner/__init__.py"] == ("pkg.inner", True)
    assert names["pkg/inner/__init__.pyi"] == ("pkg.inner", True)
    assert names["pkg/inner/mod.py"] == ("pkg.inner.mod", False)


def test_engine_names_a_namespace_target_from_its_own_imports(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # end to end: the engine gathers the imported names itself
    from fastapi_arch_lint.engine import analyze

    write(tmp_path, {
        "app/main.py": "from fastapi import FastAPI\nfrom app.routers.items import router\napp = FastAPI()\n"
                       "app.include_router(router)\n",
        "app/routers/items.py": "from fastapi import APIRouter\nrouter = APIRouter()\n"
                                "@router.get('/items')\ndef items(): ...\n",
    })
    monkeypatch.chdir(tmp_path)
    analysis = analyze(["./app"])
    assert sorted(m.module for m in analysis.facts) == ["app.main", "app.routers.items"]
    assert [r.path for r in analysis.model.routes] == ["/items"]
