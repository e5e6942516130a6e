"""The library installs alone: a wheel built from the repository, in a fresh venv, no Jupyter.

``pip install llmlab`` must bring the library and its model runtimes only: JupyterLab and
nbgrader come with the ``[course]`` extra, the course's check helpers live in
``llmlab.course``, and the training recipe (``training/``) stays in the repository. The wheel
is built from a copy of the checkout (the build writes ``build/`` and ``*.egg-info`` where it
runs), installed with pip into a new venv, and ``llmlab report`` runs from it.

pip's own cache (``~/.cache/pip``, or ``PIP_CACHE_DIR``) is used as usual, so the
dependencies' wheels that ``make install`` downloaded are not downloaded again; ``--no-compile``
skips writing byte code for all of them at install time (Python compiles what the report
imports when it runs).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
JUPYTER = {"jupyterlab", "nbgrader", "notebook", "jupyter-server", "ipykernel"}
TIMINGS: dict[str, float] = {}


def _run(cmd, *, timeout, **kwargs):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    assert proc.returncode == 0, (cmd, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def _timed(name, fn):
    start = time.perf_counter()
    out = fn()
    TIMINGS[name] = round(time.perf_counter() - start, 1)
    return out


def _build_isolation_needed() -> bool:
    """Whether pip must set up setuptools for the build: not when this Python has what
    pyproject.toml's build-system asks for (the isolated build env costs a resolve and an
    install on every run)."""
    import importlib.metadata as md
    import tomllib

    from packaging.requirements import Requirement

    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for spec in wanted:
        req = Requirement(spec)
        try:
            if md.version(req.name) not in req.specifier:
                return True
        except md.PackageNotFoundError:
            return True
    return False


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel pip builds from a copy of the repository (no dependencies fetched)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "venv", "workspace", "node_modules", "artifacts", "__pycache__",
        "*.egg-info", "build", "dist", ".pytest_cache", ".ipynb_checkpoints"))
    out = tmp / "dist"
    isolation = [] if _build_isolation_needed() else ["--no-build-isolation"]
    _timed("build the wheel", lambda: _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "--wheel-dir", out, src],
        timeout=600))
    (path,) = out.glob("llmlab-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A new venv (no system site-packages) with the wheel and its dependencies only.

    The venv gets no pip of its own (ensurepip is slow); this Python's pip installs into it
    (``pip --python``), with the same configuration and cache as ``make install``.
    """
    folder = tmp_path_factory.mktemp("venv") / "env"
    _timed("create the venv", lambda: _run(
        [sys.executable, "-m", "venv", "--without-pip", folder], timeout=300))
    python = folder / "bin" / "python"
    _timed("pip install the wheel", lambda: _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-compile", wheel],
        timeout=1200))
    return folder


def test_wheel_holds_the_library_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"llmlab", wheel.name.split("-py")[0] + ".dist-info"}, tops
    assert not [n for n in names if "training/" in n], "the training recipe is in the wheel"
    assert "llmlab/course/checks.py" in names and "llmlab/export_gguf.py" in names
    # the bundled models and data ship
    for name in ("tiny-llama", "tiny-mistral", "tiny-llama-instruct"):
        assert f"llmlab/models/{name}/model.safetensors" in names, name
    assert "llmlab/data/spam/test.csv" in names and "llmlab/data/docs/manifest.json" in names
    # No course helper outside llmlab/course: no checks module, no library module importing the
    # course's, and none holding a copy of its helpers (one shared name, such as
    # datasets.check_choice, is a coincidence; two or more are a copy).
    import llmlab.course.checks as checks

    outside = [n for n in names if not n.startswith("llmlab/course/")]
    assert not [n for n in outside if n.endswith("/checks.py")]
    helpers = set(checks.__all__)
    with zipfile.ZipFile(wheel) as zf:
        for name in names:
            if not name.endswith(".py") or name.startswith("llmlab/course/"):
                continue
            tree = ast.parse(zf.read(name).decode("utf-8"))
            defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            imported = {n.module for n in ast.walk(tree)
                        if isinstance(n, ast.ImportFrom) and n.module}
            imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                         for a in n.names}
            assert len(defined & helpers) < 2, (name, defined & helpers)
            course = {m for m in imported if m.startswith(("llmlab.course", "llmlab.checks"))}
            assert not course, (name, course)


def test_no_jupyter_package_is_installed(venv):
    listed = _run([venv / "bin" / "python", "-c",
                   "import importlib.metadata as md, json; "
                   "print(json.dumps([d.metadata['Name'] for d in md.distributions()]))"],
                  timeout=120)
    dists = {d.lower().replace("_", "-") for d in json.loads(listed.stdout)}
    assert {"llmlab", "torch", "transformers", "scikit-learn"} <= dists, dists
    found = {d for d in dists if d in JUPYTER or d.startswith("jupyter")}
    assert not found, f"pip install llmlab brought {sorted(found)}"


def test_report_runs_from_the_installed_wheel(venv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MPLBACKEND="Agg")
    probe = _run([venv / "bin" / "python", "-c",
                  "import sys, llmlab; print(llmlab.__file__); "
                  "print(any(m.startswith('llmlab.course') for m in sys.modules))"],
                 timeout=300, env=env, cwd=tmp_path)
    where, course_imported = probe.stdout.split()
    assert Path(where).is_relative_to(venv), where  # the wheel's llmlab, not the checkout's
    assert course_imported == "False"
    # a sample of the test splits keeps it short; the code path is the full report's
    proc = _timed("llmlab report", lambda: _run(
        [venv / "bin" / "llmlab", "report", "--model", "tiny-llama", "--max-docs", "5",
         "--max-messages", "100", "--n-resamples", "199", "--quiet"],
        timeout=900, env=env, cwd=tmp_path))
    out = proc.stdout
    assert "Report card: tiny-llama (100 samples, positive class 'spam')" in out, out[-2000:]
    for row in ("perplexity", "bits_per_byte", "accuracy", "f1", "mcc", "roc_auc"):
        assert any(line.startswith(row + " ") for line in out.splitlines()), row
    print("timings (s):", TIMINGS)
