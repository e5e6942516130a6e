"""JupyterHub for one llmlab class on one server: local unix users, nbgrader's exchange folder.

Run as root (the hub starts each user's server as that unix user), from the course's venv,
installed where every user can read it (deploy/README.md, "Where to install for a class"):

    sudo /opt/llmlab/.venv/bin/jupyterhub -f /opt/llmlab/deploy/jupyterhub_config.py

Every value that differs between a real class and the test (tests/test_hub.py) comes from an
environment variable with a class default; the shared settings live in deploy/settings.py.

    LLMLAB_HUB_STATE      folder of the hub's database and cookie secret   /srv/llmlab/hub
    LLMLAB_HUB_IP/PORT    where the proxy listens                          0.0.0.0:8000
    LLMLAB_EXCHANGE       nbgrader's exchange root                         /srv/nbgrader/exchange
    LLMLAB_COURSE_DIR     the instructor's course directory                /srv/llmlab/course
    LLMLAB_INSTRUCTORS    comma-separated instructor logins                (none)
    LLMLAB_LEARNERS       comma-separated learner logins                   (none: add them later)
    LLMLAB_AUTH           "pam" (unix passwords) or "shared-password"      pam
    LLMLAB_SHARED_PASSWORD  the password of "shared-password" (tests only)
    LLMLAB_ADMIN_TOKEN    an API token for scripts with the admin role     (none)
    LLMLAB_CHP            path of configurable-http-proxy                  deploy/node_modules/...
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import reach  # noqa: E402
import settings  # noqa: E402

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

env = os.environ.get
state = Path(env("LLMLAB_HUB_STATE", "/srv/llmlab/hub"))
state.mkdir(parents=True, exist_ok=True)
os.chmod(state, 0o700)
venv_bin = Path(sys.executable).parent

# --- the hub and its proxy -------------------------------------------------------------------
c.JupyterHub.ip = env("LLMLAB_HUB_IP", "0.0.0.0")
c.JupyterHub.port = int(env("LLMLAB_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
if env("LLMLAB_HUB_API_PORT"):
    c.JupyterHub.hub_port = int(env("LLMLAB_HUB_API_PORT"))
# Everything the hub knows is on disk: users, groups, tokens, running servers. A restart
# (upgrade, reboot) loses nothing; nbgrader's gradebook and exchange are files too.
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
# A restart of the hub leaves the users' servers (and their kernels) running; the new hub
# finds them again from the database.
c.JupyterHub.cleanup_servers = False
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
chp = env("LLMLAB_CHP") or str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")
if Path(chp).exists():
    c.ConfigurableHTTPProxy.command = [chp]
c.ConfigurableHTTPProxy.auth_token = env("LLMLAB_PROXY_TOKEN") or os.urandom(24).hex()
if env("LLMLAB_PROXY_API_PORT"):
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('LLMLAB_PROXY_API_PORT')}"

# --- who may log in, and their roles ---------------------------------------------------------
instructors = [u for u in env("LLMLAB_INSTRUCTORS", "").split(",") if u]
learners = [u for u in env("LLMLAB_LEARNERS", "").split(",") if u]
if env("LLMLAB_AUTH", "pam") == "shared-password":
    # Tests only: anybody who knows the password may log in as any listed user.
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = env("LLMLAB_SHARED_PASSWORD")
else:
    # Unix accounts and passwords; an admin who adds a user in the admin page (or with
    # POST /hub/api/users/NAME) also creates the unix account.
    c.JupyterHub.authenticator_class = "pam"
    c.LocalAuthenticator.create_system_users = True
c.Authenticator.allowed_users = set(instructors + learners)
# Users added later through the admin page or the REST API are allowed too (JupyterHub 5+).
c.Authenticator.allow_existing_users = True
c.Authenticator.admin_users = set(instructors)
c.JupyterHub.load_groups = {
    settings.INSTRUCTOR_GROUP: {"users": instructors},
    settings.LEARNER_GROUP: {"users": learners},
}
services, roles = [], []
if env("LLMLAB_ADMIN_TOKEN"):
    services.append({"name": "llmlab-admin", "api_token": env("LLMLAB_ADMIN_TOKEN")})
    roles.append({"name": "admin", "services": ["llmlab-admin"]})

# --- each user's server ---------------------------------------------------------------------
c.JupyterHub.spawner_class = "llmlab_spawner.ClassSpawner"
c.Spawner.cmd = [str(venv_bin / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.mem_limit = settings.MEM_LIMIT
c.Spawner.cpu_limit = settings.CPU_LIMIT
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    **settings.USER_ENV,
    "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
    "LLMLAB_COURSE_ID": settings.COURSE_ID,
    "LLMLAB_EXCHANGE": env("LLMLAB_EXCHANGE", settings.EXCHANGE_ROOT),
    "LLMLAB_COURSE_DIR": env("LLMLAB_COURSE_DIR", settings.COURSE_DIR),
}

# Each server runs as its user, so that user must reach the environment and the course files:
# a checkout in a private folder would fail every spawn, so the hub refuses to start instead.
# Only root spawns other users (as anyone else, LocalProcessSpawner runs the hub's own user).
if os.geteuid() == 0:
    blocked = reach.problem(
        reach.class_needs(python=venv_bin / "python", singleuser=Path(c.Spawner.cmd[0]),
                          roles=HERE / "roles",
                          exchange=Path(c.Spawner.environment["LLMLAB_EXCHANGE"])),
        instructors + learners, checkout=HERE.parent)
    if blocked:
        print(blocked, file=sys.stderr, flush=True)
        raise SystemExit(1)  # not an Exception: traitlets would log it and start anyway

# --- idle servers are stopped (their files stay) ---------------------------------------------
if env("LLMLAB_CULL", "1") == "1":
    services.append({
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                    f"--timeout={settings.CULL_TIMEOUT_SECONDS}",
                    f"--cull-every={settings.CULL_EVERY_SECONDS}"],
    })
    roles.append({
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    })
c.JupyterHub.services = services
c.JupyterHub.load_roles = roles
