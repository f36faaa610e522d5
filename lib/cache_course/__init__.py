"""Cache Under Pressure's content: one module (or subpackage) per course module, and its rubrics.

coursekit finds this package through the entry point ``coursekit.content`` (pyproject.toml)
and reads :data:`MODULES` and :data:`RUBRICS`; coursekit itself imports no course.

* :mod:`cache_course.lab` — the lab-bench scaffolding every module shares;
* :mod:`cache_course.m00_orientation` … :mod:`cache_course.m04_many_servers` — each question
  once: assertion helpers (seeded), visible checks, hints; each ends with ``QUESTIONS``;
* :mod:`cache_course.rubrics` — ``wip_pr``, ``review_reply``, ``apology``.

See ``docs/authoring.md`` to add a question.
"""

from __future__ import annotations

from . import m00_orientation, m01_lru, m02_stampede, m03_hol_blocking, m04_many_servers, m05_ship_safely
from . import m06_incident, m07_afterwards
from .rubrics import RUBRICS

#: The course's modules, in order.
MODULES = [m00_orientation.MODULE, m01_lru.MODULE, m02_stampede.MODULE, m03_hol_blocking.MODULE,
           m04_many_servers.MODULE, m05_ship_safely.MODULE, m06_incident.MODULE, m07_afterwards.MODULE]

__all__ = ["MODULES", "RUBRICS"]
