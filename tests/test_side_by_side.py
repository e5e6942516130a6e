"""The lock that keeps timed tests alone while `make test` runs the others side by side
(tests/conftest.py), tried across real processes on a lock folder of its own."""

import subprocess
import sys
import time
from pathlib import Path

from conftest import THREAD_VARIABLES
from locks import run_alone

TESTS = Path(__file__).resolve().parent

# A second process: says "ready" once imported, takes the lock (shared or alone), says so with
# the time, holds it for the seconds given, leaves.
HOLDER = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from locks import run_alone, shared
print("ready", flush=True)
with (run_alone() if sys.argv[2] == "alone" else shared()):
    print(time.monotonic(), flush=True)
    time.sleep(float(sys.argv[3]))
"""


def _holder(kind, seconds, env):
    """The holder process, returned once it is about to take the lock (its imports, which take
    seconds, are done)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(TESTS), kind, str(seconds)],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _env(monkeypatch, tmp_path):
    import os

    monkeypatch.setenv("LLMLAB_TEST_LOCKS", str(tmp_path))
    return dict(os.environ)


def test_alone_waits_for_the_test_in_progress(monkeypatch, tmp_path):
    env = _env(monkeypatch, tmp_path)
    other = _holder("shared", 1.5, env)
    entered = float(other.stdout.readline())  # the other test is running
    with run_alone():
        inside = time.monotonic()
    other.wait(timeout=30)
    assert inside >= entered + 1.4, "the alone section started while another test ran"


def test_no_test_starts_while_one_runs_alone(monkeypatch, tmp_path):
    env = _env(monkeypatch, tmp_path)
    with run_alone():
        other = _holder("shared", 0, env)
        time.sleep(1.0)  # the other test tries to start meanwhile
        left = time.monotonic()
    entered = float(other.stdout.readline())
    other.wait(timeout=30)
    assert entered >= left, "a test started while another ran alone"


def test_tests_side_by_side_do_not_wait_for_each_other(monkeypatch, tmp_path):
    env = _env(monkeypatch, tmp_path)
    first = _holder("shared", 10, env)
    float(first.stdout.readline())
    second = _holder("shared", 0, env)
    start = time.monotonic()
    entered = float(second.stdout.readline())  # blocked, it would wait for first's 10 s
    first.kill()
    assert entered - start < 5, "a shared holder blocked another"
    for p in (first, second):
        p.wait(timeout=30)


def test_a_waiting_alone_section_goes_before_tests_that_arrive_later(monkeypatch, tmp_path):
    """The turnstile: without it, the other worker's next tests could keep the lock shared
    for ever, and the timed section would wait until they ran out."""
    import threading

    env = _env(monkeypatch, tmp_path)
    first = _holder("shared", 30, env)
    float(first.stdout.readline())
    times = {}

    def alone():
        with run_alone():
            times["in"] = time.monotonic()
            time.sleep(0.5)
            times["out"] = time.monotonic()

    writer = threading.Thread(target=alone)
    writer.start()
    time.sleep(0.3)  # the alone section is waiting for `first` now
    later = _holder("shared", 0, env)
    time.sleep(0.5)  # `later` tries to start meanwhile
    first.kill()  # `first` ends (its lock goes with it)
    entered = float(later.stdout.readline())
    writer.join(timeout=30)
    for p in (first, later):
        p.wait(timeout=30)
    assert entered >= times["out"], "a test that arrived later went before the alone section"


def test_a_worker_gives_itself_and_its_subprocesses_a_share_of_the_cores(monkeypatch):
    import os

    import conftest

    for var in THREAD_VARIABLES:
        monkeypatch.setenv(var, "99")  # restored after the test
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    conftest.pytest_configure(None)
    share = str(max(1, (os.cpu_count() or 1) // 2))
    assert {var: os.environ[var] for var in THREAD_VARIABLES} == dict.fromkeys(
        THREAD_VARIABLES, share)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "1")  # one worker: left as it was
    for var in THREAD_VARIABLES:
        monkeypatch.setenv(var, "99")
    conftest.pytest_configure(None)
    assert all(os.environ[var] == "99" for var in THREAD_VARIABLES)
