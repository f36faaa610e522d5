"""Question registries, one Python module per course module.

`coursekit.modules.m<id>` defines `MODULE = Module(...)` for the notebook `course/<id>.py`
(`01_lru` → `m01_lru`); `coursekit.questions.load_module(id)` finds it. Each question id `q`
is the nbgrader `grade_id` of its answer cell; for code questions the locked autograder test
cell `test_q` runs `assert check("q")` before its hidden tests. Written (reflective) answers
have no test cell: they are graded by hand, and `check` answers them with rubric questions.
"""
