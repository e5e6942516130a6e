"""The settings a class deployment shares between the one-server hub and Kubernetes.

``deploy/jupyterhub_config.py`` (one server, local unix users) reads them from here, and
``deploy/k8s/values.yaml`` (Zero to JupyterHub) repeats them in its own syntax;
``tests/test_hub.py`` checks that the two agree. Change a value here and in values.yaml.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _course_id():
    """The course id that ``nbgrader_config.py`` sets (read, not executed)."""
    tree = ast.parse((ROOT / "nbgrader_config.py").read_text())
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Attribute)
                and node.targets[0].attr == "course_id"):
            return ast.literal_eval(node.value)
    raise LookupError("nbgrader_config.py sets no CourseDirectory.course_id")


COURSE_ID = _course_id()

# Memory per user. Measured peak of the heaviest lesson, run top to bottom from solutions/
# (`python deploy/measure_memory.py`, see deploy/README.md): 03_pitfalls' kernel at 763 MiB;
# a JupyterLab single-user server with nbgrader's extensions adds 152 MiB. 2 GiB leaves room
# for a second kernel (Validate runs the notebook in one) and for a learner's own
# experiments, and still puts about ten learners on a 24 GiB machine.
MEM_LIMIT = "2G"
MEM_GUARANTEE = "1G"  # Kubernetes only: what the scheduler reserves per learner
CPU_LIMIT = 1.0
CPU_GUARANTEE = 0.25  # Kubernetes only

# Servers idle this long are stopped (their files stay); the culler looks this often.
CULL_TIMEOUT_SECONDS = 3600
CULL_EVERY_SECONDS = 300

# JupyterHub groups that decide which nbgrader extensions a user's server gets.
INSTRUCTOR_GROUP = "instructors"
LEARNER_GROUP = "learners"

# nbgrader's exchange on one server (a folder every user can reach); on Kubernetes, ngshare.
EXCHANGE_ROOT = "/srv/nbgrader/exchange"

# The instructor's course directory on one server: a copy of this repository (solutions/,
# nbgrader_config.py), owned by the instructor and closed to learners.
COURSE_DIR = "/srv/llmlab/course"

# Nothing is fetched from the Hugging Face hub unless a learner asks for a hub model.
USER_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}

# Learners get Assignments and Validate; the instructor also gets formgrader, Create
# Assignment and the course list. These are the JupyterLab plugins and server extensions
# of nbgrader 0.9 that a learner's server has turned off.
INSTRUCTOR_ONLY_LAB_PLUGINS = [
    "nbgrader:formgrader",
    "nbgrader:create-assignment",
    "nbgrader:course-list",
]
INSTRUCTOR_ONLY_SERVER_EXTENSIONS = [
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
]


def mem_bytes(value: str) -> int:
    """``"2G"`` -> 2147483648 (JupyterHub's and KubeSpawner's K/M/G/T suffixes, powers of 1024)."""
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    value = value.strip()
    if value[-1:].upper() in units:
        return int(float(value[:-1]) * units[value[-1].upper()])
    return int(value)
