"""Binder's recipe works: install from binder/ into a fresh virtual environment, run a notebook.

This is what Binder does on launch (requirements.txt, then postBuild from the
repository root), in a new venv with nothing else installed. It needs the package index
(or a local wheel cache), like Binder itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]


def copy_checkout(dest: Path) -> Path:
    """The repository's files (tracked or new, not ignored), as a Binder clone would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def sh(args: list[str | Path], env: dict[str, str], cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)  # a cold install of Jupyter, pandas and Dask on a busy machine
def test_binder_files_install_the_package_and_the_quickstart_runs(tmp_path, kernel_env):
    repo = copy_checkout(tmp_path / "repo")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    env = {**kernel_env, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)

    sh(
        [venv / "bin/python", "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
        env,
        repo,
    )
    sh(["bash", "binder/postBuild"], env, repo)

    where = sh(
        [venv / "bin/python", "-c", "import llmpipe_nb; print(llmpipe_nb.__file__)"], env, tmp_path
    )
    assert where.startswith(str(venv)), "installed into the venv, not imported from the checkout"

    executed = tmp_path / "executed.ipynb"
    sh(
        [
            venv / "bin/jupyter",
            "execute",
            "--kernel_name=python3",
            f"--output={executed}",
            repo / "notebooks/01_quickstart.ipynb",
        ],
        env,
        tmp_path,
    )
    nb = nbformat.read(executed, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", ()))
    assert "mock provider" in text
    assert not [o for c in nb.cells for o in c.get("outputs", ()) if o.output_type == "error"]
