"""templates/learner-ci.yml calls the grading command with options that exist, for modules that exist."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from coursekit.build import MODULES
from coursekit.cli import build_parser

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "learner-ci.yml"


def test_learner_ci_template_grades_the_modules_it_names_with_real_options():
    job = yaml.safe_load(TEMPLATE.read_text())["jobs"]["grade"]
    env = job["env"]
    assert set(env["MODULES"].split()) <= set(MODULES), env["MODULES"]
    run = next(step["run"] for step in job["steps"] if step.get("name") == "Grade")
    # expand it as the runner's bash would, then parse it with coursekit's own parser
    expanded = subprocess.run(["bash", "-c", f"printf '%s\\n' {run}"],
                              env={"PASS_MARK": env["PASS_MARK"], "MODULES": env["MODULES"], "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, check=True).stdout.split("\n")
    argv = [a for a in expanded if a]
    assert argv[:2] == ["coursekit", "grade"], argv
    args = build_parser().parse_args(argv[1:])
    assert args.modules == env["MODULES"].split() and args.fail_under == float(env["PASS_MARK"])
