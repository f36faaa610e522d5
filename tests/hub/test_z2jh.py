"""The Zero to JupyterHub files parse, and the image installs exactly the lock (no cluster here)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
Z2JH = ROOT / "docs" / "z2jh"


def test_config_yaml_parses_and_keeps_the_cohort_rules():
    values = yaml.safe_load((Z2JH / "config.yaml").read_text())
    hub = values["hub"]
    assert hub["config"]["JupyterHub"]["authenticator_class"] == "shared-password"
    auth = hub["config"]["Authenticator"]
    assert set(auth["admin_users"]) <= set(auth["allowed_users"])
    assert "user_password" not in str(hub["config"]), "passwords go in --set or a secret, never in the file"
    assert hub["loadRoles"]["live-view-viewer"]["scopes"] == ["access:services!service=live-view"]
    ast.parse(hub["extraConfig"]["cohort.py"])  # the hub's extra config is valid Python
    mounts = {m["mountPath"] for m in values["singleuser"]["storage"]["extraVolumeMounts"]}
    assert "/usr/local/share/nbgrader/exchange" in mounts, "nbgrader's exchange needs the shared volume"
    assert values["singleuser"]["defaultUrl"] == "/lab"


def test_image_installs_the_lock_then_lib_non_editable():
    steps = [line.strip() for line in (Z2JH / "Dockerfile").read_text().splitlines() if line.strip().startswith(("RUN", "COPY", "FROM"))]
    text = "\n".join(steps)
    assert re.search(r"pip install --no-cache-dir -r \S*requirements\.lock", text)
    assert re.search(r"pip install --no-cache-dir --no-deps /tmp/cup\b", text)
    assert "-e " not in text and "--editable" not in text
    copied = " ".join(s for s in steps if s.startswith("COPY"))
    for secret in ("course", "solutions", "tests"):
        assert not re.search(rf"\b{secret}\b", copied), f"the image must not contain {secret}/"
    python = re.search(r"FROM python:(\d+\.\d+)", text).group(1)
    assert python == "3.11", "the course's pyproject requires Python 3.11"
