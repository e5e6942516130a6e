"""Course tooling: generate the learner copies in course/ from the nbgrader sources.

    python tools/course.py generate        # rewrite course/ from solutions/ (make course)
    python tools/course.py list            # the lessons found in solutions/
    python tools/course.py workspace       # copy course/ into workspace/ for a learner (make lab)

nbgrader's ``generate_assignment`` runs in a temporary course root (its gradebook database
stays there), with the repository's nbgrader_config.py, and each lesson's release folder is
copied into course/<lesson>/. Outputs are cleared, solution regions replaced by
``raise NotImplementedError()`` and hidden tests removed by nbgrader itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"


def lessons(solutions: Path = SOLUTIONS) -> list[str]:
    """Lesson folders (``NN_topic``) that hold a notebook of the same name."""
    found = []
    for d in sorted(solutions.iterdir()) if solutions.is_dir() else []:
        if d.is_dir() and d.name[:2].isdigit() and (d / f"{d.name}.ipynb").is_file():
            found.append(d.name)
    return found


def nbgrader_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("nbgrader")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "nbgrader"]


def generate(out_dir: Path = COURSE, solutions: Path = SOLUTIONS, only=None) -> list[Path]:
    """Generate the learner copies of every lesson (or ``only`` those) into ``out_dir``."""
    names = [n for n in lessons(solutions) if only is None or n in only]
    if not names:
        raise SystemExit(f"no lessons found in {solutions}")
    written = []
    with tempfile.TemporaryDirectory(prefix="llmlab-generate-") as tmp:
        tmp = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", tmp / "nbgrader_config.py")
        shutil.copytree(solutions, tmp / "source", ignore=shutil.ignore_patterns(
            ".ipynb_checkpoints", "__pycache__"))
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        for name in names:
            subprocess.run(
                nbgrader_cmd() + [
                    "generate_assignment", name, "--force",
                    "--CourseDirectory.root=" + str(tmp),
                    "--CourseDirectory.source_directory=source",
                    "--CourseDirectory.release_directory=release",
                    "--log-level=WARN",
                ],
                cwd=tmp, env=env, check=True,
            )
            target = out_dir / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(tmp / "release" / name, target)
            written.append(target)
    return written


def workspace(target: Path, course: Path = COURSE) -> tuple[list[str], list[str]]:
    """Give a learner their own copy of the course: every lesson folder of ``course`` that
    ``target`` lacks is copied there; a lesson already in ``target`` is never touched, so work
    in progress survives (and course/ stays pristine). Returns ``(copied, kept)``."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    for src in sorted(course.iterdir()):
        if src.is_dir() and src.name[:2].isdigit():
            if (target / src.name).exists():
                kept.append(src.name)
            else:
                shutil.copytree(src, target / src.name,
                                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
                copied.append(src.name)
    return copied, kept


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="rewrite course/ from solutions/")
    g.add_argument("--out", type=Path, default=COURSE)
    g.add_argument("lessons", nargs="*", help="only these lessons (default: all)")
    sub.add_parser("list", help="list the lessons")
    w = sub.add_parser("workspace", help="copy course/ into a learner workspace (never overwrites)")
    w.add_argument("--dir", type=Path, default=ROOT / "workspace")
    args = ap.parse_args(argv)
    if args.cmd == "list":
        print("\n".join(lessons()))
    elif args.cmd == "workspace":
        copied, kept = workspace(args.dir)
        where = args.dir.resolve()
        if copied:
            print(f"copied {', '.join(copied)} from course/ into your workspace {where}")
        if kept:
            print(f"kept your work in {where}: {', '.join(kept)} (never overwritten)")
        print(f"your workspace: {where} (work there; course/ stays as released)")
    else:
        for path in generate(args.out, only=args.lessons or None):
            print(f"generated {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
