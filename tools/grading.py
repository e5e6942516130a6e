"""Grading tools: the integrity check for instructors, and an nbgrader round trip for tests.

    python tools/grading.py integrity --course-dir DIR [ASSIGNMENT]

reads every notebook under DIR/submitted/<student>/<assignment>/ without running it and
prints one line per suspicious submission, ``student assignment reason``; clean submissions
print nothing, and the command exits 0 (see tools/integrity.py for what it looks for).

The round trip (used by the tests):

    root = CourseRoot.create(tmp_path, lessons=["00_loading"])
    root.generate("00_loading")                   # nbgrader generate_assignment (with gradebook)
    root.generate_all()                           # or every lesson in source/, in one call
    root.submit("alice", "00_loading", notebook)  # a NotebookNode as alice's submission
    run = root.autograde("00_loading", "alice")   # nbgrader autograde, timed
    root.scores("00_loading", "alice")            # {grade_id: (score, max_score)}

``autograde`` measures the wall time and the peak resident memory of the grading process tree
(nbgrader and the kernel it starts), so the same run that proves a solution earns full marks
also proves it runs fast and small.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

# A grading process: it imports nbgrader once (3-5 s here, 1.7 s of it jsonschema building an IRI
# grammar: the grading tool's cost, not a lesson's), then reads one request per line on stdin
# and runs each `nbgrader ...` in a child forked from itself, as a new `nbgrader` process would
# run, after its imports. Each request's clock covers the whole child: kernel start-up,
# execution, grading, the gradebook. Its peak memory is the child's from wait4, which takes the
# largest of the child and every process it waited for (the kernel).
_GRADER = r"""
import json, os, sys, tempfile, time
t_import = time.perf_counter()
from nbgrader.apps.nbgraderapp import main as nbgrader_main
print(json.dumps({"import_seconds": time.perf_counter() - t_import}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    log = tempfile.TemporaryFile(mode="w+")
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            sys.argv = ["nbgrader"] + request["argv"]
            code = 0
            nbgrader_main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - t0
    log.seek(0)
    print(json.dumps({
        "returncode": os.waitstatus_to_exitcode(status),
        "seconds": elapsed,
        "peak_rss_bytes": usage.ru_maxrss * 1024,
        "log": log.read()[-20000:],
    }), flush=True)
    log.close()
"""


class _Grader:
    """One grading process (``_GRADER``) per thread that grades: nbgrader is imported once per
    thread, not once per submission (27 gradings in tests/test_course.py)."""

    _by_thread: dict = {}
    _lock = threading.Lock()

    def __init__(self, env):
        self.proc = subprocess.Popen([sys.executable, "-c", _GRADER], env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        first = self.proc.stdout.readline()
        if not first:
            raise RuntimeError(f"the grading process exited ({self.proc.wait()}) before nbgrader "
                               "was imported: is nbgrader installed in this Python?")
        self.import_seconds = json.loads(first)["import_seconds"]
        self.unreported_import = self.import_seconds

    @classmethod
    def for_this_thread(cls, env):
        key = threading.get_ident()
        with cls._lock:
            grader = cls._by_thread.get(key)
            if grader is None or grader.proc.poll() is not None:
                grader = cls._by_thread[key] = cls(env)
        return grader

    def run(self, argv, cwd, env):
        self.proc.stdin.write(json.dumps({"argv": argv, "cwd": str(cwd), "env": env}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the grading process died ({self.proc.wait()}) during "
                               f"`nbgrader {' '.join(argv)}`")
        data = json.loads(line)
        # nbgrader's import is reported with the first run that paid it, 0 after.
        data["import_seconds"], self.unreported_import = self.unreported_import, 0.0
        return data

    @classmethod
    def close_all(cls):
        with cls._lock:
            for grader in cls._by_thread.values():
                if grader.proc.poll() is None:
                    grader.proc.stdin.close()
                    grader.proc.wait(timeout=30)
            cls._by_thread.clear()


atexit.register(_Grader.close_all)


#: What torch (OpenMP) and numpy's BLAS read at start-up to size their thread pools.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def share_of_cores(n):
    """Threads for each of ``n`` processes run side by side: the cores split evenly, at least 1
    (torch's default, one thread per core in every process, makes them fight over the cores)."""
    return max(1, (os.cpu_count() or 1) // n)


@dataclass
class GradingRun:
    lesson: str
    student: str
    returncode: int
    seconds: float
    peak_rss_bytes: int
    log: str
    #: nbgrader's own import, paid before ``seconds`` starts (the grading tool's cost) by the
    #: grading process of this thread, once: reported with its first run, 0.0 after.
    import_seconds: float = 0.0


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

    def _env(self, threads=None):
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        # Read by torch (and numpy's BLAS) at start-up: the kernel's thread pools. None: the
        # libraries' own default (one thread per core), whatever this process was given.
        for var in THREAD_VARIABLES:
            if threads is None:
                env.pop(var, None)
            else:
                env[var] = str(int(threads))
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

    # Every nbgrader command is a new process that pays nbgrader's imports (3-5 s here), so the
    # helpers below start as few as they can: generate_assignment adds the assignment to the
    # gradebook itself (GenerateAssignment.create_assignment is on by default), one call can
    # generate every lesson, and students are added through the gradebook's own API (what
    # `nbgrader db student add` calls) in this process.

    def generate(self, lesson):
        """``nbgrader generate_assignment lesson``; the gradebook gets the assignment."""
        self.nbgrader("generate_assignment", lesson, "--force")
        return self.release_notebook(lesson)

    def generate_all(self):
        """Every lesson in ``source/`` generated by one ``nbgrader generate_assignment '*'``
        (nbgrader globs the assignment id); the release notebooks' paths, in order."""
        self.nbgrader("generate_assignment", "*", "--force")
        lessons = sorted(d.name for d in (self.path / "source").iterdir() if d.is_dir())
        return [self.release_notebook(lesson) for lesson in lessons]

    def add_student(self, student):
        """``nbgrader db student add student``, done with the gradebook API in process."""
        from nbgrader.api import Gradebook

        config = (self.path / "nbgrader_config.py").read_text()
        course = re.findall(r"^c\.CourseDirectory\.course_id\s*=\s*['\"](.*)['\"]", config, re.M)
        with Gradebook(f"sqlite:///{self.path / 'gradebook.db'}",
                       course_id=course[-1] if course else "default_course") as gb:
            gb.update_or_create_student(student)

    def release_notebook(self, lesson) -> Path:
        return self.path / "release" / lesson / f"{lesson}.ipynb"

    def source_notebook(self, lesson) -> Path:
        return self.path / "source" / lesson / f"{lesson}.ipynb"

    def submit(self, student, lesson, notebook):
        """Place ``notebook`` (a NotebookNode or a path) as ``student``'s submission."""
        self.add_student(student)
        folder = self.path / "submitted" / student / lesson
        if folder.exists():
            shutil.rmtree(folder)
        # Files that ship with the lesson (data the notebook reads) come along.
        shutil.copytree(self.path / "release" / lesson, folder)
        if not isinstance(notebook, nbformat.NotebookNode):
            notebook = nbformat.read(str(notebook), as_version=4)
        nbformat.write(notebook, str(folder / f"{lesson}.ipynb"))
        (folder / "timestamp.txt").write_text("2026-11-27 12:00:00.000000 UTC")

    def autograde(self, lesson, student, *, threads=None) -> GradingRun:
        """``nbgrader autograde lesson --student student``, timed and measured.

        ``threads``: the kernel's thread count (``OMP_NUM_THREADS``), for gradings that run side
        by side. Two kernels that each start one thread per core on a 2-core machine took 2-3x
        as long as with one thread each (lessons 01 and 02's learner copies: 30 and 35 s, against
        13 and 14 s). ``None`` leaves torch's default, one thread per core."""
        argv = ["autograde", lesson, "--student", student, "--force"]
        data = _Grader.for_this_thread(self._env()).run(argv, self.path, self._env(threads))
        return GradingRun(lesson, student, data["returncode"], data["seconds"],
                          data["peak_rss_bytes"], data["log"], data["import_seconds"])

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


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description="llmlab grading tools for instructors")
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser(
        "integrity",
        help="read submitted notebooks without running them; one line per suspicious one",
    )
    i.add_argument("--course-dir", type=Path, default=Path.cwd(),
                   help="the nbgrader course directory (holds submitted/); default: here")
    i.add_argument("assignment", nargs="?", help="only this assignment (default: all)")
    args = ap.parse_args(argv)
    try:
        from tools.integrity import check_course
    except ImportError:  # run as a script: tools/ is on sys.path
        from integrity import check_course
    if not (args.course_dir / "submitted").is_dir() and not (
            args.course_dir / "nbgrader_config.py").exists():
        ap.error(f"{args.course_dir} is not an nbgrader course directory (no submitted/ folder)")
    for finding in check_course(args.course_dir, args.assignment):
        print(finding.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())


# --- adversarial submissions (the tests grade them and run the integrity check on them) -----

_MCQ_ANSWER = re.compile(r"^(answer_\w+)\s*=\s*['\"][A-Za-z]['\"]", re.M)

# The attack: strings equal to everything, numbers equal to everything, and the
# visible check helpers patched to pass whatever they are given.
_FAKE_VALUES = '''\
import llmlab.course.checks
class _Key(str):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = str.__hash__
    def strip(self, *args): return self
    def upper(self): return self
    def lower(self): return self
class _Num(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = float.__hash__
    def __sub__(self, other): return 0.0
    def __rsub__(self, other): return 0.0
    def __truediv__(self, other): return 1.0
for _name in llmlab.course.checks.__all__:
    setattr(llmlab.course.checks, _name, lambda *a, **k: None)
'''
# An object that claims, through a `__class__` property, to be a str (isinstance believes it).
_SPOOFED_CLASS = '''\
class _Spoof:
    __class__ = property(lambda self: str)
    def __eq__(self, other): return True
    def strip(self, *args): return self
    def upper(self): return self
'''
_MODULE_PATCH = '''\
import math, numpy
math.isclose = lambda *a, **k: True
numpy.isclose = lambda *a, **k: True
numpy.allclose = lambda *a, **k: True
'''


def answer_like_the_solution(path, solution_path):
    """Copy the solution's answer cells into the learner copy at ``path`` (a diligent student),
    in place; the solution markers are left out."""
    solution = nbformat.read(str(solution_path), as_version=4)
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in solution.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    nb = nbformat.read(str(path), as_version=4)
    n = 0
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = "\n".join(
                ln for ln in answers[gid].splitlines()
                if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
            )
            n += 1
    if not n:
        raise ValueError(f"{path}: no answer cells of {solution_path} found")
    nbformat.write(nb, str(path))


def wrong_choice_source(source):
    """``answer_x = "Z"`` for an answer cell ``answer_x = "B"``; None if not a MCQ."""
    m = _MCQ_ANSWER.search(source)
    return f'{m.group(1)} = "Z"\n' if m else None


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def adversarial_submissions(solution, release):
    """``{student: (notebook, {grade_id: expected score}, reason)}`` for one lesson.

    ``reason`` is a fragment of what ``integrity`` must print for that student. Every one of
    them is flagged by the integrity check; each earns exactly the expected score when graded.
    """
    import copy

    full = {gid: points for _, gid, points, is_test in graded_cells(solution) if is_test}
    answers = answer_cells(solution)
    exercises = [(i, gid) for i, gid in answers
                 if wrong_choice_source(solution.cells[i].source) is None]
    mcqs = [(i, gid) for i, gid in answers if wrong_choice_source(solution.cells[i].source)]
    ex_i, ex_id = exercises[0]
    ex_test_i, ex_test_id, _ = grade_cell_after(solution, ex_i)
    release_by_id = {_meta(c).get("grade_id"): c for c in release.cells}
    first_answer = answers[0][0]
    subs = {}

    def fresh():
        return copy.deepcopy(solution)

    def mcqs_set_to(nb, expected, value_source):
        """Every multiple-choice answer of ``nb`` becomes ``NAME = value_source``, and each
        is expected to earn 0."""
        for i, _ in mcqs:
            name = _MCQ_ANSWER.search(solution.cells[i].source).group(1)
            nb.cells[i].source = f"{name} = {value_source}\n"
            expected[grade_cell_after(solution, i)[1]] = 0.0

    nb = fresh()
    nb.cells[ex_i].source = release_by_id[ex_id].source + "\ndef broken(:\n    pass\n"
    subs["syntax_error"] = (nb, {**full, ex_test_id: 0.0}, "does not parse")

    nb = fresh()
    nb.cells[ex_i].source = "while True:\n    pass\n"
    subs["infinite_loop"] = (nb, {**full, ex_test_id: 0.0}, "never ends")

    nb = fresh()
    nb.cells[ex_i].source = release_by_id[ex_id].source  # unanswered...
    nb.cells[ex_test_i].source = "pass  # tests edited away\n"  # ...with its test gutted
    subs["edited_test_cell"] = (nb, {**full, ex_test_id: 0.0}, f"edited locked cell {ex_test_id}")

    nb = fresh()
    nb.cells[ex_i].source = release_by_id[ex_id].source
    del nb.cells[ex_test_i]  # unanswered, and its test deleted
    subs["deleted_test_cell"] = (nb, {**full, ex_test_id: 0.0},
                                 f"deleted locked cell {ex_test_id}")

    nb = fresh()
    nb.cells[ex_i].source = (
        "for _k in range(200_000):\n    print('spam ' * 20)\n" + solution.cells[ex_i].source
    )
    subs["huge_output"] = (nb, dict(full), "floods the output")

    # an edited text cell: nbgrader restores it when grading, the integrity check reports it
    text_i = next(i for i, c in enumerate(solution.cells)
                  if c.cell_type == "markdown" and _meta(c).get("locked"))
    nb = fresh()
    nb.cells[text_i].source += "\n\n(edited by the student)"
    subs["edited_text_cell"] = (nb, dict(full),
                                f"edited locked cell {_meta(solution.cells[text_i])['grade_id']}")

    # the course's own files read from an answer cell (the source notebook holds the keys)
    nb = fresh()
    nb.cells[first_answer].source = (
        "import glob\n_peek = glob.glob('../../../source/**/*.ipynb', recursive=True)\n"
        + solution.cells[first_answer].source)
    subs["reads_course_files"] = (nb, dict(full), "reads course files")

    nb = fresh()
    nb.cells[first_answer].source = (
        "exec('import builtins; builtins.len = len')\n" + solution.cells[first_answer].source)
    subs["exec_code"] = (nb, dict(full), "calls `exec`")

    nb = fresh()
    nb.cells[ex_i].source = _MODULE_PATCH + solution.cells[ex_i].source
    subs["module_patch"] = (nb, dict(full), "assigns into `math`")

    if mcqs:
        q_i, _ = mcqs[0]
        q_test_i, q_test_id, _ = grade_cell_after(solution, q_i)
        nb = fresh()
        nb.cells[q_i].source = wrong_choice_source(solution.cells[q_i].source)
        del nb.cells[q_test_i]  # a wrong answer, and the grade cell that would catch it deleted
        subs["deleted_grade_cell"] = (nb, {**full, q_test_id: 0.0},
                                      f"deleted locked cell {q_test_id}")

        nb = fresh()
        patch = (
            "import builtins, llmlab.course.checks\n"
            "for _name in llmlab.course.checks.__all__:\n"
            "    setattr(llmlab.course.checks, _name, lambda *a, **k: True)\n"
            "builtins.AssertionError = type('AssertionError', (Exception,), {})\n"
            "import sys\n"
            "sys.excepthook = lambda *a: None\n"
            "get_ipython().showtraceback = lambda *a, **k: None\n"
        )
        nb.cells[ex_i].source = patch + solution.cells[ex_i].source
        expected = dict(full)
        for i, _ in mcqs:
            nb.cells[i].source = wrong_choice_source(solution.cells[i].source)
            expected[grade_cell_after(solution, i)[1]] = 0.0
        subs["monkeypatch"] = (nb, expected, "assigns into `llmlab.course.checks`")

        # every answer an object equal to everything (the attack), helpers patched
        nb = fresh()
        nb.cells[first_answer].source = _FAKE_VALUES + solution.cells[first_answer].source
        expected = dict(full)
        mcqs_set_to(nb, expected, '_Key("Z")')
        for i, gid in exercises:  # functions return wrong values dressed as fakes
            m = re.search(r"^def (\w+)\(", solution.cells[i].source, re.M)
            if m:
                f = m.group(1)
                nb.cells[i].source = nb.cells[i].source + (
                    f"\n_real_{f} = {f}\n\n\ndef {f}(*args, **kwargs):\n"
                    f"    _r = _real_{f}(*args, **kwargs)\n"
                    f"    return _Key('wrong') if isinstance(_r, str) else _Num(-1.0)\n")
                expected[grade_cell_after(solution, i)[1]] = 0.0
        subs["fake_equality"] = (nb, expected, "defines `__eq__`")

        nb = fresh()
        nb.cells[first_answer].source = _SPOOFED_CLASS + solution.cells[first_answer].source
        expected = dict(full)
        mcqs_set_to(nb, expected, "_Spoof()")
        subs["spoofed_class"] = (nb, expected, "defines `__class__`")
    return subs
