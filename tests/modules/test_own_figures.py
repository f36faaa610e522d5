"""A learner's completion summary shows their own figures from every module (issue 14).

Through the public path: the learner's answer in a namespace, `check()`, then
`cache_course.summary.write_summary`. For each of modules 00-05 the reference solution's pass
records figures measured from that code, and the HTML page shows them with where they came from;
a wrong or raising answer records none (and its check still reports normally); and different
passing code gives different figures, so they are the learner's own. Modules 06 and 07 already
show the learner's own incident (tests/modules/test_m07_afterwards.py).
"""

from __future__ import annotations

import asyncio
import functools
import re

import pytest
from cache_course.m01_lru import ReferenceLRU
from modules_harness import edited_answer, reference_answer, run_question

from coursekit import check
from coursekit.completion import _fmt
from coursekit.display import esc
from coursekit.figures import load_figures

pytestmark = pytest.mark.slow

#: the measured questions: module -> questions whose check records figures
MEASURED = {
    "00_orientation": ("warmup",),
    "01_lru": ("lru_basic",),
    "02_stampede": ("singleflight", "swr"),
    "03_hol_blocking": ("threshold",),
    "04_many_servers": ("many_servers",),
    "05_ship_safely": ("prewarm", "canary_judge"),
}
CASES = [(m, q) for m, qs in MEASURED.items() for q in qs]


@functools.lru_cache(maxsize=None)
def _reference_ns(module: str, question: str) -> dict:
    """The notebook's namespace with the reference answer, up to the question's test cell."""
    if module == "04_many_servers":  # the earlier cells start Redis; this question needs none
        from swrcache.redis import FencedOut, VersionConflict

        ns = {"__name__": "__main__", "asyncio": asyncio, "FencedOut": FencedOut, "VersionConflict": VersionConflict}
        exec(compile(reference_answer(module, question), f"<{module}:{question}>", "exec"), ns)
        return ns
    out = run_question(module, question)
    assert out.error is None and out.visible_passed, (module, question, out.error)
    return out.ns


def _check(module: str, question: str, **replace) -> object:
    """check() on the reference namespace with some names replaced, after forgetting any figures."""
    from coursekit.figures import figures_path

    figures_path().unlink(missing_ok=True)
    ns = dict(_reference_ns(module, question), **replace)
    return check(f"{module}:{question}", ns=ns, quiet=True)


def _section(page: str, module: str) -> str:
    [section] = [s for s in page.split("<section")[1:] if f"<h2>{module} " in s]
    return section


def _summary(tmp_path) -> str:
    from cache_course.summary import write_summary

    return write_summary(path=tmp_path / "summary.html").read_text()


def _figures(module: str, question: str) -> list[dict]:
    return [f for f in load_figures().get(module, []) if f.get("question") == question]


def _numbers(figures: list[dict]) -> list:
    return [(f["name"], f["before"], f["after"]) for f in figures]


@pytest.mark.parametrize("module,question", CASES)
def test_the_reference_pass_records_figures_the_summary_shows_as_the_learners_own(module, question, tmp_path):
    assert _check(module, question).status == "passed"
    figures = _figures(module, question)
    assert figures, f"check({question!r}) passed but recorded no figures"
    assert all(f["source"].startswith("your ") and f["source"].endswith(f'measured when check("{question}") passed')
               for f in figures)
    assert all(f["after"] is not None for f in figures)
    section = _section(_summary(tmp_path), module)
    for f in figures:  # each figure's row shows its before and after as the page formats them
        row = section.split(esc(f["name"]), 1)[1].split("</tr>", 1)[0]
        cells = re.findall(r"<td class='n'>([^<]*)</td>", row)
        assert cells == [esc(_fmt(f["before"], f["unit"])), esc(_fmt(f["after"], f["unit"]))], row
    assert f"measured when check(&quot;{question}&quot;) passed" in section
    assert "course&#x27;s bench" not in section and "No figures recorded" not in section


def test_the_reference_figures_are_the_scenarios_numbers():
    """What the reference solution measures, per module (the numbers the report quotes)."""
    got: dict[str, dict] = {}
    for module, question in CASES:
        assert _check(module, question).status == "passed"
        got.setdefault(module, {}).update({f["name"]: (f["before"], f["after"]) for f in _figures(module, question)})
    assert got["00_orientation"]["database reads, one hour of session traffic"] == (18281, 1504)
    assert got["01_lru"]["database reads, your LRU of 64 sessions"] == (3000, 45)
    assert got["02_stampede"]["database calls (singleflight)"] == (897, 192)
    assert got["02_stampede"]["p99 (singleflight)"] == (834.7, 90.1)
    assert got["02_stampede"]["database calls (stale-while-revalidate)"] == (897, 192)
    assert got["02_stampede"]["p99 (stale-while-revalidate)"] == (834.7, 0.0)
    assert got["03_hol_blocking"]["p99"] == (1924.7, 100.0)
    assert got["03_hol_blocking"]["database calls"] == (94, 94)
    assert got["04_many_servers"]["database calls"] == (472, 121)
    assert got["05_ship_safely"]["critical users' cold-start p99"] == (40.0, 0.0)
    assert got["05_ship_safely"]["failed reads served by the flaky canary"] == (453, 8)


class _Raises:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("half-finished")


async def _no_coalescing(self, key, fn):
    return await fn()  # every caller loads: the check counts the loads


async def _no_lease(self, key):
    return await self.load(key)  # every server loads on its own: the check counts the calls


def _wrong(module: str, question: str) -> dict:
    """An answer that fails (or raises in) the question's visible check."""
    ns = _reference_ns(module, question)
    if module == "00_orientation":
        return {"SESSION_TTL_SECONDS": 15}
    if module == "01_lru":
        return {"SessionCache": _Raises}
    if question == "singleflight":
        return {"Singleflight": type("Singleflight", (), {"do": _no_coalescing})}
    if module == "02_stampede":
        naive = ns["NaiveCache"]
        return {"StaleWhileRevalidate": type("StaleWhileRevalidate", (naive,), {
            "__init__": lambda self, loader, *, ttl, stale_ttl: naive.__init__(self, loader, ttl=ttl)})}
    if module == "03_hol_blocking":
        return {"ThresholdCache": _Raises}
    if module == "04_many_servers":
        return {"LeasedLoader": type("LeasedLoader", (ns["LeasedLoader"],), {"__call__": _no_lease})}
    if question == "prewarm":
        prewarm = ns["Prewarm"]
        return {"prewarm_plan": lambda keys, headroom, ready: prewarm(list(keys), rate=headroom + 10, burst=1,
                                                                       gate=True)}
    return {"judge_canary": lambda control, canary: "promote"}


@pytest.mark.parametrize("module,question", CASES)
def test_a_wrong_or_raising_answer_records_nothing_and_its_check_still_reports(module, question, tmp_path):
    report = _check(module, question, **_wrong(module, question))
    assert report.status in ("failed", "error"), report.text()
    assert report.results and report.results[-1].status == report.status
    assert _figures(module, question) == []
    section = _section(_summary(tmp_path), module)
    assert "measured when check(" not in section
    if module in ("02_stampede", "03_hol_blocking"):  # the library's code on the bench, and says so
        assert "the course&#x27;s bench (seed 7) with the library&#x27;s code, not yours" in section
    else:
        assert "No figures yet: they are measured from your own code when check(&quot;" in section


# --------------------------------------------------------------------------- different code, different figures


def _variant(module: str, question: str) -> dict:
    """Different code that still passes the visible check."""
    ns = _reference_ns(module, question)
    if module == "01_lru":
        return {"SessionCache": ReferenceLRU}  # an OrderedDict LRU, not the reference's linked list
    if module == "04_many_servers":  # writes the shared entry with half the TTL: more loads, still within the bound
        ns = {"__name__": "__main__", "asyncio": asyncio, "FencedOut": ns["FencedOut"],
              "VersionConflict": ns["VersionConflict"]}
        exec(edited_answer(module, question, ("ttl=self.ttl, token", "ttl=self.ttl / 2, token")), ns)
        return {"LeasedLoader": ns["LeasedLoader"]}
    assert question == "prewarm"
    prewarm = ns["Prewarm"]
    return {"prewarm_plan": lambda keys, headroom, ready: prewarm(list(keys), rate=(headroom - 1) / 2, burst=1,
                                                                   gate=True)}


@pytest.mark.parametrize("module,question", [("01_lru", "lru_basic"), ("04_many_servers", "many_servers"),
                                             ("05_ship_safely", "prewarm")])
def test_different_passing_code_records_different_figures(module, question, tmp_path):
    assert _check(module, question).status == "passed"
    reference = _numbers(_figures(module, question))
    assert _check(module, question, **_variant(module, question)).status == "passed"
    variant = _numbers(_figures(module, question))
    assert [n for n, _, _ in variant] == [n for n, _, _ in reference]
    assert variant != reference
    assert f"measured when check(&quot;{question}&quot;) passed" in _section(_summary(tmp_path), module)


def test_modules_whose_checks_pin_the_numbers_measure_whatever_code_they_are_given():
    """00 (only 900 passes), 02 and 03 (a passing answer matches the reference exactly in the scenario) and
    the canary judge: their hooks still measure the namespace's code, not a constant."""
    from cache_course.m00_orientation import warmup_figures
    from cache_course.m02_stampede.singleflight import singleflight_figures
    from cache_course.m02_stampede.swr import swr_figures
    from cache_course.m03_hol_blocking.threshold import threshold_figures
    from cache_course.m05_ship_safely.judge import judge_figures

    def measured(hook, module, question, **replace):
        return _numbers([f.__dict__ for f in hook(dict(_reference_ns(module, question), **replace))])

    assert measured(warmup_figures, "00_orientation", "warmup", SESSION_TTL_SECONDS=60) != measured(
        warmup_figures, "00_orientation", "warmup")
    for hook, question in ((singleflight_figures, "singleflight"), (swr_figures, "swr")):
        assert measured(hook, "02_stampede", question, **_wrong("02_stampede", question)) != measured(
            hook, "02_stampede", question)
    ref = _reference_ns("03_hol_blocking", "threshold")["ThresholdCache"]

    def __init__(self, loader, *, ttl, stale_ttl, wait_threshold):  # fails the check: it waits too little
        ref.__init__(self, loader, ttl=ttl, stale_ttl=stale_ttl, wait_threshold=wait_threshold / 2)

    half = type("ThresholdCache", (ref,), {"__init__": __init__})
    assert measured(threshold_figures, "03_hol_blocking", "threshold", ThresholdCache=half)[0] == ("p99", 1924.7, 50.0)
    always_halt = {"judge_canary": lambda control, canary: "halt"}
    assert measured(judge_figures, "05_ship_safely", "canary_judge", **always_halt) != measured(
        judge_figures, "05_ship_safely", "canary_judge")


def test_stale_while_revalidate_is_measured_on_the_courses_singleflight_and_says_so():
    """As its check grades it: the learner's own Singleflight has its own figures (question singleflight)."""
    assert _check("02_stampede", "swr").status == "passed"
    assert all(f["source"] == 'your StaleWhileRevalidate on the course\'s Singleflight, measured when check("swr") '
               'passed' for f in _figures("02_stampede", "swr"))
