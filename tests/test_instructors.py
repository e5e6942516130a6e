"""INSTRUCTORS.md, run as written: a term of one lesson with two fake students.

The test reads the fenced blocks marked ``<!-- term: setup|instructor|student -->`` and runs
their commands in order in a throw-away course directory and exchange. Its two students share
one login, so it adds ``--student NAME`` to their ``submit`` and ``fetch_feedback`` commands
and gives each their own Jupyter data folder (nbgrader's submission cache). They work at the
same time, each in their own home.
alice answers every exercise (the answers are taken from solutions/), bob hands in the
untouched copy. The exported CSV must give alice full marks and bob zero.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tools.grading import (  # the repository's tools/ (on sys.path: conftest.py)
    answer_like_the_solution,
    share_of_cores,
)

ROOT = Path(__file__).resolve().parents[1]
LESSON = "00_loading"
SOLUTION = ROOT / "solutions" / LESSON / f"{LESSON}.ipynb"

pytestmark = [
    pytest.mark.slow,
]


def term_blocks():
    text = (ROOT / "INSTRUCTORS.md").read_text()
    blocks = re.findall(r"<!-- term: (\w+) -->\s*```bash\n(.*?)```", text, re.S)
    out = []
    for kind, body in blocks:
        lines = [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        out.append((kind, lines))
    return out


def test_doc_has_the_whole_workflow():
    commands = " ".join(ln for _, lines in term_blocks() for ln in lines)
    assert "python tools/grading.py integrity --course-dir" in commands
    for step in ("generate_assignment", "release_assignment", "fetch_assignment", "validate",
                 "submit", "collect", "autograde", "generate_feedback", "release_feedback",
                 "fetch_feedback", "export"):
        assert f"nbgrader {step}" in commands, step
    text = (ROOT / "INSTRUCTORS.md").read_text().lower()
    assert "container" in text and "unprivileged" in text and "formgrader" in text


def _run(line, cwd, env):
    proc = subprocess.run(["bash", "-c", "set -euo pipefail; " + line], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"`{line}` failed in {cwd}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def test_a_term_as_the_instructors_guide_says(tmp_path):
    course = tmp_path / "course_dir"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions", course / "solutions")
    shutil.copytree(ROOT / "tools", course / "tools",
                    ignore=shutil.ignore_patterns("__pycache__"))  # the repository's tools
    env = {
        **os.environ,
        "EXCHANGE": str(tmp_path / "exchange"),
        "HF_HUB_OFFLINE": "1",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    env.pop("MPLBACKEND", None)
    students = {"alice": tmp_path / "alice", "bob": tmp_path / "bob"}
    for home in students.values():
        home.mkdir()
    validated = {}
    integrity = None

    def student_block(name, lines):
        """One student's commands of a block, in order, in their own home."""
        home = students[name]
        # Their own Jupyter data folder, as with a login of their own: nbgrader submit keeps
        # its cache there (fetch_feedback reads it back), and two submits creating one shared
        # cache folder at the same time would race.
        own_env = {**env, "JUPYTER_DATA_DIR": str(home / ".local" / "share" / "jupyter")}
        # Side by side, each student's kernels get their share of the cores (torch starts one
        # thread per core in every process; two such kernels fight and each runs 2-3x slower).
        own_env["OMP_NUM_THREADS"] = str(share_of_cores(len(students)))
        for line in lines:
            cmd = line
            if re.search(r"nbgrader (submit|fetch_feedback)\b", line):
                cmd += f" --student {name}"
            out = _run(cmd, home, own_env)
            if "fetch_assignment" in line and name == "alice":
                answer_like_the_solution(home / LESSON / f"{LESSON}.ipynb", SOLUTION)
            if "nbgrader validate" in line:
                validated[name] = out

    for kind, lines in term_blocks():
        if kind == "student":
            # The students work at the same time, each in their own home (as a class does):
            # each one's block runs in its own thread; the instructor waits for both.
            with ThreadPoolExecutor(max_workers=len(students)) as pool:
                for future in [pool.submit(student_block, name, lines) for name in students]:
                    future.result()
            continue
        for line in lines:
            out = _run(line, course, env)
            if "grading.py integrity" in line:
                integrity = out
    assert "Success! Your notebook passes all the tests." in validated["alice"]
    assert "VALIDATION FAILED" in validated["bob"] or "failed" in validated["bob"].lower()
    # alice's answers and bob's untouched copy are both clean: the check prints nothing.
    assert integrity == "", integrity
    for name, home in students.items():
        feedback = list((home / LESSON / "feedback").rglob("*.html"))
        assert feedback, f"{name} got no feedback"
    with open(course / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == LESSON}
    assert set(rows) == {"alice", "bob"}
    assert float(rows["alice"]["max_score"]) > 0
    assert float(rows["alice"]["score"]) == float(rows["alice"]["max_score"])
    assert float(rows["bob"]["score"]) == 0.0
    (ROOT / "artifacts").mkdir(exist_ok=True)
    shutil.copy(course / "grades.csv", ROOT / "artifacts" / "grades.csv")
