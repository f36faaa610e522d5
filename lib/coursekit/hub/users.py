"""Real Linux users for the cohort (nbgrader takes the OS user name), with private homes.

``useradd -m`` makes homes 0755 on Debian: a learner could read the instructor's course folder
(hidden tests) and every other learner's work. Every home made or kept here is 0700.
"""

from __future__ import annotations

import os
import pwd
import subprocess

#: Existing accounts below this uid are system accounts: never adopted, never removed.
FIRST_UID = 1000


class UserError(RuntimeError):
    pass


def exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def ensure_user(name: str) -> bool:
    """Create ``name`` (home, own group, bash) unless it exists; make the home 0700. True if created."""
    created = False
    if exists(name):
        entry = pwd.getpwnam(name)
        if entry.pw_uid < FIRST_UID:
            raise UserError(f"{name} is an existing system account (uid {entry.pw_uid}); pick another name")
    else:
        subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name],
                       check=True, capture_output=True, text=True)
        created = True
    entry = pwd.getpwnam(name)
    os.chmod(entry.pw_dir, 0o700)
    return created


def home(name: str) -> str:
    return pwd.getpwnam(name).pw_dir


def remove_user(name: str) -> None:
    """``userdel -r name`` for a course user (never a system account). Missing users are fine."""
    if not exists(name):
        return
    if pwd.getpwnam(name).pw_uid < FIRST_UID:
        raise UserError(f"refusing to remove system account {name}")
    proc = subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
    # userdel exits 12 when only the mail spool was missing; the user and home are gone
    if proc.returncode not in (0, 12) or exists(name):
        raise UserError(f"userdel -r {name} failed: {proc.stderr.strip()}")


def processes_of(name: str) -> list[int]:
    """PIDs of processes whose real uid is ``name``'s (to stop what a test started, by PID)."""
    uid = pwd.getpwnam(name).pw_uid
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                pids.append(int(entry))
        except OSError:
            continue
    return pids
