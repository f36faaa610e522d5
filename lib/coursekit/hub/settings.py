"""The hub's settings: one JSON file in the hub's private state folder, written by :mod:`.setup`.

``jupyterhub_config.py`` (see :mod:`.config`) and the live view read it; it holds paths and
ports, never a password (those live in ``secrets_file``, mode 0600).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

COURSE_ID = "cache-under-pressure"
KERNEL = "cache-under-pressure"
DEFAULT_PREFIX = "/opt/cache-under-pressure"
DEFAULT_STATE = "/var/lib/cache-under-pressure"
DEFAULT_EXCHANGE = "/usr/local/share/nbgrader/exchange"  # nbgrader 0.9.6's own default


@dataclass
class HubSettings:
    learners: list[str]
    instructors: list[str]
    venv: str  # world-readable, non-editable environment built from the lock
    proxy_command: str  # configurable-http-proxy from npm, in a local prefix
    state_dir: str  # root only: database, cookie secret, secrets, pid, log
    shared_config_dir: str  # world-readable Jupyter config every server reads (course id, exchange, kernel)
    learner_config_dir: str  # coursekit's learner Jupyter config (no instructor tools)
    exchange_root: str = DEFAULT_EXCHANGE
    course_id: str = COURSE_ID
    course_dirs: dict[str, str] = field(default_factory=dict)  # instructor -> their private course folder
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    service_port: int = 10101
    ssl_cert: str = ""
    ssl_key: str = ""
    admin_service_token_file: str = ""  # optional: a token for an admin service (the hub test, scripts)

    @property
    def secrets_file(self) -> str:
        return os.path.join(self.state_dir, "passwords.json")

    @property
    def settings_file(self) -> str:
        return os.path.join(self.state_dir, "settings.json")

    @property
    def pid_file(self) -> str:
        return os.path.join(self.state_dir, "jupyterhub.pid")

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_cert else "http"
        return f"{scheme}://{self.ip}:{self.port}/"

    def save(self) -> str:
        path = self.settings_file
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, indent=1, sort_keys=True)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "HubSettings":
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))
