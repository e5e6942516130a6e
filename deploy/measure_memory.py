"""Peak memory of each lesson, run as a learner runs it: the solution notebook, top to bottom.

    HF_HUB_OFFLINE=1 .venv/bin/python deploy/measure_memory.py [LESSON ...]

Each notebook in ``solutions/`` is executed with nbclient in a fresh kernel; a sampler reads the
resident memory (RSS) of the kernel and its children every 50 ms, and the kernel's own
``getrusage`` high-water mark is read at the end. The per-user memory limit in
``deploy/settings.py`` is the heaviest lesson's peak plus the single-user server and headroom.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def _tree_rss(pid):
    try:
        proc = psutil.Process(pid)
        procs = [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def measure(lesson):
    path = ROOT / "solutions" / lesson / f"{lesson}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            km = client.km
            pid = getattr(getattr(km, "provisioner", None), "pid", None) if km else None
            if pid:
                peak[0] = max(peak[0], _tree_rss(pid))
            time.sleep(0.05)

    t0 = time.perf_counter()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        # The kernel's own high-water mark (ru_maxrss is in KiB on Linux).
        probe = nbformat.v4.new_code_cell(
            "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
    out = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    stop.set()
    sampler.join()
    hwm = int(out.split()[0]) * 1024 if out.strip() else 0
    return max(peak[0], hwm), peak[0], hwm, time.perf_counter() - t0


def main(argv):
    lessons = argv or sorted(
        d.name for d in (ROOT / "solutions").iterdir() if d.is_dir() and d.name[:2].isdigit()
    )
    worst = ("", 0)
    for lesson in lessons:
        peak, sampled, hwm, seconds = measure(lesson)
        print(f"{lesson}: peak kernel RSS {peak / 2**20:.0f} MiB (sampled {sampled / 2**20:.0f}, "
              f"kernel's own ru_maxrss {hwm / 2**20:.0f}; {seconds:.0f} s)", flush=True)
        worst = max(worst, (lesson, peak), key=lambda x: x[1])
    print(f"heaviest: {worst[0]} at {worst[1] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main(sys.argv[1:])
