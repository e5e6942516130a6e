"""binder/: what repo2docker reads, a CPU-only torch, and every import the notebooks make."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def _requirements():
    reqs, options = [], []
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        (options if line.startswith("-") else reqs).append(line)
    return [Requirement(r) for r in reqs], options


def test_repo2docker_files_have_the_forms_it_reads():
    # repo2docker uses binder/ only: no environment.yml (it would win over requirements.txt),
    # runtime.txt "python-X.Y", executable postBuild and start scripts with a shebang.
    names = {p.name for p in BINDER.iterdir()}
    assert {"requirements.txt", "runtime.txt", "postBuild", "start"} <= names
    assert not names & {"environment.yml", "Pipfile", "Project.toml", "install.R", "apt.txt"}
    assert re.fullmatch(r"python-3\.1[0-3]\n?", (BINDER / "runtime.txt").read_text())
    for script in ("postBuild", "start"):
        path = BINDER / script
        assert path.stat().st_mode & 0o111, f"binder/{script} must be executable"
        assert path.read_text().startswith("#!/bin/bash")
    assert 'exec "$@"' in (BINDER / "start").read_text()


def test_torch_comes_from_the_cpu_only_index():
    reqs, options = _requirements()
    torch = [r for r in reqs if r.name == "torch"]
    assert len(torch) == 1 and str(torch[0].specifier).endswith("+cpu")
    assert any(o.startswith(("--extra-index-url", "--index-url")) and "whl/cpu" in o for o in options)
    assert not [r for r in reqs if r.name.startswith("nvidia") or "cuda" in r.name]
    pinned = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch_pin = next(Requirement(d) for d in pinned if Requirement(d).name == "torch")
    assert str(torch[0].specifier).split("+")[0] == str(torch_pin.specifier)


def test_binder_installs_every_runtime_and_course_dependency():
    # The library's dependencies and the [course] extra (JupyterLab, nbgrader), same versions.
    reqs, _ = _requirements()
    given = {r.name.lower(): r.specifier for r in reqs}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(d) for d in
              project["dependencies"] + project["optional-dependencies"]["course"]]
    missing = {r.name.lower() for r in wanted} - set(given)
    assert not missing, f"binder/requirements.txt lacks {missing}"
    differ = {r.name: (str(given[r.name.lower()]), str(r.specifier)) for r in wanted
              if r.name != "torch" and given[r.name.lower()] != r.specifier}
    assert not differ, f"binder/requirements.txt and pyproject.toml differ: {differ}"
    assert {"jupyterlab", "nbgrader"} <= {Requirement(d).name for d in
                                          project["optional-dependencies"]["course"]}
    assert "pip install --no-deps" in (BINDER / "postBuild").read_text()


def _notebook_imports():
    mods = set()
    for path in list(ROOT.glob("solutions/*/*.ipynb")) + list(ROOT.glob("course/*/*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type != "code":
                continue
            src = "\n".join(
                ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!"))
            )
            try:
                tree = ast.parse(src)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    mods |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    mods.add(node.module.split(".")[0])
    return mods


def test_every_package_the_notebooks_import_is_installed_by_binder():
    mods = _notebook_imports()
    if not mods:
        pytest.skip("no notebooks yet")
    reqs, _ = _requirements()
    installed = {r.name.lower().replace("_", "-") for r in reqs}
    # Everything these distributions pull in is installed too.
    closure, todo = set(installed), list(installed)
    while todo:
        name = todo.pop()
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for spec in requires:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            dep = req.name.lower().replace("_", "-")
            if dep not in closure:
                closure.add(dep)
                todo.append(dep)
    dists = md.packages_distributions()
    unknown = []
    for mod in sorted(mods):
        if mod in sys.stdlib_module_names or mod == "llmlab":
            continue
        owners = {d.lower().replace("_", "-") for d in dists.get(mod, [])}
        if not owners & closure:
            unknown.append((mod, owners))
    assert not unknown, f"imported by notebooks but not installed by binder/: {unknown}"


def test_postbuild_keeps_validate_and_disables_instructor_extensions():
    text = (BINDER / "postBuild").read_text()
    for ext in ("nbgrader:formgrader", "nbgrader:create-assignment", "nbgrader:course-list"):
        assert ext in text
    commands = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    assert "validate" not in commands.lower()  # the Validate button and its server side stay on
    for ext in ("formgrader", "course_list", "assignment_list"):
        assert f"nbgrader.server_extensions.{ext}" in text


@pytest.mark.skipif(shutil.which("repo2docker") is None and not
                    (Path(sys.executable).parent / "repo2docker").exists(),
                    reason="jupyter-repo2docker is not installed")
def test_repo2docker_plans_a_build_from_these_files(tmp_path):
    # repo2docker --no-build writes the Dockerfile it would build: check that it reads our
    # runtime, requirements, postBuild and start (no Docker needed).
    src = tmp_path / "repo"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv", ".git", "artifacts", "__pycache__", "*.egg-info", "models", "data"))
    exe = Path(sys.executable).parent / "repo2docker"
    proc = subprocess.run(
        [str(exe), "--no-build", "--debug", "--user-id", "1000", "--user-name", "jovyan", str(src)],
        capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "python=3.11" in out
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in out
    assert "./binder/postBuild" in out
    assert 'R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in out
