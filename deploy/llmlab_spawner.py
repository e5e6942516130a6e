"""The spawner of the one-server class hub: JupyterHub's LocalProcessSpawner, plus two things.

1. **Roles.** A user in the ``instructors`` group gets ``deploy/roles/instructor`` on their
   ``JUPYTER_CONFIG_PATH``, everyone else ``deploy/roles/learner``: nbgrader's config (exchange,
   course id) and which of its JupyterLab plugins and server extensions are on.
2. **Limits that hold.** LocalProcessSpawner only passes ``mem_limit`` / ``cpu_limit`` to the
   server as environment variables (JupyterHub's docs: enforcing them is up to the spawner).
   Here the single-user server is moved into a per-user control group (made under the hub's
   own group, so the hub's own limits still cover everything) right after it starts,
   so it and every kernel it starts share ``mem_limit`` (the kernel that goes over it is
   killed by the kernel's OOM killer, the server survives and restarts it) and ``cpu_limit``.
   cgroup v1 and v2 are handled; where neither can be written (not root, no delegation) the
   hub logs a warning and runs without limits. On a machine run by systemd,
   ``jupyterhub-systemdspawner`` does the same through systemd.
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner

HERE = Path(__file__).resolve().parent
ROLES = HERE / "roles"
CGROUP_ROOT = Path(os.environ.get("LLMLAB_CGROUP_ROOT", "/sys/fs/cgroup"))
CGROUP_NAME = os.environ.get("LLMLAB_CGROUP_NAME", "llmlab-hub")


def own_cgroups(pid="self"):
    """``{controller: path}`` of a process's control groups, from /proc/PID/cgroup.

    v1 lines look like ``4:memory:/some/path`` (several controllers may share a line); the v2
    line is ``0::/some/path`` and comes back as ``{"unified": path}``.
    """
    out = {}
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if not controllers:
            out["unified"] = path
        for c in controllers.split(","):
            if c:
                out[c] = path
    return out


def class_cgroups():
    """The folders that hold the per-user groups: under the hub's own group, per controller.

    Nesting them under the hub's group (not at the hierarchy's root) keeps the users' servers
    inside whatever limits and accounting the hub itself runs under (a systemd unit, a job).
    """
    own = own_cgroups()
    if (CGROUP_ROOT / "cgroup.controllers").exists():  # v2, unified
        return {"unified": CGROUP_ROOT / own.get("unified", "/").lstrip("/") / CGROUP_NAME}
    return {c: CGROUP_ROOT / c / own.get(c, "/").lstrip("/") / CGROUP_NAME
            for c in ("memory", "cpu") if (CGROUP_ROOT / c).is_dir()}


def role_of(user, instructor_group="instructors") -> str:
    return "instructor" if any(g.name == instructor_group for g in user.groups) else "learner"


class ClassSpawner(LocalProcessSpawner):
    """LocalProcessSpawner with per-role nbgrader config and enforced memory / CPU limits."""

    def _cgroup_dirs(self):
        """``{controller: folder}`` of this user's control groups (v1: one per controller)."""
        name = self.user.name + (f"-{self.name}" if self.name else "")
        return {c: parent / name for c, parent in class_cgroups().items()}

    def _limit(self, pid):
        mem = int(self.mem_limit or 0)
        cpu = float(self.cpu_limit or 0)
        if not (mem or cpu):
            return
        dirs = self._cgroup_dirs()
        if not dirs:
            self.log.warning("%s: no control groups under %s; mem_limit/cpu_limit are not "
                             "enforced", self._log_name, CGROUP_ROOT)
            return
        try:
            for controller, path in dirs.items():
                if controller == "unified":
                    parent = path.parent
                    parent.mkdir(exist_ok=True)
                    (parent / "cgroup.subtree_control").write_text("+memory +cpu")
                    path.mkdir(exist_ok=True)
                    if mem:
                        (path / "memory.max").write_text(str(mem))
                        (path / "memory.swap.max").write_text("0")
                    if cpu:
                        (path / "cpu.max").write_text(f"{int(cpu * 100000)} 100000")
                else:
                    path.mkdir(parents=True, exist_ok=True)
                    if controller == "memory" and mem:
                        (path / "memory.limit_in_bytes").write_text(str(mem))
                        swap = path / "memory.memsw.limit_in_bytes"
                        if swap.exists():
                            swap.write_text(str(mem))
                    if controller == "cpu" and cpu:
                        (path / "cpu.cfs_period_us").write_text("100000")
                        (path / "cpu.cfs_quota_us").write_text(str(int(cpu * 100000)))
                (path / "cgroup.procs").write_text(str(pid))
            self.log.info("%s: limited to %s bytes of memory and %s CPUs (%s)",
                          self._log_name, mem, cpu, ", ".join(map(str, dirs.values())))
        except OSError as err:
            self.log.warning("%s: cannot enforce mem_limit/cpu_limit with control groups (%s); "
                             "the server runs without limits", self._log_name, err)

    def _unlimit(self):
        for path in self._cgroup_dirs().values():
            try:
                path.rmdir()  # only succeeds once every process in it has exited
            except OSError:
                pass

    async def start(self):
        role = role_of(self.user)
        self.environment = {**self.environment, "JUPYTER_CONFIG_PATH": str(ROLES / role),
                            "LLMLAB_ROLE": role}
        url = await super().start()
        self._limit(self.pid)
        return url

    async def stop(self, now=False):
        await super().stop(now=now)
        self._unlimit()
