"""The facilitator's live view: a hub-managed JupyterHub service, instructors only.

Started by the hub (``c.JupyterHub.services``, see :mod:`coursekit.hub.config`) as
``python -m coursekit.hub.liveview SETTINGS.json``; it runs as the hub's user (root) so it
can read every learner's progress file in their private home. Pages:

* ``/services/live-view/`` — the table (learner × module × question), refreshed every few
  seconds in the browser;
* ``/services/live-view/api/state`` — the same as JSON (:func:`coursekit.hub.livedata.snapshot`).

Who may look: JupyterHub only issues this service's OAuth token to users holding
``access:services!service=live-view`` (instructors: the hub's admins and the
``instructors`` group); the handler also checks the name against the roster's instructors.
Anyone else gets 403.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
from typing import Any
from urllib.parse import urlparse

from . import livedata

SERVICE_NAME = "live-view"
POLL_SECONDS = 2.0


class LiveState:
    """The data behind the page: re-read on a timer so failed checks are counted between views."""

    def __init__(self, learners: list[str], exchange_root: str, course_id: str, modules: list[tuple[str, list[str]]]):
        self.learners = learners
        self.exchange_root = exchange_root
        self.course_id = course_id
        self.modules = modules
        self.counter = livedata.FailureCounter()
        self.latest: dict[str, Any] = {}
        self.refresh()

    def refresh(self) -> dict[str, Any]:
        homes = livedata.learner_homes(self.learners)
        progress = livedata.read_all(self.learners, homes)
        for name, (data, _note) in progress.items():
            self.counter.observe(name, data)
        submissions = livedata.read_submissions(self.exchange_root, self.course_id)
        self.latest = livedata.snapshot(self.learners, self.modules, progress, submissions, self.counter)
        return self.latest


ICON = {"passed": "✓", "answered": "✎", "attempted": "✗", "not started": "·"}
CSS = """
body{font-family:system-ui,sans-serif;margin:1em}
table{border-collapse:collapse;font-size:0.9em}
th,td{border:1px solid #d0d7de;padding:2px 6px;text-align:center}
th.l,td.l{text-align:left}
.passed{background:#dafbe1}.answered{background:#ddf4ff}.attempted{background:#fff8c5}
.stuck{background:#ffcecb;font-weight:bold}
.sub{color:#57606a;font-size:0.85em}
"""


def render_table(state: dict[str, Any]) -> str:
    """The table as an HTML fragment (escaped; the page swaps it in on every poll)."""
    e = html.escape
    modules = state["modules"]
    head1 = "<th class='l' rowspan='2'>learner</th><th rowspan='2'>done</th>" + "".join(
        f"<th colspan='{len(m['questions']) + 1}'>{e(m['id'])}</th>" for m in modules
    )
    head2 = "".join(
        "".join(f"<th>{e(q)}</th>" for q in m["questions"]) + "<th>submitted</th>" for m in modules
    )
    rows = []
    for row in state["learners"]:
        cells = [f"<td class='l'>{e(row['learner'])}" + (f" <span class='sub'>({e(row['note'])})</span>" if row["note"] else "") + "</td>",
                 f"<td>{row['done']}/{row['total']}</td>"]
        for m in modules:
            mod = row["modules"][m["id"]]
            for q in m["questions"]:
                cell = mod["questions"][q]
                status = cell["status"]
                klass = "stuck" if cell["stuck"] else status.replace(" ", "-")
                failed = f" {cell['failed_checks']}" if cell["failed_checks"] else ""
                title = f"{status}; {cell['failed_checks']} failed checks; updated {cell['updated'] or 'never'}"
                cells.append(f"<td class='{klass}' title='{e(title)}'>{ICON.get(status, '?')}{failed}</td>")
            sub = mod["submitted"]
            cells.append(f"<td class='sub'>{e(sub[:19]) if sub else '—'}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    stuck = [f"{r['learner']}: {', '.join(r['stuck'])}" for r in state["learners"] if r["stuck"]]
    stuck_line = (
        "<p class='stuck'>Stuck (" + str(livedata.STUCK_AFTER) + "+ failed checks, no pass): " + e("; ".join(stuck)) + "</p>"
        if stuck
        else "<p>Nobody is stuck.</p>"
    )
    return (
        f"<p class='sub'>updated {e(state['generated'])} · ✓ passed · ✎ answered (graded by hand) · "
        f"✗N attempted, N failed checks · · not started</p>{stuck_line}"
        f"<table><thead><tr>{head1}</tr><tr>{head2}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Cache Under Pressure: live view</title>
<style>{css}</style></head><body><h1>Cache Under Pressure: live view</h1>
<div id="view">{table}</div>
<script>
async function poll() {{
  try {{
    const r = await fetch("{prefix}api/fragment", {{credentials: "same-origin"}});
    if (r.ok) document.getElementById("view").innerHTML = await r.text();
  }} catch (e) {{}}
}}
setInterval(poll, {every_ms});
</script></body></html>"""


def make_app(state: LiveState, instructors: set[str], prefix: str):
    """The tornado application (imports jupyterhub and tornado only here)."""
    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
    from tornado import web

    class Base(HubOAuthenticated, web.RequestHandler):
        def instructor(self) -> None:
            user = self.current_user
            if not user or user.get("name") not in instructors:
                raise web.HTTPError(403, "the live view is for instructors only")

    class Page(Base):
        @web.authenticated
        def get(self):
            self.instructor()
            table = render_table(state.refresh())
            self.finish(PAGE.format(css=CSS, table=table, prefix=prefix, every_ms=int(POLL_SECONDS * 2500)))

    class Fragment(Base):
        @web.authenticated
        def get(self):
            self.instructor()
            self.finish(render_table(state.refresh()))

    class State(Base):
        @web.authenticated
        def get(self):
            self.instructor()
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(state.refresh()))

    return web.Application(
        [
            (prefix, Page),
            (prefix + "api/fragment", Fragment),
            (prefix + "api/state", State),
            (prefix + "oauth_callback", HubOAuthCallbackHandler),
        ],
        cookie_secret=os.urandom(32),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the facilitator's live view (started by the hub)")
    parser.add_argument("settings", help="the hub's settings.json (coursekit.hub.setup)")
    args = parser.parse_args(argv)
    from tornado.ioloop import IOLoop, PeriodicCallback

    from ..questions import all_modules
    from .settings import HubSettings

    settings = HubSettings.load(args.settings)
    modules = [(m.id, [q.id for q in m.questions]) for m in all_modules()]
    state = LiveState(list(settings.learners), settings.exchange_root, settings.course_id, modules)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/")
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", f"http://127.0.0.1:{settings.service_port}"))
    app = make_app(state, set(settings.instructors), prefix)
    app.listen(url.port or 80, address=url.hostname or "127.0.0.1")
    PeriodicCallback(state.refresh, POLL_SECONDS * 1000).start()
    print(f"live view on {url.geturl()} (prefix {prefix})", file=sys.stderr, flush=True)
    try:
        IOLoop.current().start()
    except KeyboardInterrupt:  # the hub stops its services with SIGINT
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
