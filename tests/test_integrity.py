"""`python tools/grading.py integrity`: submissions read without running them.

A throw-away course directory gets, for every lesson, the solution notebook (student
``perfect``), the untouched learner copy (``blank``) and every adversarial submission that
tests/test_course.py grades (built from that lesson's solution by tools/grading.py). The
command must print exactly one line for each adversarial submission, naming what it did, and
nothing for the others. Nothing is executed, so this runs in seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import course as course_tool  # noqa: E402
from tools.grading import adversarial_submissions  # noqa: E402
from tools.integrity import check_notebook  # noqa: E402

LESSONS = course_tool.lessons()
# The lessons in order: a missing one fails here rather
# than turning every lesson test into a silent pass.
EXPECTED_PREFIXES = [f"{n:02d}_" for n in range(8)]


def test_the_course_has_its_lessons():
    prefixes = [lesson[:3] for lesson in LESSONS]
    assert prefixes[: len(EXPECTED_PREFIXES)] == EXPECTED_PREFIXES, LESSONS


def _read(path):
    return nbformat.read(str(path), as_version=4)


def _submit(course_dir, student, lesson, nb):
    folder = course_dir / "submitted" / student / lesson
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / f"{lesson}.ipynb"))


def _integrity(course_dir, *args):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "grading.py"), "integrity",
         "--course-dir", str(course_dir), *args],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    """A course directory laid out as nbgrader's (release folder `course/`, from the repo's
    nbgrader_config.py), with every student's submissions; ``{(student, lesson): reason}`` of
    the adversarial ones."""
    root = tmp_path_factory.mktemp("integrity")
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(ROOT / "course", root / "course",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    expected = {}
    for lesson in LESSONS:
        solution = _read(ROOT / "solutions" / lesson / f"{lesson}.ipynb")
        release = _read(ROOT / "course" / lesson / f"{lesson}.ipynb")
        _submit(root, "perfect", lesson, solution)
        _submit(root, "blank", lesson, release)
        for student, (nb, _, reason) in adversarial_submissions(solution, release).items():
            _submit(root, student, lesson, nb)
            expected[student, lesson] = reason
    return root, expected


def _parse(out):
    found = {}
    for line in out.splitlines():
        student, assignment, reason = line.split(" ", 2)
        assert (student, assignment) not in found, f"two lines for {student} {assignment}"
        found[student, assignment] = reason
    return found


def test_flags_every_adversarial_submission_and_nothing_else(course_dir):
    root, expected = course_dir
    out = _integrity(root)
    print(out)
    found = _parse(out)
    assert set(found) == set(expected), (
        f"missed: {sorted(set(expected) - set(found))}; "
        f"flagged but clean: {sorted(set(found) - set(expected))}")
    for key, reason in expected.items():
        assert reason in found[key], (key, found[key])
    assert not [k for k in found if k[0] in ("perfect", "blank")]


def test_one_assignment_only(course_dir):
    root, expected = course_dir
    found = _parse(_integrity(root, LESSONS[-1]))
    assert found and {a for _, a in found} == {LESSONS[-1]}
    assert set(found) == {k for k in expected if k[1] == LESSONS[-1]}


def test_clean_course_prints_nothing(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    lesson = LESSONS[0]
    _submit(tmp_path, "alice", lesson, _read(ROOT / "solutions" / lesson / f"{lesson}.ipynb"))
    _submit(tmp_path, "bob", lesson, _read(ROOT / "course" / lesson / f"{lesson}.ipynb"))
    assert _integrity(tmp_path) == ""


def _nb(*sources):
    return {"cells": [{"cell_type": "code", "source": s, "metadata": {}} for s in sources]}


@pytest.mark.parametrize("source", [
    "total = sum(x for x in [1, 2])\nsum_ = 0",
    'texts, labels = load_spam("test")\nsplit = "source"',
    "import numpy as np\na = np.zeros(3)\na[0] = 1\nnp.random.default_rng(0)",
    "%time x = 1\n!ls\nfrom llmlab import metrics\nr = metrics.f1_score([1], [1])",
    "class Counter:\n    def __init__(self):\n        self.n = 0\n    def __len__(self):\n        return self.n",
    "while True:\n    break",
])
def test_ordinary_code_is_not_flagged(source):
    assert check_notebook(_nb(source)) == []


@pytest.mark.parametrize("source,reason", [
    ("str = bytes", "rebinds the built-in `str`"),
    ("def isinstance(a, b):\n    return True", "rebinds the built-in `isinstance`"),
    ("from llmlab.course import checks\nchecks.check_choice = print",
     "assigns into `llmlab.course.checks`"),
    ("import numpy as np\nnp.isclose = lambda *a: True", "assigns into `numpy`"),
    ("import builtins\nsetattr(builtins, 'len', None)", "assigns into `builtins`"),
    ("import sys\ndel sys.modules['math']", "deletes into `sys.modules`"),
    ("X = type('X', (str,), {'__eq__': lambda s, o: True})", "defines `__eq__`"),
    ("open('/course/source/00_loading/00_loading.ipynb').read()", "reads course files"),
    ("import sys\nv = sys._getframe(1).f_locals", "frames"),
    ("eval('1')", "calls `eval`"),
    ("import nbformat", "imports `nbformat`"),
])
def test_cheats_are_flagged(source, reason):
    reasons = check_notebook(_nb(source))
    assert any(reason in r for r in reasons), reasons


def test_names_kept_for_the_tests_are_protected():
    locked = {"cell_type": "code", "source": "_l06_ref = {'n': 3}",
              "metadata": {"nbgrader": {"grade_id": "keep", "locked": True}}}
    answer = {"cell_type": "code", "source": "_l06_ref = {'n': 0}\n_tmp = 1",
              "metadata": {"nbgrader": {"grade_id": "ans", "solution": True}}}
    released = {"cells": [locked, {**answer, "source": "raise NotImplementedError()"}]}
    reasons = check_notebook({"cells": [locked, answer]}, released)
    assert reasons == ["rebinds `_l06_ref`, which a locked cell keeps for the tests"]
