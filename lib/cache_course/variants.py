"""This course's per-learner variants, on top of :mod:`coursekit.variants`.

A module's visible scenarios (the workload seed, the hot key's traffic, the incident's timing)
use :func:`learner_seed`: the learner's variant of that module, the same in their notebook and
at grading (the grader passes the learner's name into every kernel). The reference learner
(what the build, ``solutions/`` and the course's own tests run as) gets the seed the text
quotes. Every other learner gets one of ``VARIANTS - 1`` seeds from ``FIRST_LEARNER_SEED`` up;
the hidden tests' seeds are all below it (``tests/modules/test_variants.py`` checks that), so
a learner's visible scenario is never a hidden test's.

>>> import os
>>> os.environ["COURSEKIT_LEARNER"] = "reference"
>>> learner_seed("02_stampede", reference=7)
7
>>> os.environ["COURSEKIT_LEARNER"] = "alice"
>>> learner_seed("02_stampede", reference=7) >= FIRST_LEARNER_SEED
True
>>> del os.environ["COURSEKIT_LEARNER"]
"""

from __future__ import annotations

from coursekit.variants import REFERENCE, learner_id, variant

__all__ = ["FIRST_LEARNER_SEED", "SALT", "VARIANTS", "learner_seed", "variant_line"]

#: The course's salt: changing it gives every learner new variants (never change it mid-cohort).
SALT = "cache-under-pressure/1"
#: Variants per module, the reference (variant 0) included.
VARIANTS = 1_000_000
#: The first seed a learner's variant may use; every hidden test's seed is below it.
FIRST_LEARNER_SEED = 10_000


def learner_seed(module: str, reference: int, *, learner: str | None = None) -> int:
    """The seed of ``module``'s visible scenario for ``learner`` (default: this notebook's learner).

    Raises:
        coursekit.variants.VariantError: while grading, when the grader passed no learner.
    """
    k = variant(module, VARIANTS, learner=learner, salt=SALT)
    return int(reference) if k == 0 else FIRST_LEARNER_SEED + k


def variant_line(module: str, seed: int, detail: str = "") -> str:
    """The one line a notebook prints about the learner's variant; ``detail`` names what else the
    seed decides (module 03: the hot user and the outage window).

    >>> import os
    >>> os.environ["COURSEKIT_LEARNER"] = "reference"
    >>> variant_line("03_hol_blocking", 7, "hot user user:0")
    "Variant: the course's reference scenario (seed 7; hot user user:0), the one the text quotes."
    >>> del os.environ["COURSEKIT_LEARNER"]
    """
    who = learner_id()
    what = f"seed {seed}; {detail}" if detail else f"seed {seed}"
    if who == REFERENCE:
        return f"Variant: the course's reference scenario ({what}), the one the text quotes."
    return (f"Your variant ({who}): {what}. Your numbers are your own; the text quotes the reference "
            "scenario, and the hidden tests use other seeds.")
