# nbgrader configuration for "Cache Under Pressure".
#
# `python -m coursekit.build --instructor DIR` copies this file to DIR/nbgrader_config.py next to
# DIR/source/<module>/<module>.ipynb; run nbgrader from DIR (see course/INSTRUCTORS.md).
# nbgrader is used unchanged: the two custom preprocessors live in coursekit.nbgrader_ext and are
# only plugged in here.
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from coursekit.nbgrader_ext import ExecuteWithDeadline, StripHiddenTestTracebacks

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "cache-under-pressure"

# --- autograde: a timeout per cell and a budget per notebook ------------------------------
CELL_TIMEOUT = 60  # seconds; every cell of the reference solutions runs in well under 5 s
NOTEBOOK_TIMEOUT = 300  # seconds for the whole notebook; cells after the budget are not run

c.Execute.timeout = CELL_TIMEOUT
c.Execute.interrupt_on_timeout = True
c.ExecuteWithDeadline.notebook_timeout = NOTEBOOK_TIMEOUT
c.Autograde.autograde_preprocessors = [
    ExecuteWithDeadline,  # nbgrader's Execute + the notebook budget
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40

# --- feedback: never show hidden-test source, nor a traceback that quotes it ---------------
c.GenerateFeedback.preprocessors = [
    GetGrades,
    StripHiddenTestTracebacks,  # must run before ClearHiddenTests: it needs the markers
    ClearHiddenTests,
    CSSHTMLHeaderPreprocessor,
]
