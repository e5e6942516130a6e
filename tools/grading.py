"""An nbgrader round trip in a throw-away course directory (used by the tests).

    root = CourseRoot.create(tmp_path, lessons=["00_loading"])
    root.generate("00_loading")                   # nbgrader generate_assignment (with gradebook)
    root.submit("alice", "00_loading", notebook)  # a NotebookNode as alice's submission
    run = root.autograde("00_loading", "alice")   # nbgrader autograde in a subprocess
    root.scores("00_loading", "alice")            # {grade_id: (score, max_score)}

``autograde`` measures the wall time and the peak resident memory of the grading process tree
(nbgrader and the kernel it starts), so the same run that proves a solution earns full marks
also proves it runs fast and small.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

# Runs `nbgrader autograde` in a child and reports the child's wall time and the peak RSS of
# every process it waited for (nbgrader and the kernel), from getrusage(RUSAGE_CHILDREN).
_RUNNER = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
elapsed = time.perf_counter() - t0
print(json.dumps({
    "returncode": proc.returncode,
    "seconds": elapsed,
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    "log": (proc.stdout + proc.stderr)[-20000:],
}))
"""


@dataclass
class GradingRun:
    lesson: str
    student: str
    returncode: int
    seconds: float
    peak_rss_bytes: int
    log: str


def _nbgrader():
    exe = Path(sys.executable).with_name("nbgrader")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "nbgrader"]


class CourseRoot:
    """A temporary nbgrader course directory built from the repository's sources."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def create(cls, path, *, solutions=ROOT / "solutions", lessons=None, timeout=None):
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = (ROOT / "nbgrader_config.py").read_text()
        config += "\nc.CourseDirectory.root = %r\n" % str(path)
        config += 'c.CourseDirectory.source_directory = "source"\n'
        config += 'c.CourseDirectory.release_directory = "release"\n'
        if timeout is not None:
            config += f"c.Execute.timeout = {int(timeout)}\n"
        (path / "nbgrader_config.py").write_text(config)
        src = path / "source"
        src.mkdir(exist_ok=True)
        for d in sorted(Path(solutions).iterdir()):
            if d.is_dir() and d.name[:2].isdigit() and (lessons is None or d.name in lessons):
                shutil.copytree(
                    d, src / d.name, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
                )
        return cls(path)

    def _env(self):
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        # nbgrader calls helper programs (alembic, jupyter) by name: use this venv's.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.pop("MPLBACKEND", None)  # notebooks use the inline backend
        return env

    def nbgrader(self, *args, check=True):
        return subprocess.run(
            _nbgrader() + list(args) + ["--log-level=INFO"],
            cwd=self.path,
            env=self._env(),
            capture_output=True,
            text=True,
            check=check,
        )

    def generate(self, lesson):
        self.nbgrader("db", "assignment", "add", lesson)
        self.nbgrader("generate_assignment", lesson, "--force")
        return self.release_notebook(lesson)

    def release_notebook(self, lesson) -> Path:
        return self.path / "release" / lesson / f"{lesson}.ipynb"

    def source_notebook(self, lesson) -> Path:
        return self.path / "source" / lesson / f"{lesson}.ipynb"

    def submit(self, student, lesson, notebook):
        """Place ``notebook`` (a NotebookNode or a path) as ``student``'s submission."""
        self.nbgrader("db", "student", "add", student)
        folder = self.path / "submitted" / student / lesson
        if folder.exists():
            shutil.rmtree(folder)
        # Files that ship with the lesson (data the notebook reads) come along.
        shutil.copytree(self.path / "release" / lesson, folder)
        if not isinstance(notebook, nbformat.NotebookNode):
            notebook = nbformat.read(str(notebook), as_version=4)
        nbformat.write(notebook, str(folder / f"{lesson}.ipynb"))
        (folder / "timestamp.txt").write_text("2026-11-27 12:00:00.000000 UTC")

    def autograde(self, lesson, student) -> GradingRun:
        cmd = _nbgrader() + ["autograde", lesson, "--student", student, "--force"]
        proc = subprocess.run(
            [sys.executable, "-c", _RUNNER] + cmd,
            cwd=self.path,
            env=self._env(),
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        return GradingRun(lesson, student, data["returncode"], data["seconds"],
                          data["peak_rss_bytes"], data["log"])

    def autograded_notebook(self, lesson, student):
        path = self.path / "autograded" / student / lesson / f"{lesson}.ipynb"
        return nbformat.read(str(path), as_version=4)

    def scores(self, lesson, student) -> dict:
        """``{grade_id: (score, max_score)}`` of the autograded cells from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.path / 'gradebook.db'}") as gb:
            nb = gb.find_submission_notebook(lesson, lesson, student)
            return {g.name: (g.score, g.max_score) for g in nb.grades}

    def export_csv(self) -> Path:
        out = self.path / "grades.csv"
        self.nbgrader("export", "--to", str(out))
        return out


def graded_cells(nb):
    """Grade cells of a notebook: ``[(index, grade_id, points, is_code_test)]``."""
    out = []
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            out.append((i, meta["grade_id"], float(meta.get("points", 0)),
                        cell.cell_type == "code" and not meta.get("solution")))
    return out


def answer_cells(nb):
    """Autograded answer cells (``solution: true`` code cells): ``[(index, grade_id)]``."""
    return [
        (i, c.metadata["nbgrader"]["grade_id"])
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")
        and not c.metadata["nbgrader"].get("grade")
    ]


def grade_cell_after(nb, answer_index):
    """The first autograded test cell after an answer cell: ``(index, grade_id, points)``."""
    for i, gid, points, is_test in graded_cells(nb):
        if i > answer_index and is_test:
            return i, gid, points
    raise LookupError(f"no test cell follows cell {answer_index}")


def error_cells(nb):
    """Indices of code cells whose outputs hold an error."""
    return [
        i for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))
    ]
