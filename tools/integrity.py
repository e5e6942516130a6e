"""Read submitted notebooks, without running them, and report what looks like cheating.

    python tools/grading.py integrity --course-dir DIR [ASSIGNMENT]

prints one line per suspicious submission, ``student assignment reason[; reason...]``, and
nothing for clean ones; it exits 0 either way (the lines are for a person to read, not a
verdict). No in-kernel test can be made unbreakable: an answer cell runs in the same Python as
the tests that grade it. What an answer cell needs to fool a test, though, is visible in its
source, and this check looks for it:

* comparison or identity dunders defined or assigned (``__eq__``, ``__ne__``, ``__hash__``,
  ``__class__``, ``__instancecheck__``, ``__float__``, ...): an object equal to everything;
* assignments (``x.attr = ...``, ``setattr``, ``del``, item assignment) into ``builtins``,
  ``llmlab`` (its ``course.checks`` above all), ``numpy``, ``math``, ``sys``, ``operator``,
  ``torch``, ``nbgrader`` or the IPython shell (``get_ipython().showtraceback = ...``);
* built-in names rebound at the top level (``str = ...``, ``def isinstance(...)``);
* ``exec`` / ``eval`` / ``compile`` / ``__import__`` (code this check cannot read);
* reading the course's test, source or grading files (a path naming ``solutions``,
  ``source``, ``autograded``, ``gradebook``, ``nbgrader_config`` or another ``.ipynb``,
  importing ``nbformat`` / ``nbgrader``);
* locked cells (text, demos and the tests) edited or deleted, compared with the released copy
  (nbgrader's release folder; else the cell checksums nbgrader wrote into the notebook);
* a cell that does not parse (it could not be checked).

Only cells a learner may change are read for code patterns: answer cells, cells the learner
added, and locked cells that were edited. The released cells themselves are trusted.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

COMPARISON_DUNDERS = frozenset({
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__bool__",
    "__class__", "__instancecheck__", "__subclasscheck__", "__getattribute__",
    "__float__", "__int__", "__index__", "__abs__", "__sub__", "__rsub__", "__round__",
})
# Modules an answer cell has no business writing into.
GUARDED_MODULES = frozenset({
    "builtins", "__builtins__", "llmlab", "numpy", "math", "sys", "operator", "torch",
    "nbgrader", "IPython", "importlib", "numbers", "types", "inspect",
})
GUARDED_BUILTINS = frozenset({
    "str", "int", "float", "bool", "type", "isinstance", "issubclass", "abs", "round", "len",
    "sum", "min", "max", "all", "any", "sorted", "repr", "getattr", "hasattr", "setattr",
    "print", "AssertionError", "Exception", "BaseException", "object", "super", "__import__",
    "__build_class__", "open", "callable", "list", "dict", "tuple", "set", "range", "zip",
})
DYNAMIC_CODE = frozenset({"exec", "eval", "compile", "__import__"})
FORBIDDEN_IMPORTS = frozenset({"nbformat", "nbgrader", "nbclient", "gc", "ctypes", "inspect"})
_DIRS = r"(solutions|source|autograded|submitted|release|feedback|tests?)"
_PATH_WORDS = re.compile(
    rf"[/\\]{_DIRS}([/\\]|$)|^{_DIRS}[/\\]|gradebook|nbgrader_config|\.ipynb", re.I)
_KEPT_FOR_TESTS = re.compile(r"^_l\d\d_\w+$")
_HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _normal(src: str) -> str:
    """A cell's source as compared: hidden tests removed, trailing spaces ignored."""
    src = _HIDDEN_TESTS.sub("", src)
    return "\n".join(line.rstrip() for line in src.strip().splitlines())


def _python(src: str) -> str:
    """IPython syntax (magics, ``!cmd``, ``x?``) turned into Python, as the kernel does."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return src
    try:
        return TransformerManager().transform_cell(src)
    except Exception:  # noqa: BLE001 - malformed magics: parse what there is
        return src


def _root_name(node):
    """``a`` for ``a.b.c``, ``a[0].b``, ``a().b``; ``None`` when there is no plain root."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_shell(node) -> bool:
    """``get_ipython()`` somewhere at the root of an attribute chain."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "get_ipython")


class _Visitor(ast.NodeVisitor):
    def __init__(self, aliases, protected=frozenset()):
        self.aliases = aliases  # name -> module it was imported as (shared across cells)
        self.protected = protected  # "_names" the locked cells set for the tests to read
        self.reasons: list[str] = []

    def flag(self, reason):
        if reason not in self.reasons:
            self.reasons.append(reason)

    def _dotted(self, node):
        """``llmlab.course.checks`` for ``checks`` imported from llmlab.course,
        ``numpy.linalg`` for ``np.linalg``; None when the expression is not a plain dotted name."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self._dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def _module_of(self, node):
        """The guarded module that ``node`` (an object written into) belongs to, if any."""
        root = _root_name(node)
        if root in ("builtins", "__builtins__"):
            return root
        module = self.aliases.get(root)
        if module and module.split(".")[0] in GUARDED_MODULES:
            return self._dotted(node) or module
        return None

    def _target(self, target, verb):
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._target(t, verb)
            return
        if isinstance(target, ast.Starred):
            self._target(target.value, verb)
            return
        if isinstance(target, ast.Name):
            if target.id in self.protected:
                self.flag(f"rebinds `{target.id}`, which a locked cell keeps for the tests")
            if target.id in GUARDED_BUILTINS:
                self.flag(f"rebinds the built-in `{target.id}`")
            if target.id in COMPARISON_DUNDERS:
                self.flag(f"defines `{target.id}`")
            return
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            if isinstance(target, ast.Attribute) and target.attr in COMPARISON_DUNDERS:
                self.flag(f"assigns `{target.attr}`")
            if _is_shell(target):
                self.flag("patches the IPython shell (get_ipython())")
            module = self._module_of(target.value)
            if module:
                self.flag(f"{verb} into `{module}`")

    # bindings
    def visit_Assign(self, node):
        for t in node.targets:
            self._target(t, "assigns")
        self.generic_visit(node)

    def visit_AugAssign(self, node):  # and AnnAssign, NamedExpr: one target each
        self._target(node.target, "assigns")
        self.generic_visit(node)

    visit_AnnAssign = visit_NamedExpr = visit_AugAssign

    def visit_Delete(self, node):
        for t in node.targets:
            self._target(t, "deletes")
        self.generic_visit(node)

    def visit_For(self, node):
        self._target(node.target, "assigns")
        it = node.iter
        if (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
                and it.args and isinstance(it.args[-1 if len(it.args) < 3 else 1], ast.Constant)):
            n = it.args[0 if len(it.args) == 1 else 1].value
            prints = any(isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                         and c.func.id == "print" for c in ast.walk(node))
            if isinstance(n, int) and n >= 10_000 and prints:
                self.flag(f"floods the output (print in a loop of {n:,} rounds)")
        self.generic_visit(node)

    def visit_While(self, node):
        test = node.test
        if isinstance(test, ast.Constant) and test.value and not any(
                isinstance(c, (ast.Break, ast.Return, ast.Raise)) for c in ast.walk(node)):
            self.flag("a loop that never ends (`while True` without `break`)")
        self.generic_visit(node)

    def _def(self, node):
        if node.name in self.protected:
            self.flag(f"rebinds `{node.name}`, which a locked cell keeps for the tests")
        if node.name in COMPARISON_DUNDERS:
            self.flag(f"defines `{node.name}`")
        elif node.name in GUARDED_BUILTINS:
            self.flag(f"rebinds the built-in `{node.name}`")

    def visit_FunctionDef(self, node):
        self._def(node)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self._def(node)
        self.generic_visit(node)

    def visit_Import(self, node):
        for a in node.names:
            top = a.name.split(".")[0]
            if top in FORBIDDEN_IMPORTS:
                self.flag(f"imports `{a.name}`")
            self.aliases[a.asname or top] = a.name if a.asname else top
            if a.asname in GUARDED_BUILTINS:
                self.flag(f"rebinds the built-in `{a.asname}`")

    def visit_ImportFrom(self, node):
        mod = node.module or ""
        if mod.split(".")[0] in FORBIDDEN_IMPORTS:
            self.flag(f"imports from `{mod}`")
        for a in node.names:
            name = a.asname or a.name
            self.aliases[name] = f"{mod}.{a.name}" if mod else a.name
            if name in GUARDED_BUILTINS:
                self.flag(f"rebinds the built-in `{name}`")

    def visit_Call(self, node):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else None)
        if isinstance(func, ast.Name) and name in DYNAMIC_CODE:
            self.flag(f"calls `{name}` (code this check cannot read)")
        if isinstance(func, ast.Attribute) and name == "import_module":
            self.flag("imports a module by name (importlib)")
        if name in ("setattr", "delattr") and node.args:
            obj = node.args[0]
            module = self._module_of(obj)
            if module:
                self.flag(f"{'assigns' if name == 'setattr' else 'deletes'} into `{module}`")
            if _is_shell(obj) or (isinstance(obj, ast.Call) and _is_shell(obj)):
                self.flag("patches the IPython shell (get_ipython())")
            if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in COMPARISON_DUNDERS:
                self.flag(f"assigns `{node.args[1].value}`")
        if name == "type" and len(node.args) == 3:  # type("X", (str,), {"__eq__": ...})
            ns = node.args[2]
            if isinstance(ns, ast.Dict):
                for k in ns.keys:
                    if isinstance(k, ast.Constant) and k.value in COMPARISON_DUNDERS:
                        self.flag(f"defines `{k.value}`")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and _PATH_WORDS.search(node.value):
            self.flag(f"reads course files ({node.value[:40]!r})")

    def visit_Attribute(self, node):
        if node.attr in ("_getframe", "f_back", "f_locals", "f_globals", "currentframe"):
            self.flag("inspects the calling code's frames (the tests' variables)")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in ("__builtins__",) and isinstance(node.ctx, ast.Load):
            self.flag("uses `__builtins__`")


@dataclass
class Finding:
    student: str
    assignment: str
    notebook: str
    reasons: list = field(default_factory=list)

    def line(self) -> str:
        return f"{self.student} {self.assignment} {'; '.join(self.reasons)}"


def check_notebook(submitted: dict, released: dict | None = None) -> list[str]:
    """Reasons why one submitted notebook (a dict as in the .ipynb JSON) looks tampered with.

    ``released`` is the notebook the learner was given; without it, locked cells are checked
    against the checksums nbgrader wrote into their metadata.
    """
    reasons: list[str] = []

    def add(reason):
        if reason not in reasons:
            reasons.append(reason)

    cells = submitted.get("cells", [])
    ref = {}
    if released is not None:
        ref = {_nbg(c)["grade_id"]: c for c in released.get("cells", []) if _nbg(c).get("grade_id")}
    to_read = []  # (index, source) of cells a learner may have written
    seen = set()
    for i, cell in enumerate(cells):
        meta = _nbg(cell)
        gid = meta.get("grade_id")
        original = ref.get(gid)
        locked = bool(meta.get("locked") or meta.get("grade") and not meta.get("solution")) \
            or bool(original and _nbg(original).get("locked"))
        if gid:
            seen.add(gid)
        if locked and not meta.get("solution"):
            if original is not None:
                changed = _normal(_source(cell)) != _normal(_source(original))
            else:
                changed = _checksum_differs(cell)
            if changed:
                add(f"edited locked cell {gid}")
                if cell.get("cell_type") == "code":
                    to_read.append((i, _source(cell)))
            continue
        if cell.get("cell_type") == "code":
            to_read.append((i, _source(cell)))
    for gid, original in ref.items():
        if gid not in seen and _nbg(original).get("locked"):
            add(f"deleted locked cell {gid}")
    aliases = {"np": "numpy"}
    protected = _protected_names(released if released is not None else submitted)
    for i, src in to_read:
        code = _python(src)
        try:
            tree = ast.parse(code)
        except SyntaxError as err:
            add(f"cell {i} does not parse ({err.msg}), so it could not be checked")
            continue
        v = _Visitor(aliases, protected)
        v.visit(tree)
        for r in v.reasons:
            add(r)
    return reasons


def _protected_names(notebook: dict) -> frozenset:
    """Names that locked code cells set for the hidden tests (the course's convention:
    ``_lNN_...``, e.g. ``_l06_ref``); an answer cell has no reason to assign them."""
    names = set()
    for cell in notebook.get("cells", []):
        meta = _nbg(cell)
        if cell.get("cell_type") != "code" or not meta.get("locked") or meta.get("solution"):
            continue
        try:
            tree = ast.parse(_python(_source(cell)))
        except SyntaxError:
            continue
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name) and _KEPT_FOR_TESTS.match(n.id):
                        names.add(n.id)
    return frozenset(names)


def _checksum_differs(cell) -> bool:
    want = _nbg(cell).get("checksum")
    if not want:
        return False
    try:
        from nbgrader.utils import compute_checksum
        from nbformat import from_dict
    except ImportError:  # pragma: no cover
        return False
    cell = from_dict({**cell, "source": _source(cell)})
    return compute_checksum(cell) != want


def _course_dirs(course_dir: Path) -> dict:
    """``submitted``/``release`` folder names from the course's nbgrader_config.py."""
    dirs = {"submitted": "submitted", "release": "release"}
    cfg_path = course_dir / "nbgrader_config.py"
    if cfg_path.exists():
        try:
            from traitlets.config.loader import PyFileConfigLoader

            cfg = PyFileConfigLoader(cfg_path.name, path=str(course_dir)).load_config()
            cd = cfg.get("CourseDirectory", {})
            dirs["submitted"] = cd.get("submitted_directory", dirs["submitted"])
            dirs["release"] = cd.get("release_directory", dirs["release"])
        except Exception:  # noqa: BLE001 - an odd config: fall back to nbgrader's defaults
            pass
    return dirs


def check_course(course_dir, assignment=None) -> list[Finding]:
    """Every submission in ``course_dir/submitted/<student>/<assignment>/`` that looks
    tampered with (clean ones are left out)."""
    course_dir = Path(course_dir)
    dirs = _course_dirs(course_dir)
    submitted = course_dir / dirs["submitted"]
    findings = []
    if not submitted.is_dir():
        return findings
    for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir()):
        for assignment_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            if assignment is not None and assignment_dir.name != assignment:
                continue
            reasons = []
            for nb_path in sorted(assignment_dir.glob("*.ipynb")):
                released_path = course_dir / dirs["release"] / assignment_dir.name / nb_path.name
                released = _load(released_path) if released_path.exists() else None
                try:
                    nb = _load(nb_path)
                except (OSError, ValueError) as err:
                    reasons.append(f"{nb_path.name} is not a readable notebook ({err})")
                    continue
                reasons.extend(r for r in check_notebook(nb, released) if r not in reasons)
            if reasons:
                findings.append(Finding(student_dir.name, assignment_dir.name,
                                        str(assignment_dir), reasons))
    return findings


def _load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))

