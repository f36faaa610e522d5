"""``configure(c, settings.json)``: the whole JupyterHub configuration for a workshop cohort.

The ``jupyterhub_config.py`` that :mod:`.setup` writes into the hub's private state folder is
two lines: it calls :func:`configure` with its settings file. Everything is here, in one place:

* SharedPasswordAuthenticator: learners log in with their roster name and the shared learner
  password; instructors are the hub's admins and must use the (separate, long) admin password;
  only roster names get in (the allow-list);
* the default LocalProcessSpawner runs each server as the learner's own Linux user, from the
  world-readable course environment, opening JupyterLab in the learner's home;
* every server reads the shared Jupyter config (course id, exchange, default kernel); learners'
  servers also read coursekit's learner config first (no Formgrader, Create Assignment, Course
  List or Validate; Assignments stays), and get ``COURSEKIT_MODE=cohort`` (``reveal()`` reads
  no reference answers) and ``COURSEKIT_PROGRESS`` (the file the live view reads);
* the live view, a hub-managed service, visible only to instructors.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .liveview import SERVICE_NAME
from .livedata import PROGRESS_RELATIVE
from .settings import HubSettings

LEARNER_MODE = "cohort"
INSTRUCTOR_MODE = "instructor"
INSTRUCTORS_GROUP = "instructors"


def spawn_environment(settings: HubSettings, name: str, home: str) -> dict[str, str]:
    """The environment variables of ``name``'s single-user server (and so of its kernels and terminals).

    >>> s = HubSettings(learners=["ann"], instructors=["dee"], venv="/v", proxy_command="chp", state_dir="/s",
    ...                 shared_config_dir="/etc/cup", learner_config_dir="/l")
    >>> env = spawn_environment(s, "ann", "/srv/homes/ann")
    >>> env["JUPYTER_CONFIG_PATH"], env["COURSEKIT_MODE"], env["COURSEKIT_PROGRESS"]
    ('/l:/etc/cup', 'cohort', '/srv/homes/ann/.cache/cache-under-pressure/progress.json')
    >>> spawn_environment(s, "dee", "/srv/homes/dee")["JUPYTER_CONFIG_PATH"]
    '/etc/cup'
    """
    instructor = name in settings.instructors
    config_path = [settings.shared_config_dir] if instructor else [settings.learner_config_dir, settings.shared_config_dir]
    return {
        "PATH": os.pathsep.join([os.path.join(settings.venv, "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "JUPYTER_CONFIG_PATH": os.pathsep.join(config_path),
        "COURSEKIT_MODE": INSTRUCTOR_MODE if instructor else LEARNER_MODE,
        "COURSEKIT_PROGRESS": os.path.join(home, PROGRESS_RELATIVE),
    }


def configure(c: Any, settings_path: str) -> HubSettings:
    """Fill JupyterHub's config object ``c`` from the settings file; returns the settings."""
    s = HubSettings.load(settings_path)

    # --- where it listens: 127.0.0.1 unless told otherwise; TLS if given a certificate
    c.JupyterHub.ip = s.ip
    c.JupyterHub.port = s.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = s.hub_port
    if s.ssl_cert:
        c.JupyterHub.ssl_cert = s.ssl_cert
        c.JupyterHub.ssl_key = s.ssl_key
    c.ConfigurableHTTPProxy.command = [s.proxy_command]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
    c.ConfigurableHTTPProxy.should_start = True

    # --- private state
    c.JupyterHub.db_url = "sqlite:///" + os.path.join(s.state_dir, "jupyterhub.sqlite")
    c.JupyterHub.cookie_secret_file = os.path.join(s.state_dir, "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = s.pid_file
    c.JupyterHub.cleanup_servers = True  # stopping the hub stops every learner's server

    # --- who gets in
    secrets = json.loads(open(s.secrets_file, encoding="utf-8").read())
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = secrets["user_password"]
    c.SharedPasswordAuthenticator.admin_password = secrets["admin_password"]
    c.Authenticator.allowed_users = set(s.learners) | set(s.instructors)
    c.Authenticator.admin_users = set(s.instructors)
    c.JupyterHub.load_groups = {INSTRUCTORS_GROUP: {"users": list(s.instructors)}}

    # --- each learner's server: their own Linux user, the course environment, their home
    c.Spawner.cmd = [os.path.join(s.venv, "bin", "jupyterhub-singleuser")]
    c.Spawner.default_url = "/lab"
    c.Spawner.notebook_dir = "~"
    c.Spawner.start_timeout = 180
    c.Spawner.http_timeout = 180

    def pre_spawn_hook(spawner: Any) -> None:
        import pwd

        name = spawner.user.name
        home = pwd.getpwnam(name).pw_dir
        spawner.environment = {**spawner.environment, **spawn_environment(s, name, home)}

    c.Spawner.pre_spawn_hook = pre_spawn_hook

    # --- the facilitator's live view: a hub-managed service, instructors only
    services = [
        {
            "name": SERVICE_NAME,
            "url": f"http://127.0.0.1:{s.service_port}",
            "command": [os.path.join(s.venv, "bin", "python"), "-m", "coursekit.hub.liveview", s.settings_file],
            "oauth_no_confirm": True,
            "display": True,
        }
    ]
    roles = [
        {
            "name": "live-view-viewer",
            "groups": [INSTRUCTORS_GROUP],
            "scopes": [f"access:services!service={SERVICE_NAME}"],
        }
    ]
    if s.admin_service_token_file:
        token = open(s.admin_service_token_file, encoding="utf-8").read().strip()
        services.append({"name": "cup-admin", "api_token": token})
        roles.append({
            "name": "cup-admin",
            "services": ["cup-admin"],
            "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "access:services", "list:users"],
        })
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
    return s
