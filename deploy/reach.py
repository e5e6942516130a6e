"""Can every user the hub spawns reach what their server runs? Checked when the hub starts.

``LocalProcessSpawner`` starts each server as its unix user, so that user must be able to
enter every folder on the way to, and read, the single-user environment (its
``jupyterhub-singleuser``, the Python it runs, that Python's standard library and
site-packages) and the course files the servers read (``deploy/roles``, the llmlab package
with its bundled models, nbgrader's exchange). A checkout in a private folder (a home folder,
a ``mkdtemp`` folder: mode 0700) makes every spawn fail with ``PermissionError``;
``jupyterhub_config.py`` calls :func:`problem` first and refuses to start with one message
that names the first path in the way and what to do.

The check asks the kernel rather than reading permission bits: a small ``sh`` runs ``test -r``
/ ``test -x`` on each path under the user's own uid, group and supplementary groups, so modes,
group membership, ACLs and security modules count exactly as they will for the server. It runs
as ``nobody``, who stands for any learner added later (a new account is in no group but its
own), and as every listed user who already has an account.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

# What the users' Python reads besides its own executable; asked of that Python itself, since
# the hub may run from another one.
_ASK = """\
import importlib.util, json, os, sys, sysconfig
stdlib = sysconfig.get_path("stdlib")
paths = {"stdlib": stdlib, "lib-dynload": os.path.join(stdlib, "lib-dynload"),
         "site-packages": sysconfig.get_path("purelib"),
         "pyvenv.cfg": os.path.join(sys.prefix, "pyvenv.cfg")}
if sysconfig.get_config_var("Py_ENABLE_SHARED"):
    paths["libpython"] = os.path.join(sysconfig.get_config_var("LIBDIR"),
                                      sysconfig.get_config_var("LDLIBRARY"))
paths = {k: v for k, v in paths.items() if os.path.exists(v)}
spec = importlib.util.find_spec(sys.argv[1])
if spec is not None and spec.submodule_search_locations:
    paths["package"] = list(spec.submodule_search_locations)[0]
print(json.dumps(paths))
"""

# Reads "access<TAB>path" lines and prints the number of the first line the user fails.
_PROBE = """\
i=0
while IFS='\t' read -r access path; do
    case $access in *r*) test -r "$path" || { echo $i; exit 0; } ;; esac
    case $access in *w*) test -w "$path" || { echo $i; exit 0; } ;; esac
    case $access in *x*) test -x "$path" || { echo $i; exit 0; } ;; esac
    i=$((i + 1))
done
"""

EXCHANGE = "nbgrader's exchange"
_WORDS = {"x": "enter", "r": "read", "rx": "read", "rwx": "write into"}


@dataclass(frozen=True)
class Need:
    """``path`` must allow ``access`` ("x", "r", "rx" or "rwx"); it is ``relation`` ``target``
    ("a folder on the way to", "in" or "" for the target itself), which is ``what``."""

    path: str
    access: str
    target: str
    what: str
    relation: str = ""

    def why(self):
        if self.relation:
            return f"it is {self.relation} {self.target}, {self.what}"
        if os.path.realpath(self.target) != self.path:
            return f"{self.target} leads to it, {self.what}"
        return f"it is {self.what}"


def lookup(path):
    """The folders the kernel enters to open ``path``, in order, and the file it ends at.

    Symlinks are followed as the kernel follows them (``namei``): a link's target is looked up
    from the folder that holds the link, so the folders on the way to the target count too.
    """
    entered, cur = [], "/"
    hops = 0
    # not abspath: it would drop "x/.." by name, where the kernel goes up from where x leads
    todo = list(Path(os.path.join(os.getcwd(), path)).parts[1:])
    while todo:
        part = todo.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            cur = os.path.dirname(cur)
            continue
        entered.append(cur)
        nxt = os.path.join(cur, part)
        if os.path.islink(nxt):
            hops += 1
            if hops > 40:
                raise OSError(f"too many levels of symbolic links in {path}")
            target = os.readlink(nxt)
            if target.startswith("/"):
                cur = "/"
            todo = list(Path(target).parts[1 if target.startswith("/") else 0:]) + todo
        else:
            cur = nxt
    return list(dict.fromkeys(entered)), cur


def needs_for(path, access, what):
    """Every :class:`Need` on the way to ``path`` and ``path`` itself."""
    entered, final = lookup(path)
    path = os.path.join(os.getcwd(), path)
    return ([Need(d, "x", str(path), what, "a folder on the way to") for d in entered]
            + [Need(final, access, str(path), what)])


def tree_needs(root, what):
    """``root`` and everything under it readable (folders entered), ``__pycache__`` aside."""
    root = os.path.join(os.getcwd(), root)  # the probe runs in /
    out = needs_for(root, "rx", what)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        out += [Need(os.path.join(folder, d), "rx", str(root), what, "in") for d in dirs]
        out += [Need(os.path.join(folder, f), "r", str(root), what, "in")
                for f in sorted(files)]
    return out


def class_needs(*, python, singleuser, roles, package="llmlab", exchange=None):
    """What every spawned user must reach, in the order a server starts.

    ``python`` is the single-user environment's interpreter; it is asked (as the hub's user)
    where its standard library, site-packages and ``package`` live.
    """
    needs = needs_for(singleuser, "rx", "the single-user server every user runs")
    needs += needs_for(python, "x", "the Python of the single-user environment")
    proc = subprocess.run([str(python), "-I", "-c", _ASK, package], capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"{python} could not say where its files are:\n{proc.stderr}")
    where = json.loads(proc.stdout)
    for key in ("pyvenv.cfg", "libpython"):
        if key in where:
            needs += needs_for(where[key], "r", f"the single-user environment's {key}")
    for key in ("stdlib", "lib-dynload", "site-packages"):
        if key in where:
            needs += needs_for(where[key], "rx", f"the single-user environment's {key}")
    needs += tree_needs(roles, "the role configuration (JUPYTER_CONFIG_PATH) of every server")
    if "package" in where:
        needs += tree_needs(where["package"], f"the {package} package the kernels import")
    if exchange is not None:
        needs += needs_for(exchange, "x", EXCHANGE)
    return needs


def identities(users):
    """``(who, uid, gid, groups)``: ``nobody`` for learners added later, then each listed user."""
    try:
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
    except KeyError:
        uid = gid = 65534
    out = [("a learner added later (any local account; checked as nobody)", uid, gid, [])]
    for name in dict.fromkeys(users):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue  # no account yet: nobody stands for them
        out.append((f"user {name}", pw.pw_uid, pw.pw_gid, os.getgrouplist(name, pw.pw_gid)))
    return out


def first_blocked(needs, uid, gid, groups):
    """The first :class:`Need` that the user ``uid`` (``gid``, ``groups``) fails, or None."""
    lines = "".join(f"{n.access}\t{n.path}\n" for n in needs)
    # extra_groups must be given: without it the child keeps root's supplementary groups.
    proc = subprocess.run(["/bin/sh", "-c", _PROBE], input=lines, capture_output=True,
                          text=True, user=uid, group=gid, extra_groups=list(groups), cwd="/",
                          env={"PATH": "/usr/bin:/bin"}, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"the permission probe failed: {proc.stderr}")
    out = proc.stdout.strip()
    return needs[int(out)] if out else None


def _describe(path):
    st = os.stat(path)
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return f"{stat.filemode(st.st_mode)} {owner} {group}"


def fix_for(need):
    """The ``chmod`` that lets every user through ``need.path`` (what the test does, too)."""
    bits = "+x" if need.access == "x" else ("+rx" if os.path.isdir(need.path) else "+r")
    return f"chmod o{bits} {need.path}"


def problem(needs, users, *, checkout):
    """None if every spawned user reaches every need; else the message the hub stops with."""
    for need in needs:
        if not os.path.exists(need.path):
            hint = (f"; create it: mkdir -p {need.target} && chmod 0777 {need.target}"
                    if need.what == EXCHANGE else "")
            return (f"llmlab hub: not starting: {need.path} does not exist ({need.why()})"
                    f"{hint}\n")
    for who, uid, gid, groups in identities(users):
        need = first_blocked(needs, uid, gid, groups)
        if need is not None:
            return _message(need, who, checkout)
    return None


def _message(need, who, checkout):
    return f"""\
llmlab hub: not starting: {who} cannot {_WORDS[need.access]} {need.path} ({_describe(need.path)}):
{need.why()}. A server started as that user would fail on it (PermissionError) or go without it.

Install the environment and the course where every learner can read them, in a shared
prefix such as /opt/llmlab, with a Python every user can run (not one under /root or a
home folder); deploy/README.md, "Where to install for a class":

    umask 022
    git clone {checkout} /opt/llmlab
    cd /opt/llmlab && make install hub-proxy PYTHON=/usr/bin/python3
    /opt/llmlab/.venv/bin/jupyterhub -f /opt/llmlab/deploy/jupyterhub_config.py

Or let every user through this path (the check names the next one on the next start):

    {fix_for(need)}
"""
