"""`make lab` gives the learner a workspace copied from course/ and starts JupyterLab on it; run
it headless on a free port and probe it. Work already in the workspace is never overwritten."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status, resp.read()


@pytest.mark.slow
def test_make_lab_serves_lab_and_course(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    venv = Path(sys.executable).parent.parent
    args = (
        f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
        f"--IdentityProvider.token={token} --ServerApp.allow_root=True"
    )
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    ws = tmp_path / "workspace"
    kept = ws / "00_loading" / "00_loading.ipynb"
    kept.parent.mkdir(parents=True)
    kept.write_text("a learner's work in progress")
    course_before = sorted(p.relative_to(ROOT) for p in (ROOT / "course").rglob("*"))
    proc = subprocess.Popen(
        ["make", "-s", "lab", f"VENV={venv}", f"LAB_ARGS={args}", f"WORKSPACE={ws}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace")
                pytest.fail(f"make lab exited with {proc.returncode}:\n{out[-3000:]}")
            try:
                status, body = _get(f"{base}/lab", token)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not answer within 90 s")
                time.sleep(0.5)
        assert status == 200 and b"JupyterLab" in body
        lessons = sorted(p.name for p in (ROOT / "course").iterdir() if p.is_dir()
                         and p.name[:2].isdigit())
        for lesson in lessons:
            status, body = _get(f"{base}/api/contents/{lesson}", token)
            assert status == 200
            assert b'"type": "directory"' in body or b'"type":"directory"' in body
        # the work already there was kept; the other lessons were copied; course/ untouched
        assert kept.read_text() == "a learner's work in progress"
        assert all((ws / lesson / f"{lesson}.ipynb").exists() for lesson in lessons)
        assert sorted(p.relative_to(ROOT) for p in (ROOT / "course").rglob("*")) == course_before
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
