"""The course as nbgrader sees it: generation, leaks, and a full grading round trip.

One throw-away course directory is built for the session: every lesson in solutions/ is
generated with nbgrader (with its gradebook), then graded for these students:

* ``perfect``: the solution notebooks themselves. Full marks on every autograded cell, no
  error in any cell, each lesson graded in well under a minute and 1 GB (nbgrader's process
  tree, kernel included, measured by the grading helper);
* ``blank``: the untouched learner copies. Zero on every exercise and question;
* adversarial submissions of one lesson (a syntax error, an infinite loop, deleted and edited
  test cells, monkey-patched check helpers and builtins, a huge output). Each is graded
  without crashing the run and gets exactly the points it deserves, and the other students'
  grades stay as they were.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import course as course_tool  # noqa: E402
from tools.grading import (  # noqa: E402
    CourseRoot,
    answer_cells,
    error_cells,
    graded_cells,
    grade_cell_after,
)

SOLUTIONS = Path(os.environ.get("LLMLAB_COURSE_SOLUTIONS", ROOT / "solutions"))
COURSE = Path(os.environ.get("LLMLAB_COURSE_RELEASE", ROOT / "course"))
LESSONS = course_tool.lessons(SOLUTIONS)
ADVERSARIAL_LESSON = LESSONS[0] if LESSONS else None
GRADING_TIMEOUT = 60  # seconds per cell while grading the solutions and the learner copies
ADVERSARIAL_TIMEOUT = 30  # per cell for the adversarial students: the infinite loop costs this
MAX_SECONDS = 60
MAX_PEAK_BYTES = 1024**3
RESULTS = ROOT / "artifacts" / "grading.json"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LESSONS, reason="no lessons in solutions/ yet"),
]


def _read(path):
    return nbformat.read(str(path), as_version=4)


def _nbg(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


# --- generation and leaks ------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("course")
    course_tool.generate(out, SOLUTIONS)
    return out


def test_course_folder_has_every_lesson():
    assert sorted(p.name for p in COURSE.iterdir() if p.is_dir()) == LESSONS


@pytest.mark.parametrize("lesson", LESSONS)
def test_course_is_exactly_what_generation_produces(generated, lesson):
    fresh = _read(generated / lesson / f"{lesson}.ipynb")
    committed = _read(COURSE / lesson / f"{lesson}.ipynb")
    assert len(fresh.cells) == len(committed.cells), "run `make course` to regenerate course/"
    for i, (a, b) in enumerate(zip(fresh.cells, committed.cells)):
        assert a.cell_type == b.cell_type, f"cell {i}: run `make course`"
        assert a.source == b.source, f"cell {i} differs from generation: run `make course`"
        assert _nbg(a) == _nbg(b), f"cell {i}: nbgrader metadata differs: run `make course`"
    extra = {p.name for p in (COURSE / lesson).iterdir()} ^ {
        p.name for p in (generated / lesson).iterdir()
    }
    assert not extra, f"files differ between course/{lesson} and generation: {extra}"


def _protected_lines(nb):
    """Lines inside solution regions and hidden tests that appear nowhere else in ``nb``."""
    inside, outside = set(), set()
    for cell in nb.cells:
        state = None
        for line in cell.source.splitlines():
            s = line.strip()
            if s in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
                state = s
                continue
            if s in ("### END SOLUTION", "### END HIDDEN TESTS"):
                state = None
                continue
            (inside if state else outside).add(s)
    return {s for s in inside - outside if len(s) >= 8 and not s.startswith("#")}


@pytest.mark.parametrize("lesson", LESSONS)
def test_no_solution_or_hidden_test_in_course(lesson):
    source = _read(SOLUTIONS / lesson / f"{lesson}.ipynb")
    protected = _protected_lines(source)
    assert protected, "the lesson has no solution or hidden test to protect?"
    for path in (COURSE / lesson).rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{path}: {marker!r} leaked into course/"
        if path.suffix == ".ipynb":
            lines = {ln.strip() for c in _read(path).cells for ln in c.source.splitlines()}
            leaked = protected & lines
            assert not leaked, f"{path}: solution/hidden-test lines leaked: {sorted(leaked)[:5]}"
    # The keys of the multiple-choice questions, and their explanations, stay hidden everywhere.
    keys = {m.strip() for c in source.cells for m in re.findall(r"#\s*Key:[^\n]*", c.source)}
    course_text = "".join(p.read_text(errors="replace") for p in COURSE.rglob("*.ipynb"))
    assert not [k for k in keys if k in course_text]


def test_course_notebooks_have_no_outputs():
    for path in COURSE.rglob("*.ipynb"):
        for cell in _read(path).cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path


def test_solution_notebooks_have_no_outputs():
    for lesson in LESSONS:
        for cell in _read(SOLUTIONS / lesson / f"{lesson}.ipynb").cells:
            if cell.cell_type == "code":
                assert not cell.outputs, f"{lesson}: store solutions without outputs"


@pytest.mark.parametrize("lesson", LESSONS)
def test_grade_ids_unique_and_described(lesson):
    nb = _read(SOLUTIONS / lesson / f"{lesson}.ipynb")
    ids = [_nbg(c)["grade_id"] for c in nb.cells if _nbg(c).get("grade_id")]
    assert len(ids) == len(set(ids)), "duplicate grade ids"
    assert all(not re.fullmatch(r"cell-[0-9a-f]+", i) for i in ids), "use descriptive grade ids"
    tests = [g for g in graded_cells(nb) if g[3]]
    assert tests, "a lesson needs autograded tests"
    assert all(points > 0 for _, _, points, _ in tests)


# --- the grading round trip -----------------------------------------------------------------


def _manually_graded(nb):
    """grade_ids of answers a person grades (nbgrader: solution and grade both set)."""
    return {_nbg(c)["grade_id"] for c in nb.cells if _nbg(c).get("solution") and _nbg(c).get("grade")}


def _wrong_choice_source(source):
    """Replace ``answer_x = "B"`` by ``answer_x = "Z"`` in an answer cell; None if not an MCQ."""
    m = re.search(r"^(answer_\w+)\s*=\s*['\"][A-Za-z]['\"]", source, re.M)
    return f'{m.group(1)} = "Z"\n' if m else None


def _adversarial_submissions(solution, release):
    """``{student: (notebook, {grade_id: expected score})}`` for the adversarial students."""
    full = {gid: points for _, gid, points, is_test in graded_cells(solution) if is_test}
    answers = answer_cells(solution)
    exercise = next(
        (i, gid) for i, gid in answers if _wrong_choice_source(solution.cells[i].source) is None
    )
    ex_i = exercise[0]
    ex_test_i, ex_test_id, _ = grade_cell_after(solution, ex_i)
    release_by_id = {_nbg(c).get("grade_id"): c for c in release.cells}
    mcqs = [(i, gid) for i, gid in answers if _wrong_choice_source(solution.cells[i].source)]
    subs = {}

    nb = copy.deepcopy(solution)
    nb.cells[ex_i].source = release_by_id[exercise[1]].source + "\ndef broken(:\n    pass\n"
    subs["syntax_error"] = (nb, {**full, ex_test_id: 0.0})

    nb = copy.deepcopy(solution)
    nb.cells[ex_i].source = "while True:\n    pass\n"
    subs["infinite_loop"] = (nb, {**full, ex_test_id: 0.0})

    nb = copy.deepcopy(solution)
    nb.cells[ex_i].source = release_by_id[exercise[1]].source  # unanswered...
    nb.cells[ex_test_i].source = "pass  # tests edited away\n"  # ...with its test gutted
    subs["edited_test_cell"] = (nb, {**full, ex_test_id: 0.0})

    nb = copy.deepcopy(solution)
    nb.cells[ex_i].source = release_by_id[exercise[1]].source
    del nb.cells[ex_test_i]  # unanswered, and its test deleted
    subs["deleted_test_cell"] = (nb, {**full, ex_test_id: 0.0})

    if mcqs:
        q_i, _ = mcqs[0]
        q_test_i, q_test_id, _ = grade_cell_after(solution, q_i)
        nb = copy.deepcopy(solution)
        nb.cells[q_i].source = _wrong_choice_source(solution.cells[q_i].source)
        del nb.cells[q_test_i]  # a wrong answer, and the grade cell that would catch it deleted
        subs["deleted_grade_cell"] = (nb, {**full, q_test_id: 0.0})

        nb = copy.deepcopy(solution)
        patch = (
            "import builtins, llmlab.checks\n"
            "for _name in llmlab.checks.__all__:\n"
            "    setattr(llmlab.checks, _name, lambda *a, **k: True)\n"
            "builtins.AssertionError = type('AssertionError', (Exception,), {})\n"
            "import sys\n"
            "sys.excepthook = lambda *a: None\n"
            "get_ipython().showtraceback = lambda *a, **k: None\n"
        )
        nb.cells[ex_i].source = patch + solution.cells[ex_i].source
        expected = dict(full)
        for i, _ in mcqs:
            nb.cells[i].source = _wrong_choice_source(solution.cells[i].source)
            expected[grade_cell_after(solution, i)[1]] = 0.0
        subs["monkeypatch"] = (nb, expected)

    nb = copy.deepcopy(solution)
    nb.cells[ex_i].source = (
        "for _k in range(200_000):\n    print('spam ' * 20)\n" + solution.cells[ex_i].source
    )
    subs["huge_output"] = (nb, dict(full))
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = CourseRoot.create(
        tmp_path_factory.mktemp("nbgrader"), solutions=SOLUTIONS, timeout=GRADING_TIMEOUT
    )
    runs = {}
    expected = {}
    for lesson in LESSONS:
        release = root.generate(lesson)
        root.submit("perfect", lesson, root.source_notebook(lesson))
        root.submit("blank", lesson, release)
    for lesson in LESSONS:
        for student in ("perfect", "blank"):
            runs[lesson, student] = root.autograde(lesson, student)
    scores = {key: root.scores(*key) for key in runs}
    # The adversarial students share a second course directory (a shorter cell timeout), and
    # the first course's grades are read again afterwards to show they were left alone.
    adv = CourseRoot.create(
        tmp_path_factory.mktemp("nbgrader_adversarial"),
        solutions=SOLUTIONS, lessons=[ADVERSARIAL_LESSON], timeout=ADVERSARIAL_TIMEOUT,
    )
    release = _read(adv.generate(ADVERSARIAL_LESSON))
    solution = _read(adv.source_notebook(ADVERSARIAL_LESSON))
    adv.submit("perfect", ADVERSARIAL_LESSON, adv.source_notebook(ADVERSARIAL_LESSON))
    adv_runs = {}
    for student, (nb, exp) in _adversarial_submissions(solution, release).items():
        adv.submit(student, ADVERSARIAL_LESSON, nb)
        adv_runs[ADVERSARIAL_LESSON, student] = adv.autograde(ADVERSARIAL_LESSON, student)
        expected[student] = exp
    adv_runs[ADVERSARIAL_LESSON, "perfect"] = adv.autograde(ADVERSARIAL_LESSON, "perfect")
    adv_scores = {key: adv.scores(*key) for key in adv_runs}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        f"{lesson}/{student}": {
            "seconds": round(run.seconds, 1),
            "peak_rss_mib": round(run.peak_rss_bytes / 2**20),
            "score": sum(s for s, _ in scores[lesson, student].values()),
            "max_score": sum(m for _, m in scores[lesson, student].values()),
        }
        for (lesson, student), run in runs.items()
    } | {
        f"{lesson}/adversarial/{student}": {
            "seconds": round(run.seconds, 1),
            "score": sum(s for s, _ in adv_scores[lesson, student].values()),
            "max_score": sum(m for _, m in adv_scores[lesson, student].values()),
        }
        for (lesson, student), run in adv_runs.items()
    }, indent=1))
    return root, runs, scores, expected, adv, adv_runs, adv_scores


@pytest.mark.parametrize("lesson", LESSONS)
def test_solutions_score_full_marks_fast_and_small(graded, lesson):
    root, runs, scores = graded[:3]
    run = runs[lesson, "perfect"]
    assert run.returncode == 0, run.log[-3000:]
    manual = _manually_graded(_read(SOLUTIONS / lesson / f"{lesson}.ipynb"))
    got = scores[lesson, "perfect"]
    assert set(got) - manual, "no autograded cell was graded"
    # Written answers wait for a person in formgrader: they count as 0 until graded.
    lost = {gid: s for gid, s in got.items() if s[0] != s[1] and gid not in manual}
    assert not lost, f"solution lost points: {lost}\n{run.log[-3000:]}"
    nb = root.autograded_notebook(lesson, "perfect")
    assert not error_cells(nb), f"cells with errors: {error_cells(nb)}"
    print(f"{lesson}: graded in {run.seconds:.1f} s, peak {run.peak_rss_bytes / 2**20:.0f} MiB")
    assert run.seconds < MAX_SECONDS, f"{lesson} took {run.seconds:.1f} s to grade"
    assert run.peak_rss_bytes < MAX_PEAK_BYTES, f"{lesson} peaked at {run.peak_rss_bytes} bytes"


@pytest.mark.parametrize("lesson", LESSONS)
def test_untouched_learner_copy_scores_zero(graded, lesson):
    _, runs, scores = graded[:3]
    assert runs[lesson, "blank"].returncode == 0, runs[lesson, "blank"].log[-3000:]
    got = scores[lesson, "blank"]
    assert got and all(score == 0 for score, _ in got.values()), got


ADVERSARIAL = [
    "syntax_error", "infinite_loop", "edited_test_cell", "deleted_test_cell",
    "deleted_grade_cell", "monkeypatch", "huge_output",
]


@pytest.mark.parametrize("student", ADVERSARIAL)
def test_adversarial_submission_gets_what_it_deserves(graded, student):
    expected, adv, runs, scores = graded[3:]
    if student not in expected:
        pytest.skip(f"{ADVERSARIAL_LESSON} has no multiple-choice question for this case")
    run = runs[ADVERSARIAL_LESSON, student]
    assert run.returncode == 0, run.log[-3000:]
    got = {gid: score for gid, (score, _) in scores[ADVERSARIAL_LESSON, student].items()}
    assert got == expected[student]
    if student == "huge_output":
        nb = adv.autograded_notebook(ADVERSARIAL_LESSON, student)
        size = sum(len(json.dumps(c.get("outputs", []))) for c in nb.cells)
        assert size < 1_000_000, f"the huge output was kept ({size} bytes)"


def test_other_students_intact_after_adversarial_runs(graded):
    root, _, scores, _, adv, adv_runs, adv_scores = graded
    for lesson in LESSONS:
        for student in ("perfect", "blank"):
            assert root.scores(lesson, student) == scores[lesson, student]
    # The perfect student graded last, after every adversarial one in the same gradebook.
    assert adv_runs[ADVERSARIAL_LESSON, "perfect"].returncode == 0
    perfect = adv.scores(ADVERSARIAL_LESSON, "perfect")
    assert all(s == m for s, m in perfect.values()), perfect
    for student in ADVERSARIAL:
        if (ADVERSARIAL_LESSON, student) in adv_scores:
            assert adv.scores(ADVERSARIAL_LESSON, student) == adv_scores[ADVERSARIAL_LESSON, student]
