"""A workshop cohort on one JupyterHub: roster, Linux users, hub config, the facilitator's live view.

``make hub ROSTER=path`` (as root) runs :mod:`coursekit.hub.cli`. The pieces:

* :mod:`.roster` — the roster file: learner and instructor names;
* :mod:`.users` — real Linux users with private (0700) homes;
* :mod:`.setup` — the world-readable, non-editable environment, the proxy, the exchange,
  the instructor's course folder, secrets, and the settings file the hub config reads;
* :mod:`.config` — ``configure(c, settings)`` for ``jupyterhub_config.py``;
* :mod:`.livedata` — what the live view shows (pure, unit-tested), read from each learner's
  progress file and nbgrader's exchange inbound;
* :mod:`.liveview` — the live view itself, a hub-managed tornado service, instructors only.

This subpackage imports jupyterhub only inside :mod:`.config` and :mod:`.liveview`.
"""
