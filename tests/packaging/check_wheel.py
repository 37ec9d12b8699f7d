"""Build the sdist and wheel, check what they ship, and run the test suite against the wheel.

Usage (from anywhere; extra arguments go to pytest)::

    python tests/packaging/check_wheel.py [--keep] [pytest arguments...]

1. Creates a fresh virtualenv and builds with ``python -m build`` (sdist, then the wheel
   from the sdist, as pip would).
2. Checks the wheel holds every file of ``django_etag_lock/`` under version control
   (templates, ``py.typed``, the ``.po`` and compiled ``.mo`` translations) and nothing
   else, and the sdist holds the package, ``tests/``, ``testproject/`` and ``docs/``.
3. Installs the wheel with its ``test`` extra into the virtualenv, unpacks the sdist,
   deletes its ``django_etag_lock/`` and runs pytest there, so the package can only be
   imported from site-packages; a pytest plugin fails the run if it is imported from
   anywhere else.

``DATABASE_URL`` and ``TEST_DATABASE_NAME`` are passed through. The exit status is
pytest's (or 1 when a check before it fails).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "django_etag_lock"

GUARD = '''\
"""Loaded with -p: the suite must test the installed wheel, never a checkout."""
import sysconfig
from pathlib import Path

import pytest


def pytest_configure(config):
    import django_etag_lock

    where = Path(django_etag_lock.__file__).resolve()
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    if site not in where.parents:
        raise pytest.UsageError(f"django_etag_lock imported from {where}, not from {site}")
    print(f"\\nTesting the installed wheel: {where.parent}")


def pytest_unconfigure(config):
    import django_etag_lock

    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert site in Path(django_etag_lock.__file__).resolve().parents
'''


def run(*args: str | Path, cwd: Path | None = None) -> None:
    print("$", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=cwd, check=True)


def tracked(prefix: str) -> set[str]:
    """Files under ``prefix`` in git, relative to the repository root."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--", prefix],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {name for name in out.split("\0") if name and (ROOT / name).exists()}


def fail(message: str) -> None:
    print(f"FAIL: {message}", file=sys.stderr)
    raise SystemExit(1)


def check_wheel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = {n for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    expected = tracked(PACKAGE + "/")
    if missing := sorted(expected - shipped):
        fail(f"{wheel.name} lacks files that are in git: {missing}")
    extra = shipped - expected
    # Work in progress in a local checkout is shipped too; a clean clone (CI) has none.
    untracked = {n for n in extra if (ROOT / n).is_file() and "__pycache__" not in n}
    for name in sorted(untracked):
        print(f"warning: {wheel.name} ships {name}, which is not committed yet")
    if unexpected := sorted(extra - untracked):
        fail(f"{wheel.name} ships files that are not in git: {unexpected}")
    required = [f"{PACKAGE}/py.typed"]
    mo = sorted(n for n in shipped if n.endswith("/LC_MESSAGES/django.mo"))
    po = sorted(n for n in shipped if n.endswith("/LC_MESSAGES/django.po"))
    if not mo or len(mo) != len(po):
        fail(f"{wheel.name} must ship each translation as .po and compiled .mo: {po} {mo}")
    templates = sorted(n for n in shipped if "/templates/" in n)
    for name in required:
        if name not in shipped:
            fail(f"{wheel.name} lacks {name}")
    print(f"wheel ok: {len(shipped)} files, {len(templates)} templates, translations {mo}")


def check_sdist(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/", 1)[0]
        names = {str(PurePosixPath(n).relative_to(top)) for n in archive.getnames() if "/" in n}
    expected = set().union(
        *(tracked(p) for p in (PACKAGE + "/", "tests/", "testproject/", "docs/"))
    )
    expected |= {"pyproject.toml", "README.md", "mkdocs.yml"}
    if missing := sorted(expected - names):
        fail(f"{sdist.name} lacks files that are in git: {missing}")
    if leaked := sorted(n for n in names if "__pycache__" in n or n.endswith(".sqlite3")):
        fail(f"{sdist.name} ships build leftovers: {leaked}")
    print(f"sdist ok: {len(names)} files")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the venv")
    options, pytest_args = parser.parse_known_args()

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    tmp = Path(tempfile.mkdtemp(prefix="django-etag-lock-wheel-"))
    try:
        venv = tmp / "venv"
        run(options.python, "-m", "venv", venv)
        python = venv / "bin" / "python"
        run(python, "-m", "pip", "install", "-q", "--upgrade", "pip", "build")

        dist = tmp / "dist"
        run(python, "-m", "build", "--outdir", dist, ROOT)
        wheels = list(dist.glob("*.whl"))
        sdists = list(dist.glob("*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            fail(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
        wheel, sdist = wheels[0], sdists[0]
        if f"-{version}-" not in wheel.name:
            fail(f"{wheel.name} is not version {version}")
        check_wheel(wheel)
        check_sdist(sdist)

        run(python, "-m", "pip", "install", "-q", f"{wheel}[test]")

        src = tmp / "src"
        with tarfile.open(sdist) as archive:
            archive.extractall(tmp / "unpacked", filter="data")
        shutil.move(next((tmp / "unpacked").iterdir()), src)
        shutil.rmtree(src / PACKAGE)
        (src / "_wheel_guard.py").write_text(GUARD)

        command = [str(python), "-m", "pytest", "-p", "_wheel_guard", *pytest_args]
        print("$", " ".join(command), f"(in {src})", flush=True)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        return subprocess.run(command, cwd=src, env=env).returncode
    finally:
        if options.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
