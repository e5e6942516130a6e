"""The course as nbgrader sees it: generation, leaks, and a full grading round trip.

One throw-away course directory is built for the session: every lesson in solutions/ is
generated with nbgrader (with its gradebook), then graded for these students:

* ``perfect``: the solution notebooks themselves. Full marks on every autograded cell, no
  error in any cell, each lesson graded in well under a minute and 1 GB (nbgrader's process
  tree, kernel included, measured by the grading helper);
* ``blank``: the untouched learner copies. Zero on every exercise and question;
* adversarial submissions of one lesson, built by ``tools.grading.adversarial_submissions``
  (a syntax error, an infinite loop, deleted and edited test cells, monkey-patched check
  helpers, builtins and modules, answers that fake ``==`` or their class, a huge output).
  Each is graded without crashing the run and gets exactly the points it deserves, and the
  other students' grades stay as they were. (tests/test_integrity.py shows the integrity
  check reports every one of them.)

The course is generated once per test session (``nbgrader_course``), and both the comparison
with the committed ``course/`` and the grading use that one generation. Editor litter in
``course/`` (``.ipynb_checkpoints``, ``__pycache__``) is ignored.
"""

from __future__ import annotations

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
    adversarial_submissions,
    error_cells,
    graded_cells,
    share_of_cores,
)

SOLUTIONS = Path(os.environ.get("LLMLAB_COURSE_SOLUTIONS", ROOT / "solutions"))
COURSE = Path(os.environ.get("LLMLAB_COURSE_RELEASE", ROOT / "course"))
LESSONS = course_tool.lessons(SOLUTIONS)
ADVERSARIAL_LESSON = LESSONS[0] if LESSONS else None
GRADING_TIMEOUT = 60  # seconds per cell while grading the solutions and the learner copies
ADVERSARIAL_TIMEOUT = 15  # per cell for the adversarial students: the infinite loop costs this
MAX_SECONDS = 60
COURSE_BUDGET_SECONDS = 180  # the whole course, every lesson run once in a fresh kernel
MAX_PEAK_BYTES = 1024**3
RESULTS = ROOT / "artifacts" / "grading.json"

pytestmark = [
    pytest.mark.slow,
    # the gradings are timed: no other test runs beside this file's (tests/conftest.py)
    pytest.mark.alone,
]


def _read(path):
    return nbformat.read(str(path), as_version=4)


def _nbg(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


LITTER = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


def _files(folder):
    """Files under ``folder``, editor and Python litter left out."""
    return [p for p in Path(folder).rglob("*")
            if p.is_file() and not LITTER & set(p.relative_to(folder).parts)]


# --- generation and leaks ------------------------------------------------------------------


@pytest.fixture(scope="session")
def nbgrader_course(tmp_path_factory):
    """One nbgrader course directory for the session: every lesson generated once (with its
    gradebook), shared by the comparison with course/ and by the grading round trip."""
    root = CourseRoot.create(
        tmp_path_factory.mktemp("nbgrader"), solutions=SOLUTIONS, timeout=GRADING_TIMEOUT
    )
    generated = root.generate_all()  # one nbgrader process for every lesson
    assert [p.parent.name for p in generated if p.exists()] == LESSONS
    return root


@pytest.fixture(scope="session")
def generated(nbgrader_course):
    return nbgrader_course.path / "release"


def test_course_folder_has_every_lesson():
    found = sorted(p.name for p in COURSE.iterdir() if p.is_dir() and p.name not in LITTER)
    assert found == LESSONS


@pytest.mark.parametrize("lesson", LESSONS)
def test_course_is_exactly_what_generation_produces(generated, lesson):
    fresh = _read(generated / lesson / f"{lesson}.ipynb")
    committed = _read(COURSE / lesson / f"{lesson}.ipynb")
    assert len(fresh.cells) == len(committed.cells), "run `make course` to regenerate course/"
    for i, (a, b) in enumerate(zip(fresh.cells, committed.cells)):
        assert a.cell_type == b.cell_type, f"cell {i}: run `make course`"
        assert a.source == b.source, f"cell {i} differs from generation: run `make course`"
        assert _nbg(a) == _nbg(b), f"cell {i}: nbgrader metadata differs: run `make course`"
    extra = {p.relative_to(COURSE / lesson) for p in _files(COURSE / lesson)} ^ {
        p.relative_to(generated / lesson) for p in _files(generated / lesson)
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
    for path in _files(COURSE / lesson):
        text = path.read_text(errors="replace")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{path}: {marker!r} leaked into course/"
        if path.suffix == ".ipynb":
            lines = {ln.strip() for c in _read(path).cells for ln in c.source.splitlines()}
            leaked = protected & lines
            assert not leaked, f"{path}: solution/hidden-test lines leaked: {sorted(leaked)[:5]}"
    # The keys of the multiple-choice questions, and their explanations, stay hidden everywhere.
    keys = {m.strip() for c in source.cells for m in re.findall(r"#\s*Key:[^\n]*", c.source)}
    course_text = "".join(p.read_text(errors="replace") for p in _files(COURSE)
                          if p.suffix == ".ipynb")
    assert not [k for k in keys if k in course_text]


def test_course_notebooks_have_no_outputs():
    for path in (p for p in _files(COURSE) if p.suffix == ".ipynb"):
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


# Adversarial students that are graded (the others only show the integrity check at work, in
# tests/test_integrity.py: their scores would be the solution's).
ADVERSARIAL = [
    "syntax_error", "infinite_loop", "edited_test_cell", "deleted_test_cell",
    "deleted_grade_cell", "monkeypatch", "module_patch", "fake_equality", "spoofed_class",
    "huge_output",
]


# The fixture below grades the blank copies and the adversarial students two at a time (two
# nbgrader processes, each with its kernel) once the perfect runs are done. The perfect runs
# are the ones timed against MAX_SECONDS and COURSE_BUDGET_SECONDS, so they run first, one
# after the other, with no other grading and no other test of this session beside them. LLMLAB_GRADING_WORKERS=1
# grades everything one after the other.
GRADING_WORKERS = max(1, int(os.environ.get("LLMLAB_GRADING_WORKERS",
                                            min(2, os.cpu_count() or 1))))
# Side by side, each kernel gets its share of the cores (torch's default is one thread per core
# in every process: two kernels then fight over the cores and each runs 2-3x slower).
SIDE_BY_SIDE_THREADS = share_of_cores(GRADING_WORKERS)


@pytest.fixture(scope="module")
def graded(nbgrader_course, tmp_path_factory):
    from concurrent.futures import ThreadPoolExecutor

    root = nbgrader_course
    runs = {}
    expected = {}
    for lesson in LESSONS:
        root.submit("perfect", lesson, root.source_notebook(lesson))
        root.submit("blank", lesson, root.release_notebook(lesson))
    # 1. The timed runs: every solution notebook, alone. Their grades are read at once, before
    # anything else is graded.
    for lesson in LESSONS:
        runs[lesson, "perfect"] = root.autograde(lesson, "perfect")
    scores = {key: root.scores(*key) for key in runs}
    # 2. The untouched learner copies (this course directory) and the adversarial students (a
    # second course directory, with its own gradebook and a shorter cell timeout) side by side.
    # Afterwards the first course's grades are read again to show they were left alone.
    adv = CourseRoot.create(
        tmp_path_factory.mktemp("nbgrader_adversarial"),
        solutions=SOLUTIONS, lessons=[ADVERSARIAL_LESSON], timeout=ADVERSARIAL_TIMEOUT,
    )

    def blank_runs():
        out = {}
        for lesson in LESSONS:  # each grade read as soon as it is given
            out[lesson, "blank"] = root.autograde(lesson, "blank", threads=SIDE_BY_SIDE_THREADS)
            scores[lesson, "blank"] = root.scores(lesson, "blank")
        return out

    def adversarial_runs():
        release = _read(adv.generate(ADVERSARIAL_LESSON))
        solution = _read(adv.source_notebook(ADVERSARIAL_LESSON))
        adv.submit("perfect", ADVERSARIAL_LESSON, adv.source_notebook(ADVERSARIAL_LESSON))
        adv_runs = {}
        for student, (nb, exp, _) in adversarial_submissions(solution, release).items():
            if student not in ADVERSARIAL:
                continue
            adv.submit(student, ADVERSARIAL_LESSON, nb)
            adv_runs[ADVERSARIAL_LESSON, student] = adv.autograde(
                ADVERSARIAL_LESSON, student, threads=SIDE_BY_SIDE_THREADS)
            expected[student] = exp
        # The perfect student graded last, after every adversarial one in the same gradebook.
        adv_runs[ADVERSARIAL_LESSON, "perfect"] = adv.autograde(
            ADVERSARIAL_LESSON, "perfect", threads=SIDE_BY_SIDE_THREADS)
        return adv_runs

    with ThreadPoolExecutor(max_workers=GRADING_WORKERS) as pool:
        blank_future = pool.submit(blank_runs)
        adv_future = pool.submit(adversarial_runs)
        runs |= blank_future.result()
        adv_runs = adv_future.result()
    adv_scores = {key: adv.scores(*key) for key in adv_runs}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        f"{lesson}/{student}": {
            "seconds": round(run.seconds, 1),
            "nbgrader_import_seconds": round(run.import_seconds, 1),
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


def test_course_runtime_per_lesson_and_total(graded):
    """Each solution notebook graded in a fresh kernel (kernel start-up, execution and
    nbgrader's grading included; nbgrader's own import, a cost of the grading tool and not of
    the lesson, is paid once by the grading process before the first lesson and printed apart):
    the per-lesson times and the whole course's, against its 180 s promise."""
    runs = graded[1]
    total = 0.0
    for lesson in LESSONS:
        seconds = runs[lesson, "perfect"].seconds
        total += seconds
        print(f"course runtime {lesson:<28}{seconds:6.1f} s")
    print(f"(before the first: nbgrader's import, once, "
          f"{sum(runs[lesson, 'perfect'].import_seconds for lesson in LESSONS):.1f} s)")
    print(f"course runtime {'total':<28}{total:6.1f} s (budget {COURSE_BUDGET_SECONDS} s; "
          f"left {COURSE_BUDGET_SECONDS - total:.1f} s)")
    assert total < COURSE_BUDGET_SECONDS, f"the course took {total:.0f} s to run"


@pytest.mark.parametrize("lesson", LESSONS)
def test_untouched_learner_copy_scores_zero(graded, lesson):
    _, runs, scores = graded[:3]
    assert runs[lesson, "blank"].returncode == 0, runs[lesson, "blank"].log[-3000:]
    got = scores[lesson, "blank"]
    assert got and all(score == 0 for score, _ in got.values()), got


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
