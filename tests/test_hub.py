"""A term on a real JupyterHub: real unix users, their own servers, nbgrader's exchange.

The hub is the one in ``deploy/jupyterhub_config.py`` (JupyterHub from PyPI, its proxy
configurable-http-proxy from npm: ``make hub-proxy``), on 127.0.0.1 with the
``shared-password`` authenticator in place of PAM. The test creates one instructor and four
learners as unix users (``useradd``) and removes them, their processes and every file it made
afterwards, on success and on failure. It needs root; it skips without it, except on CI
(``CI`` set), where it must run.

What happens, in the order of a term (INSTRUCTORS.md, "A class on JupyterHub"):

* the hub starts; the admin adds the fourth learner through the REST API; every user's server
  is started through the REST API, and each runs as that unix user with their role's nbgrader
  extensions (learners: Assignments and Validate; the instructor: formgrader too);
* the instructor (``runuser``, from the course directory) generates and releases lesson 00;
* each learner works through their own server, as JupyterLab would: fetch (Assignments),
  edit and save the notebook (contents API), Validate, submit. ``sol`` hands in the untouched
  copy first and the solutions after (the latest counts, the earlier is kept); ``blank``
  hands in the untouched copy; ``cheat`` answers with an object whose ``__eq__`` is always
  True; ``syntax`` hands in a syntax error, after the deadline (flagged late);
* the instructor collects and autogrades; the hub is restarted mid-term and everything is
  still there; feedback is generated and released; learners fetch it and cannot read each
  other's submissions or feedback; the exported CSV has the expected scores;
* a learner's kernel goes over the memory limit and is killed; the server survives, tells the
  learner's client the kernel is restarting, and the next cell runs.

Where the software lives matters too (deploy/README.md, "Where to install for a class"): every
spawned user must reach the environment and the course files. The hub checks that at start
(``deploy/reach.py``) and refuses a checkout reached through a ``0700`` folder, naming it; the
term runs from this checkout's environment with the folders that check names opened (``o+x``)
for its length, as a class install in a shared prefix would be.

Times of startup, the round trip, the restart and shutdown are printed.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
sys.path.insert(0, str(DEPLOY))
import reach  # noqa: E402
import settings  # noqa: E402

LESSON = "00_loading"
COURSE = settings.COURSE_ID
INSTRUCTOR = "lhub-teach"
LEARNERS = ["lhub-sol", "lhub-blank", "lhub-syntax", "lhub-cheat"]
LATE_JOINER = "lhub-cheat"  # added by the admin through the REST API once the hub runs
USERS = [INSTRUCTOR] + LEARNERS
VENV_BIN = Path(sys.executable).parent
CHP_LOCAL = DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"
TERM = {}  # what the term left behind, for the tests after it



def _why_not(proxy):
    if os.geteuid() != 0:
        return "needs root (it creates unix users and starts their servers as them)"
    for tool in ("useradd", "userdel", "runuser"):
        if not shutil.which(tool):
            return f"needs {tool}"
    if proxy and not (CHP_LOCAL.exists() or shutil.which("configurable-http-proxy")):
        return "needs configurable-http-proxy from npm: run `make hub-proxy`"
    if not (VENV_BIN / "jupyterhub").exists():
        return "needs jupyterhub: pip install -e '.[test]'"
    return None


def _require(proxy=True):
    reason = _why_not(proxy)
    if reason and os.environ.get("CI"):
        pytest.fail(f"the hub test must run on CI but cannot: {reason}")
    if reason:
        pytest.skip(reason)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- unix users and their processes ---------------------------------------------------------

def _uid(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _kill_user_processes(name):
    import psutil

    uid = _uid(name)
    if uid is None:
        return
    for _ in range(3):
        procs = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]
        if not procs:
            return
        for p in procs:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=5)


def _remove_user(name):
    _kill_user_processes(name)
    if _uid(name) is not None:
        subprocess.run(["userdel", "-r", "-f", name], capture_output=True)
    subprocess.run(["groupdel", name], capture_output=True)


def _add_user(name):
    _remove_user(name)  # a leftover of a run that was killed
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True, capture_output=True)
    home = Path(pwd.getpwnam(name).pw_dir)
    os.chmod(home, 0o700)
    return home


def _class_needs(exchange):
    """What the hub's start-up check (deploy/reach.py) asks of every spawned user."""
    return reach.class_needs(python=VENV_BIN / "python",
                             singleuser=VENV_BIN / "jupyterhub-singleuser",
                             roles=DEPLOY / "roles", exchange=exchange)


def _let_users_through(needs, restore):
    """Open each folder the hub's check finds closed to other users: ``o+x``, enter, not list.

    The test stands in for the instructor who installs the class in a shared prefix: the
    environment is gigabytes (PyTorch), too much to install again for each run, so the one
    this test runs from is made reachable (a checkout in a 0700 folder, a Python under /root)
    and closed again at teardown. Anything else in the way (an unreadable file) fails the
    test with the hub's own message.
    """
    _, uid, gid, groups = reach.identities([])[0]
    while (need := reach.first_blocked(needs, uid, gid, groups)) is not None:
        if need.access != "x" or any(path == need.path for path, _ in restore):
            pytest.fail(reach.problem(needs, [], checkout=ROOT))
        mode = stat.S_IMODE(os.stat(need.path).st_mode)
        restore.append((need.path, mode))
        os.chmod(need.path, mode | stat.S_IXOTH)


def _all_at_once(fn, items):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        return list(pool.map(fn, items))


class Hub:
    """The hub process of deploy/jupyterhub_config.py, started and stopped by the test."""

    def __init__(self, base):
        self.base = base
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(32)
        self.log = base / "hub.log"
        self.proc = None
        self.env = {
            "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "LLMLAB_HUB_STATE": str(base / "hub"),
            "LLMLAB_HUB_IP": "127.0.0.1",
            "LLMLAB_HUB_PORT": str(self.port),
            "LLMLAB_HUB_API_PORT": str(_free_port()),
            "LLMLAB_PROXY_API_PORT": str(_free_port()),
            "LLMLAB_PROXY_TOKEN": secrets.token_hex(24),
            "LLMLAB_EXCHANGE": str(base / "exchange"),
            "LLMLAB_COURSE_DIR": str(base / "course"),
            "LLMLAB_INSTRUCTORS": INSTRUCTOR,
            "LLMLAB_LEARNERS": ",".join(u for u in LEARNERS if u != LATE_JOINER),
            "LLMLAB_AUTH": "shared-password",
            "LLMLAB_SHARED_PASSWORD": secrets.token_hex(8),
            "LLMLAB_ADMIN_TOKEN": self.token,
            "LLMLAB_CHP": str(CHP_LOCAL if CHP_LOCAL.exists()
                              else shutil.which("configurable-http-proxy")),
            "LLMLAB_CGROUP_NAME": f"llmlab-hub-test-{os.getpid()}",
        }
        if os.environ.get("LLMLAB_CGROUP_ROOT"):  # e.g. a folder with no controllers: no limits
            self.env["LLMLAB_CGROUP_ROOT"] = os.environ["LLMLAB_CGROUP_ROOT"]

    def start(self):
        t0 = time.perf_counter()
        # python -m: the hub's sys.executable, and so the users' environment, is VENV_BIN's
        # as given (not where a symlinked venv leads), as in _class_needs
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "python"), "-m", "jupyterhub",
             "-f", str(DEPLOY / "jupyterhub_config.py")],
            cwd=self.base / "hub" if (self.base / "hub").exists() else self.base,
            env=self.env, stdout=open(self.log, "a"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the hub exited:\n{self.tail()}"
            try:
                if self.api("GET", "/").status_code == 200:
                    return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"the hub did not answer in 90 s:\n{self.tail()}")

    def stop(self):
        """SIGTERM, as systemd or Ctrl-C would: the hub stops its proxy (and, here, not the
        users' servers: cleanup_servers is off, so a restart does not interrupt them)."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        t0 = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        return time.perf_counter() - t0

    def kill_group(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        pid_file = self.base / "hub" / "jupyterhub-proxy.pid"
        if pid_file.exists():  # the proxy, if the hub died without stopping it
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            except (ValueError, ProcessLookupError, PermissionError):
                pass

    def tail(self, n=6000):
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def api(self, method, path, token=None, **kw):
        import requests

        headers = {"Authorization": f"token {token or self.token}"}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers,
                                timeout=60, **kw)

    def user_api(self, user, method, path, token, **kw):
        import requests

        headers = {"Authorization": f"token {token}"}
        return requests.request(method, f"{self.url}/user/{user}{path}", headers=headers,
                                timeout=300, **kw)

    def start_servers(self, names):
        t0 = time.perf_counter()
        # All at once, as a class arriving does: each request waits for its own spawn for up
        # to 10 s (JupyterHub's slow_spawn_timeout), so one after the other would serialize.
        for name, r in zip(names, _all_at_once(
                lambda n: self.api("POST", f"/users/{n}/server"), names)):
            assert r.status_code in (201, 202), f"{name}: {r.status_code} {r.text}\n{self.tail()}"
        pending = set(names)
        deadline = time.monotonic() + 180
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                server = self.api("GET", f"/users/{name}").json().get("servers", {}).get("")
                if server and server.get("ready"):
                    pending.discard(name)
            time.sleep(0.5)
        assert not pending, f"servers not ready: {pending}\n{self.tail()}"
        return time.perf_counter() - t0

    def stop_servers(self, names):
        _all_at_once(lambda n: self.api("DELETE", f"/users/{n}/server"), names)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not any(self.api("GET", f"/users/{n}").json().get("servers") for n in names):
                return
            time.sleep(0.5)


@pytest.fixture(scope="module")
def world():
    """Unix users, folders and the hub object; everything is removed afterwards."""
    _require()
    base = Path(tempfile.mkdtemp(prefix="llmlab-hub-"))
    os.chmod(base, 0o755)
    restore = []
    hub = None
    try:
        homes = {name: _add_user(name) for name in USERS}
        exchange = base / "exchange"
        exchange.mkdir()
        os.chmod(exchange, 0o777)  # INSTRUCTORS.md: mkdir -p "$EXCHANGE" && chmod 0777
        _let_users_through(_class_needs(exchange), restore)
        course = base / "course"
        course.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "solutions" / LESSON, course / "solutions" / LESSON)
        subprocess.run(["chown", "-R", f"{INSTRUCTOR}:{INSTRUCTOR}", str(course)], check=True)
        os.chmod(course, 0o700)
        (base / "hub").mkdir()
        hub = Hub(base)
        yield {"base": base, "homes": homes, "exchange": exchange, "course": course, "hub": hub}
    finally:
        if hub is not None and hub.log.exists():  # kept for whoever reads a failed CI run
            (ROOT / "artifacts").mkdir(exist_ok=True)
            shutil.copy(hub.log, ROOT / "artifacts" / "hub.log")
        if hub is not None:
            try:
                if hub.proc is not None and hub.proc.poll() is None:
                    hub.stop_servers(USERS)
                hub.stop()
            except Exception:  # noqa: BLE001 - teardown goes on whatever happened
                pass
            hub.kill_group()
        for name in USERS:
            _remove_user(name)
        os.environ["LLMLAB_CGROUP_NAME"] = f"llmlab-hub-test-{os.getpid()}"
        from llmlab_spawner import class_cgroups  # the hub's groups are under this process's

        for group in class_cgroups().values():
            if group.is_dir():
                for sub in group.iterdir():
                    if sub.is_dir():
                        try:
                            sub.rmdir()
                        except OSError:
                            pass
                try:
                    group.rmdir()
                except OSError:
                    pass
        for path, mode in restore:
            os.chmod(path, mode)
        shutil.rmtree(base, ignore_errors=True)


# --- running things as a user ---------------------------------------------------------------

def as_user(world, name, *cmd, cwd=None, check=True, timeout=600):
    """Run ``cmd`` as unix user ``name`` with the environment their server has."""
    role = "instructor" if name == INSTRUCTOR else "learner"
    home = world["homes"][name]
    env = {
        "HOME": str(home), "USER": name, "LOGNAME": name, "LANG": "C.UTF-8",
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": str(DEPLOY / "roles" / role),
        "LLMLAB_COURSE_ID": COURSE,
        "LLMLAB_EXCHANGE": str(world["exchange"]),
        "LLMLAB_COURSE_DIR": str(world["course"]),
        **settings.USER_ENV,
    }
    full = ["runuser", "-u", name, "--", "env", "-i"] + [f"{k}={v}" for k, v in env.items()]
    proc = subprocess.run(full + list(cmd), cwd=cwd or home, capture_output=True, text=True,
                          timeout=timeout)
    if check:
        assert proc.returncode == 0, (
            f"{name}: `{' '.join(cmd)}` failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def instructor(world, *args, **kw):
    return as_user(world, INSTRUCTOR, *args, cwd=world["course"], **kw)


def _answers():
    """grade_id -> the solution's answer source, without the solution markers."""
    nb = nbformat.read(str(ROOT / "solutions" / LESSON / f"{LESSON}.ipynb"), as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: "\n".join(
            ln for ln in c.source.splitlines()
            if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


CHEAT_SOURCE = '''\
class AlwaysRight(str):
    """Equal to everything: every comparison a test makes passes."""
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__
    def strip(self, *args):
        return self
    def upper(self):
        return self

answer_q1_why_self_host = AlwaysRight("A")
'''
SYNTAX_ERROR_CELL = "l00_ex_count_parameters"


def _work(nb_json, persona):
    """The learner's edits of the fetched notebook, as they would type them in JupyterLab."""
    nb = nbformat.from_dict(nb_json)
    answers = _answers()
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid not in answers or not cell.metadata["nbgrader"].get("solution"):
            continue
        if persona == "cheat" and gid == "l00_q1_why_self_host":
            cell.source = CHEAT_SOURCE
        elif persona == "syntax" and gid == SYNTAX_ERROR_CELL:
            cell.source = ("def count_parameters(model):\n"
                           "    return sum(p.numel() for p in model.parameters()\n")
        else:
            cell.source = answers[gid]
    return nb


def _grade_points(nb):
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"].get("points", 0))
            for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


class _Times(dict):
    """Timings, printed as they are measured (pytest -s) and again at the end."""

    def __setitem__(self, key, value):
        print(f"[hub test] {key}: {value:.1f} s", flush=True)
        super().__setitem__(key, value)


# --- the term --------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_term_on_a_real_hub(world):
    hub = world["hub"]
    exchange, course = world["exchange"], world["course"]
    times = _Times()
    t_term = time.perf_counter()

    # 1. Start the hub; the admin adds a learner who joins late; every user's server starts.
    times["hub startup"] = hub.start()
    r = hub.api("POST", f"/users/{LATE_JOINER}")
    assert r.status_code == 201, r.text
    r = hub.api("POST", f"/groups/{settings.LEARNER_GROUP}/users", json={"users": [LATE_JOINER]})
    assert r.status_code == 200, r.text
    groups = {g["name"]: set(g["users"]) for g in hub.api("GET", "/groups").json()}
    assert groups[settings.INSTRUCTOR_GROUP] == {INSTRUCTOR}
    assert groups[settings.LEARNER_GROUP] == set(LEARNERS)
    services = hub.api("GET", "/services").json()
    assert "idle-culler" in services, services  # started by the hub with the class's timeout
    times["servers startup (5 users)"] = hub.start_servers(USERS)
    tokens = {}
    for name in USERS:
        r = hub.api("POST", f"/users/{name}/tokens", json={"note": "tests/test_hub.py"})
        assert r.status_code == 201, r.text
        tokens[name] = r.json()["token"]
    TERM["tokens"] = tokens

    # Each server runs as its unix user, under the memory limit, with its role's extensions.
    import psutil

    server_rss = {}
    for name in USERS:
        pid = None
        for p in psutil.process_iter(["uids", "cmdline"]):
            if p.info["uids"] and p.info["uids"].real == _uid(name) and any(
                    "jupyterhub-singleuser" in a for a in (p.info["cmdline"] or [])):
                pid = p.pid
        assert pid, f"no single-user server runs as {name}"
        server_rss[name] = psutil.Process(pid).memory_info().rss
        page = hub.user_api(name, "GET", "/lab", tokens[name])
        assert page.status_code == 200, page.text[:500]
        config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">'
                                      r"(.*?)</script>", page.text, re.S).group(1))
        disabled = set(config.get("disabledExtensions", []))
        formgrader = hub.user_api(name, "GET", "/formgrader", tokens[name])
        listing = hub.user_api(name, "GET", f"/assignments?course_id={COURSE}", tokens[name])
        assert listing.status_code == 200, listing.text[:500]
        if name == INSTRUCTOR:
            assert not disabled & set(settings.INSTRUCTOR_ONLY_LAB_PLUGINS), disabled
            assert formgrader.status_code == 200, formgrader.status_code
        else:
            assert set(settings.INSTRUCTOR_ONLY_LAB_PLUGINS) <= disabled, disabled
            assert formgrader.status_code == 404, f"{name} reaches formgrader"
    print(f"[hub test] single-user server RSS after startup: "
          f"{max(server_rss.values()) / 2**20:.0f} MiB at most", flush=True)
    # One learner cannot use another's server.
    r = hub.user_api("lhub-sol", "GET", "/api/contents", tokens["lhub-blank"],
                     allow_redirects=False)
    assert r.status_code in (302, 403, 404), r.status_code
    t_round = time.perf_counter()

    # 2. The instructor adds the learners to the gradebook, generates and releases lesson 00.
    roster = course / "students.csv"
    roster.write_text("id,first_name,last_name,email\n"
                      + "".join(f"{n},{n[5:].title()},Learner,\n" for n in LEARNERS))
    os.chown(roster, _uid(INSTRUCTOR), -1)
    instructor(world, "nbgrader", "db", "student", "import", "students.csv")
    instructor(world, "nbgrader", "db", "assignment", "add", LESSON,
               "--duedate=2099-01-01 00:00:00 UTC")
    instructor(world, "nbgrader", "generate_assignment", LESSON, "--force")
    instructor(world, "nbgrader", "release_assignment", LESSON, "--force")
    max_score = sum(_grade_points(nbformat.read(
        str(course / "course" / LESSON / f"{LESSON}.ipynb"), as_version=4)).values())
    assert max_score > 0

    # 3. Learners, each through their own server: fetch, edit and save, validate, submit.
    def server(name, method, path, **kw):
        r = hub.user_api(name, method, path, tokens[name], **kw)
        assert r.status_code in (200, 201), f"{name} {method} {path}: {r.status_code} {r.text[:1000]}"
        return r

    q = {"course_id": COURSE, "assignment_id": LESSON}
    nb_path = f"/api/contents/{LESSON}/{LESSON}.ipynb"
    for name in LEARNERS:
        listing = server(name, "GET", f"/assignments?course_id={COURSE}").json()
        assert listing["success"] and any(a["assignment_id"] == LESSON for a in listing["value"])
        server(name, "POST", "/assignments/fetch", params=q)
        assert (world["homes"][name] / LESSON / f"{LESSON}.ipynb").exists()
        assert (world["homes"][name] / LESSON).stat().st_uid == _uid(name)
    # sol hands in the untouched copy by mistake first.
    out = server("lhub-sol", "POST", "/assignments/submit", params=q).json()
    assert out.get("success", True), out
    for name, persona in (("lhub-sol", "solutions"), ("lhub-cheat", "cheat"),
                          ("lhub-syntax", "syntax")):
        fetched = server(name, "GET", nb_path).json()["content"]
        nb = _work(fetched, persona)
        server(name, "PUT", nb_path, json={"type": "notebook", "content": nb})
    t0 = time.perf_counter()
    validated = server("lhub-sol", "POST", "/assignments/validate",
                       params={"path": f"{LESSON}/{LESSON}.ipynb"}).json()
    assert validated["success"], validated
    # nbgrader's Validator: {} when every visible test passes, else "failed"/"changed"/... lists.
    assert not any(validated["value"].get(k) for k in ("failed", "changed", "errored")), validated
    times["validate (sol, in sol's server)"] = time.perf_counter() - t0
    for name in ("lhub-sol", "lhub-blank", "lhub-cheat"):
        out = server(name, "POST", "/assignments/submit", params=q).json()
        assert out.get("success", True), out
    # The deadline passes (a class sets it once, at release); syntax submits after it.
    due = int(time.time()) + 1
    instructor(world, "nbgrader", "db", "assignment", "add", LESSON,
               "--duedate=" + time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(due)))
    # a clear margin: on a loaded machine the exchange's timestamp can trail this process's
    # clock, and a submission on the deadline's second is not late
    time.sleep(max(0.0, due + 1.5 - time.time()))
    out = server("lhub-syntax", "POST", "/assignments/submit", params=q).json()
    assert out.get("success", True), out

    # The exchange keeps every submission: sol's two, one each for the others.
    inbound = exchange / COURSE / "inbound"
    subs = sorted(p.name for p in inbound.iterdir())
    assert sum(s.startswith("lhub-sol+") for s in subs) == 2, subs
    assert len(subs) == 5, subs
    # Each submission's folder ends in 12 random characters: a learner who cannot list inbound/
    # (checked below) cannot name another learner's submission either.
    assert all(re.fullmatch(rf"lhub-[a-z]+\+{LESSON}\+[^+]+\+[A-Za-z0-9_-]{{12}}", s) for s in subs), subs

    # 4. The instructor collects (the latest submission of each learner) and autogrades.
    instructor(world, "nbgrader", "collect", LESSON)
    for name in LEARNERS:
        assert (course / "submitted" / name / LESSON / f"{LESSON}.ipynb").exists(), name
    latest_sol = max(s for s in subs if s.startswith("lhub-sol+"))
    assert ((course / "submitted" / "lhub-sol" / LESSON / "timestamp.txt").read_text().strip()
            == (inbound / latest_sol / "timestamp.txt").read_text().strip())
    t0 = time.perf_counter()
    log = instructor(world, "nbgrader", "autograde", LESSON, "--force")
    times["autograde (4 submissions)"] = time.perf_counter() - t0
    assert re.search(r"lhub-syntax.*late", log.stdout + log.stderr), "syntax was not flagged late"
    TERM["collected"] = True

    # 5. The hub restarts mid-term: users, groups, servers, tokens, the released assignment,
    #    the submissions and the grades are all still there.
    times["hub stop"] = hub.stop()
    times["hub restart"] = hub.start()
    users = {u["name"]: u for u in hub.api("GET", "/users").json()}
    assert set(USERS) <= set(users)
    assert users[LATE_JOINER]["groups"] == [settings.LEARNER_GROUP]
    for name in USERS:
        assert users[name]["servers"].get("", {}).get("ready"), f"{name}'s server was lost"
    listing = server("lhub-blank", "GET", f"/assignments?course_id={COURSE}").json()
    assert any(a["assignment_id"] == LESSON and a["status"] == "submitted"
               for a in listing["value"]), listing

    # 6. Feedback: generated, released, fetched by each learner through their server.
    t0 = time.perf_counter()
    instructor(world, "nbgrader", "generate_feedback", LESSON, "--force")
    instructor(world, "nbgrader", "release_feedback", LESSON)
    for name in LEARNERS:
        server(name, "POST", "/assignments/fetch_feedback", params=q)
        html = list((world["homes"][name] / LESSON / "feedback").rglob("*.html"))
        assert html, f"{name} got no feedback"
        assert all(h.stat().st_uid == _uid(name) for h in html)

    times["feedback: generate, release, 4 fetches"] = time.perf_counter() - t0

    # 7. Nobody reads another learner's work: the attempts fail, and the modes say why.
    sol_home = world["homes"]["lhub-sol"]
    sol_feedback = next((sol_home / LESSON / "feedback").rglob("*.html"))
    attempts = {
        "list the exchange's inbound": ["ls", str(inbound)],
        "list the exchange's feedback": ["ls", str(exchange / COURSE / "feedback")],
        "read sol's feedback in sol's home": ["cat", str(sol_feedback)],
        "read sol's notebook in sol's home": ["cat", str(sol_home / LESSON / f"{LESSON}.ipynb")],
        "read sol's collected submission": [
            "cat", str(course / "submitted" / "lhub-sol" / LESSON / f"{LESSON}.ipynb")],
        "read sol's feedback in the course": ["ls", str(course / "feedback" / "lhub-sol")],
        "read the gradebook": ["cat", str(course / "gradebook.db")],
    }
    for what, cmd in attempts.items():
        proc = as_user(world, "lhub-blank", *cmd, check=False)
        assert proc.returncode != 0 and "Permission denied" in proc.stderr, (
            f"lhub-blank could {what}: {proc.stdout[:300]}")
    assert stat.S_IMODE(inbound.stat().st_mode) & 0o007 == 0o003  # others: write+enter, no list
    assert stat.S_IMODE((exchange / COURSE / "feedback").stat().st_mode) & 0o007 == 0o001
    for name in USERS:
        assert stat.S_IMODE(world["homes"][name].stat().st_mode) == 0o700
    assert stat.S_IMODE(course.stat().st_mode) & 0o077 == 0

    # 8. The grades, as CSV.
    instructor(world, "nbgrader", "export", "--to", "grades.csv")
    with open(course / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == LESSON}
    assert set(rows) == set(LEARNERS)
    score = {name: float(rows[name]["score"]) for name in LEARNERS}
    for name in LEARNERS:
        assert float(rows[name]["max_score"]) == max_score
    release_nb = nbformat.read(str(course / "course" / LESSON / f"{LESSON}.ipynb"), 4)
    points = _grade_points(release_nb)
    broken_test = "l00_test_ex_count_parameters"
    assert score["lhub-sol"] == max_score, rows["lhub-sol"]
    assert score["lhub-blank"] == 0.0, rows["lhub-blank"]
    assert score["lhub-syntax"] == max_score - points[broken_test], rows["lhub-syntax"]
    # The hardened hidden tests compare exact built-in values, so the always-equal answer
    # earns nothing; the integrity check below names it as well.
    assert score["lhub-cheat"] == max_score - points["l00_test_q1_why_self_host"], \
        rows["lhub-cheat"]
    assert rows["lhub-syntax"]["timestamp"] > rows["lhub-syntax"]["duedate"]
    for name in ("lhub-sol", "lhub-blank", "lhub-cheat"):
        assert rows[name]["timestamp"] < rows[name]["duedate"], rows[name]
    times["round trip (release .. CSV, incl. restart)"] = time.perf_counter() - t_round
    print("\ngrades.csv:\n" + (course / "grades.csv").read_text())

    # 9. A learner's kernel goes over the memory limit mid-run.
    t0 = time.perf_counter()
    report = asyncio.run(_kernel_killed(hub, "lhub-blank", tokens["lhub-blank"], world))
    times["kernel killed and back"] = time.perf_counter() - t0
    print(f"kernel fault: {report}")

    # 10. Shutdown: the servers, then the hub and its proxy.
    t0 = time.perf_counter()
    hub.stop_servers(USERS)
    hub.stop()
    times["shutdown"] = time.perf_counter() - t0
    leftovers = [n for n in USERS
                 if any(p.info["uids"] and p.info["uids"].real == _uid(n)
                        for p in psutil.process_iter(["uids"]))]
    assert not leftovers, f"processes left running for {leftovers}"
    times["whole term"] = time.perf_counter() - t_term
    print("\n".join(f"{k:>45}: {v:6.1f} s" for k, v in times.items()))


async def _kernel_killed(hub, name, token, world):
    """Start a kernel on ``name``'s server, import llmlab, then allocate past the limit."""
    import psutil
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    r = hub.user_api(name, "POST", "/api/kernels", token, json={"name": "python3"})
    assert r.status_code == 201, r.text
    kid = r.json()["id"]
    ws = await websocket_connect(HTTPRequest(
        f"ws://127.0.0.1:{hub.port}/user/{name}/api/kernels/{kid}/channels",
        headers={"Authorization": f"token {token}"}))
    session = uuid.uuid4().hex

    def send(code):
        msg_id = uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": name,
                       "session": session, "date": "", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        return msg_id

    async def until(pred, timeout):
        seen = []
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            raw = await asyncio.wait_for(ws.read_message(), timeout=end - time.monotonic())
            assert raw is not None, "the server closed the kernel's websocket"
            msg = json.loads(raw)
            seen.append(msg)
            if pred(msg):
                return msg, seen
        raise AssertionError(f"timed out; saw {[m['msg_type'] for m in seen]}")

    def output_of(msg_id):
        return lambda m: (m["parent_header"].get("msg_id") == msg_id
                          and m["msg_type"] == "stream")

    # The course's kernel: llmlab and its bundled models, for every user.
    mid = send("import llmlab; print(sorted(llmlab.list_bundled_models()))")
    msg, _ = await until(output_of(mid), 120)
    assert "tiny-llama" in msg["content"]["text"], msg["content"]

    limited = f"{name}: limited to {settings.mem_bytes(settings.MEM_LIMIT)} bytes" in hub.tail(10**6)
    mid = send("import numpy as np\nchunks = []\n"
               f"for _ in range({settings.mem_bytes(settings.MEM_LIMIT) // 2**28 + 4}):\n"
               "    chunks.append(np.ones(2**28 // 8))\n")
    if not limited:
        # No control groups here: do what the OOM killer does, SIGKILL the kernel mid-run.
        await asyncio.sleep(1)
        uid = _uid(name)
        for p in psutil.process_iter(["uids", "cmdline"]):
            if p.info["uids"] and p.info["uids"].real == uid and kid in " ".join(
                    p.info["cmdline"] or []):
                p.kill()
    msg, seen = await until(lambda m: m["msg_type"] == "status"
                            and m["content"].get("execution_state") in ("restarting", "dead"),
                            120)
    assert msg["content"]["execution_state"] == "restarting", msg
    # What the learner sees: JupyterLab turns this status into "autorestarting" and that into
    # the dialog "Kernel Restarting: The kernel for <notebook> appears to have died. It will
    # restart automatically." (checked in the JupyterLab this venv serves).
    lab_js = "".join(p.read_text(errors="replace") for p in
                     (Path(sys.prefix) / "share" / "jupyter" / "lab" / "static").glob("jlab_core*.js"))
    assert "autorestarting" in lab_js
    assert "appears to have died. It will restart automatically." in lab_js
    status = hub.user_api(name, "GET", "/api/status", token)
    assert status.status_code == 200, "the learner's server did not survive"
    await asyncio.sleep(2)
    mid = send("print(6 * 7)")
    msg, _ = await until(output_of(mid), 120)
    assert msg["content"]["text"].strip() == "42"
    ws.close()
    hub.user_api(name, "DELETE", f"/api/kernels/{kid}", token)
    assert "restarting kernel" in hub.tail(200000).lower()
    return ("killed by the OOM killer of the user's memory cgroup" if limited
            else "SIGKILLed by the test (no writable memory cgroup)") + \
        f"; the client got execution_state=restarting; the next cell ran ({settings.MEM_LIMIT} limit)"


@pytest.mark.slow
def test_integrity_check_flags_the_cheat_and_the_unparsable(world):
    """The instructor's integrity check, on the submissions the term collected."""
    if not TERM.get("collected"):
        pytest.skip("the term did not get as far as collecting")
    proc = as_user(world, INSTRUCTOR, sys.executable, str(ROOT / "tools" / "grading.py"),
                   "integrity", "--course-dir", str(world["course"]), LESSON,
                   cwd=world["course"])
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    # the cheat for its always-equal object; the syntax error because a cell that does not
    # parse cannot be checked (the instructor looks at it); the others not at all
    assert set(lines) == {"lhub-cheat", "lhub-syntax"}, proc.stdout
    assert "__eq__" in lines["lhub-cheat"], proc.stdout
    assert "does not parse" in lines["lhub-syntax"], proc.stdout


# --- a checkout other users cannot enter -----------------------------------------------------

def _as_nobody(*cmd):
    return subprocess.run(["runuser", "-u", "nobody", "--", *map(str, cmd)],
                          capture_output=True, text=True, timeout=60)


def _private_dir(prefix):
    path = Path(tempfile.mkdtemp(prefix=prefix))
    assert stat.S_IMODE(path.stat().st_mode) == 0o700  # what mkdtemp makes: only its owner
    return path


def test_reach_names_the_first_path_in_the_way(monkeypatch):
    """deploy/reach.py's check names the path that blocks; the kernel agrees (``runuser``), and
    the ``chmod`` it proposes is what lets the user through."""
    _require(proxy=False)
    base = _private_dir("llmlab-reach-")
    try:
        os.chmod(base, 0o755)
        hidden = {}
        for name in ("closed", "closed-too"):  # a readable file in a folder only root enters
            (base / name / "open").mkdir(parents=True)
            os.chmod(base / name, 0o700)
            os.chmod(base / name / "open", 0o755)
            hidden[name] = base / name / "open" / "file.txt"
            hidden[name].write_text(f"in {name}\n")
            os.chmod(hidden[name], 0o644)
        (base / "public").mkdir()
        os.chmod(base / "public", 0o755)
        link = base / "public" / "link"  # in an open folder, but it leads into closed-too/
        link.symlink_to(os.path.relpath(hidden["closed-too"], link.parent))
        tree = base / "tree" / "sub"
        tree.mkdir(parents=True)
        for folder in (base / "tree", tree):
            os.chmod(folder, 0o755)
        (tree / "a.txt").write_text("a\n")
        (tree / "b.txt").write_text("b\n")
        os.chmod(tree / "a.txt", 0o644)
        os.chmod(tree / "b.txt", 0o600)
        nobody = reach.identities([])[0][1:]
        cases = [  # needs, the path that blocks, a file nobody reads through it
            (reach.needs_for(hidden["closed"], "r", "a file"), base / "closed",
             hidden["closed"]),
            (reach.needs_for(link, "r", "a link"), base / "closed-too", link),
            (reach.tree_needs(base / "tree", "a tree"), tree / "b.txt", tree / "b.txt"),
        ]
        for needs, blocker, probe in cases:
            assert _as_nobody("cat", probe).returncode != 0, f"nobody reads {probe} already"
            need = reach.first_blocked(needs, *nobody)
            assert need is not None and need.path == str(blocker), (need, blocker)
            message = reach.problem(needs, [], checkout=ROOT)
            assert f"cannot {'enter' if need.access == 'x' else 'read'} {blocker} (" in message
            assert reach.fix_for(need) in message
            subprocess.run(reach.fix_for(need).split(), check=True)
            assert reach.first_blocked(needs, *nobody) is None
            assert _as_nobody("cat", probe).stdout == probe.read_text()
        gone = base / "no-exchange"
        message = reach.problem(reach.needs_for(gone, "x", reach.EXCHANGE), [], checkout=ROOT)
        assert f"{gone} does not exist" in message and f"mkdir -p {gone}" in message
        monkeypatch.chdir(base)  # the probe runs in /: relative paths are made absolute
        assert reach.tree_needs("tree", "a tree") == reach.tree_needs(base / "tree", "a tree")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_the_hub_refuses_a_private_checkout():
    """The checkout's environment reached through a 0700 folder, as after ``git clone`` into
    a home or ``mkdtemp`` folder: the hub does not start, and says which folder and what to
    do, where it used to start and fail every spawn with PermissionError."""
    _require(proxy=False)
    private = _private_dir("llmlab-private-")
    public = Path(tempfile.mkdtemp(prefix="llmlab-hub-refuses-"))
    try:
        os.chmod(public, 0o755)
        (private / "venv").symlink_to(sys.prefix)
        singleuser = private / "venv" / "bin" / "jupyterhub-singleuser"
        denied = _as_nobody(singleuser, "--version")
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, denied
        (public / "exchange").mkdir()
        os.chmod(public / "exchange", 0o777)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
               "LLMLAB_HUB_STATE": str(public / "hub"), "LLMLAB_HUB_IP": "127.0.0.1",
               "LLMLAB_HUB_PORT": str(_free_port()), "LLMLAB_HUB_API_PORT": str(_free_port()),
               "LLMLAB_PROXY_API_PORT": str(_free_port()), "LLMLAB_CULL": "0",
               "LLMLAB_EXCHANGE": str(public / "exchange"), "LLMLAB_AUTH": "shared-password",
               "LLMLAB_SHARED_PASSWORD": secrets.token_hex(8)}
        log = public / "hub.log"
        with open(log, "w") as fh:
            proc = subprocess.Popen(
                [str(private / "venv" / "bin" / "python"), "-m", "jupyterhub",
                 "-f", str(DEPLOY / "jupyterhub_config.py")],
                cwd=public, env=env, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", int(env["LLMLAB_HUB_PORT"]))) == 0:
                    break  # it listens: it started
            time.sleep(0.3)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            proxy = public / "hub" / "jupyterhub-proxy.pid"  # in a session of its own
            if proxy.exists():
                os.kill(int(proxy.read_text()), signal.SIGKILL)
            pytest.fail(f"the hub started from a private checkout:\n{log.read_text()[-3000:]}")
        out = log.read_text()
        assert proc.returncode != 0, out
        assert f"cannot enter {private} (drwx------ root " in out, out
        assert f"a folder on the way to {singleuser}" in out, out
        assert f"chmod o+x {private}\n" in out and "/opt/llmlab" in out, out
        assert not (public / "hub" / "jupyterhub.sqlite").exists()  # stopped before its database
    finally:
        shutil.rmtree(private, ignore_errors=True)
        shutil.rmtree(public, ignore_errors=True)


# --- the one-server hub and the Kubernetes values agree --------------------------------------

def test_local_and_kubernetes_settings_agree():
    import yaml

    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
    single = values["singleuser"]
    assert single["memory"]["limit"] == settings.MEM_LIMIT
    assert single["memory"]["guarantee"] == settings.MEM_GUARANTEE
    assert float(single["cpu"]["limit"]) == settings.CPU_LIMIT
    assert float(single["cpu"]["guarantee"]) == settings.CPU_GUARANTEE
    assert single["defaultUrl"] == "/lab"
    for key, value in settings.USER_ENV.items():
        assert str(single["extraEnv"][key]) == value, key
    cull = values["cull"]
    assert cull["enabled"] is True
    assert cull["timeout"] == settings.CULL_TIMEOUT_SECONDS
    assert cull["every"] == settings.CULL_EVERY_SECONDS
    # The role folders: the same files on the pods as in deploy/roles/ on one server.
    files = {f["mountPath"]: f["stringData"] for f in single["extraFiles"].values()}
    for role in ("learner", "instructor"):
        pod = f"/etc/llmlab/roles/{role}"
        local = DEPLOY / "roles" / role
        for rel in ("labconfig/page_config.json",
                    f"jupyter_server_config.d/llmlab-{role}.json"):
            assert json.loads(files[f"{pod}/{rel}"]) == json.loads((local / rel).read_text()), rel
        nbgrader = files[f"{pod}/nbgrader_config.py"]
        assert f'course_id = "{settings.COURSE_ID}"' in nbgrader
        assert "configureExchange(c" in nbgrader  # ngshare instead of the exchange folder
        assert f'"LLMLAB_COURSE_ID", "{settings.COURSE_ID}"' in (local / "nbgrader_config.py").read_text()
    learner = json.loads((DEPLOY / "roles" / "learner" / "labconfig" / "page_config.json")
                         .read_text())["disabledExtensions"]
    assert {k for k, v in learner.items() if v} == set(settings.INSTRUCTOR_ONLY_LAB_PLUGINS)
    local_ext = json.loads((DEPLOY / "roles" / "learner" / "jupyter_server_config.d"
                            / "llmlab-learner.json").read_text())["ServerApp"]["jpserver_extensions"]
    assert {k for k, v in local_ext.items() if not v} == set(settings.INSTRUCTOR_ONLY_SERVER_EXTENSIONS)
    # Roles come from the same groups, and the hub hook points at the same folders.
    hub = values["hub"]
    assert set(hub["config"]["JupyterHub"]["load_groups"]) == {settings.INSTRUCTOR_GROUP,
                                                               settings.LEARNER_GROUP}
    hook = hub["extraConfig"]["llmlab-roles"]
    assert f'"{settings.INSTRUCTOR_GROUP}" in groups' in hook and "JUPYTER_CONFIG_PATH" in hook
    assert "ngshare" in hub["services"]


def test_course_id_is_nbgrader_configs():
    text = (ROOT / "nbgrader_config.py").read_text()
    assert f'course_id = "{settings.COURSE_ID}"' in text
    assert settings.mem_bytes("2G") == 2 * 2**30 and settings.mem_bytes("512M") == 2**29
