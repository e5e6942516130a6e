"""The library's shape: no import circles, modules under 500 lines, functions of 80 at most.

The checks read the source (``ast`` and ``tokenize``); nothing under ``llmlab/`` is imported.

Import circles. Every import of an ``llmlab`` module counts, at module level or inside a
function: a lazy import only hides a circle until the function runs, and the two modules still
need each other (``gguf`` and ``loaders`` were such a pair). Imports under ``if TYPE_CHECKING:``
do not count, as they never run. Importing ``a.b.c`` also runs package ``a.b``'s
``__init__``, so it counts as an import of ``a.b`` too, unless the importer lies inside
``a.b`` (a package's own modules are imported while its ``__init__`` runs, by design).

Lines of code leave out blank lines, comments and docstrings. The training loop
(:data:`EXEMPT_FUNCTIONS`, by name wherever it lives) may be longer than 80 lines.
"""

from __future__ import annotations

import ast
import io
import textwrap
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "llmlab"
MAX_MODULE_LINES = 500  # a module has fewer
MAX_FUNCTION_LINES = 80  # a function has at most this many
EXEMPT_FUNCTIONS = {"train_model"}

_NOT_CODE = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}


# --- reading the sources ------------------------------------------------------------------------


def read_package(root: Path, package: str = PACKAGE) -> dict[str, tuple[str, bool, str]]:
    """``{module: (source, is_package, path)}`` for every ``.py`` file under ``root/package``."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = (path.read_text(encoding="utf-8"), is_package, str(path))
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST):
    """Every Import / ImportFrom, at any depth, except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _known(name: str, modules) -> str | None:
    """The longest prefix of ``name`` that is one of ``modules`` (an attribute's module)."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in modules:
            return ".".join(parts)
        parts.pop()
    return None


def import_graph(modules) -> dict[str, set[str]]:
    """``{module: modules it imports}``, within ``modules`` only (see the module docstring)."""
    graph = {name: set() for name in modules}
    for name, (source, is_package, _) in modules.items():
        targets = set()
        for node in _import_nodes(ast.parse(source)):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = _absolute(node, name, is_package)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in modules else base)
        for target in filter(None, (_known(t, modules) for t in targets)):
            parts = target.split(".")
            for depth in range(1, len(parts) + 1):
                dep = ".".join(parts[:depth])
                inside = name == dep or name.startswith(dep + ".")
                if dep in modules and (dep == target or not inside) and dep != name:
                    graph[name].add(dep)
    return graph


def find_cycles(graph) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected component that has one."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []

    def connect(node):  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_in(graph, component) for component in components]


def _cycle_in(graph, component) -> list[str]:
    """A shortest path from the component's first module back to itself."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & component):
                if nxt == start:
                    return paths[node] + [start]
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle in component {sorted(component)}")


def cycle_key(cycle) -> str:
    return "cycle: " + " <-> ".join(sorted(set(cycle)))


def code_lines(source: str) -> set[int]:
    """Line numbers that hold code: not blank, not only a comment, not part of a docstring."""
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in _NOT_CODE:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    owners = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, owners) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.difference_update(range(first.lineno, first.end_lineno + 1))
    return lines


def function_lengths(source: str) -> dict[str, int]:
    """``{qualified name: lines of code}`` of every function (its nested ones included)."""
    code = code_lines(source)
    out = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                out[name] = len(code & set(range(child.lineno, child.end_lineno + 1)))
                visit(child, name + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return out


# --- the violations ------------------------------------------------------------------------------


def cycle_violations(modules) -> dict[str, str]:
    return {cycle_key(c): " -> ".join(c) for c in find_cycles(import_graph(modules))}


def module_violations(modules) -> dict[str, str]:
    out = {}
    for name, (source, _, path) in modules.items():
        n = len(code_lines(source))
        if n >= MAX_MODULE_LINES:
            out[f"lines: {name}"] = f"{path}: {n} lines of code (fewer than {MAX_MODULE_LINES})"
    return out


def function_violations(modules) -> dict[str, str]:
    out = {}
    for name, (source, _, path) in modules.items():
        for qualname, n in function_lengths(source).items():
            if n > MAX_FUNCTION_LINES and qualname.rsplit(".", 1)[-1] not in EXEMPT_FUNCTIONS:
                out[f"function: {name}:{qualname}"] = (
                    f"{path}: {qualname} has {n} lines of code (at most {MAX_FUNCTION_LINES})"
                )
    return out


CHECKS = {"cycles": cycle_violations, "modules": module_violations,
          "functions": function_violations}


@pytest.fixture(scope="module")
def llmlab_violations():
    modules = read_package(ROOT)
    return {name: check(modules) for name, check in CHECKS.items()}


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_llmlab(llmlab_violations, check):
    found = llmlab_violations[check]
    assert not found, "\n".join(f"{key}\n    {why}" for key, why in sorted(found.items()))


# --- the checks can fail ---------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> dict:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return read_package(root, "pkg")


def test_a_lazy_circle_is_found_and_a_type_checking_one_is_not(tmp_path):
    modules = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import g\n",
        "pkg/b.py": """\
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from pkg.c import Thing
            def g():
                from .a import f
            """,
        "pkg/c.py": "import pkg.b\n",
    })
    graph = import_graph(modules)
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}, "pkg.c": {"pkg.b"}}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]
    assert cycle_violations(modules) == {"cycle: pkg.a <-> pkg.b": "pkg.a -> pkg.b -> pkg.a"}


def test_a_package_init_is_run_by_importing_its_modules(tmp_path):
    """report imports metrics.scores, which runs metrics/__init__, which imports report."""
    modules = _write(tmp_path, {
        "pkg/__init__.py": "from pkg import report\n",
        "pkg/metrics/__init__.py": "from pkg.metrics.scores import s\nfrom ..report import card\n",
        "pkg/metrics/scores.py": "from pkg.metrics import helpers\nfrom . import helpers\n",
        "pkg/metrics/helpers.py": "",
        "pkg/report.py": "from pkg.metrics.scores import s\n",
    })
    graph = import_graph(modules)
    assert graph["pkg.report"] == {"pkg.metrics.scores", "pkg.metrics"}
    assert graph["pkg.metrics.scores"] == {"pkg.metrics.helpers"}  # inside: no edge to its init
    assert graph["pkg"] == {"pkg.report"}
    cycles = find_cycles(graph)
    assert [sorted(set(c)) for c in cycles] == [["pkg.metrics", "pkg.report"]]
    # A package whose modules import each other and whose __init__ re-exports them is fine.
    del modules["pkg.report"], modules["pkg.metrics"]
    assert find_cycles(import_graph(modules)) == []


def test_a_longer_cycle_is_printed_in_order(tmp_path):
    modules = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/x.py": "from . import y\n",
        "pkg/y.py": "from .z import w\n",
        "pkg/z.py": "def w():\n    import pkg.x\n",
    })
    assert cycle_violations(modules) == {
        "cycle: pkg.x <-> pkg.y <-> pkg.z": "pkg.x -> pkg.y -> pkg.z -> pkg.x"
    }


def test_lines_of_code_leave_out_docstrings_comments_and_blanks():
    source = textwrap.dedent('''\
        """Module docstring,
        on two lines."""

        # a comment
        import os  # a trailing comment is still a code line


        class A:
            """Class docstring."""

            def f(self):
                """Function docstring."""
                text = """a string
                that is code"""
                return text
    ''')
    # import, class, def, text = (2 lines), return
    assert sorted(code_lines(source)) == [5, 8, 11, 13, 14, 15]
    assert function_lengths(source) == {"A.f": 4}


def _function(name: str, n: int) -> str:
    body = "".join(f"    x{i} = {i}  # why\n\n" for i in range(n - 2))
    return f'def {name}():\n    """Doc.\n\n    More doc.\n    """\n{body}    return 0\n'


def test_long_modules_and_functions_are_found(tmp_path):
    long_module = "\n".join(f"v{i} = {i}" for i in range(MAX_MODULE_LINES)) + "\n"
    modules = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/ok.py": long_module.split("\n", 1)[1],
        "pkg/long.py": long_module,
        "pkg/funcs.py": (
            _function("fits", MAX_FUNCTION_LINES)
            + _function("too_long", MAX_FUNCTION_LINES + 1)
            + _function("train_model", 3 * MAX_FUNCTION_LINES)
            + "class K:\n" + textwrap.indent(_function("method", MAX_FUNCTION_LINES + 1), "    ")
        ),
    })
    assert len(code_lines(modules["pkg.ok"][0])) == MAX_MODULE_LINES - 1
    assert set(module_violations(modules)) == {"lines: pkg.long"}
    lengths = function_lengths(modules["pkg.funcs"][0])
    assert lengths["fits"] == MAX_FUNCTION_LINES and lengths["too_long"] == MAX_FUNCTION_LINES + 1
    assert set(function_violations(modules)) == {
        "function: pkg.funcs:too_long",
        "function: pkg.funcs:K.method",
    }
