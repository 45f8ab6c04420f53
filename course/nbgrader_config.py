"""nbgrader configuration of the kubelab course (run nbgrader from this directory).

Every lesson starts its own sandbox under NBGRADER_EXECUTION (see kubelab.connect), so
submissions do not share a cluster. Plain `nbgrader autograde` run from here still executes
graded cells in the student's kernel; `kubelab grade` scores them from outside the kernel, in
a scratch folder per submission (README: threat model). Test cells wait a bounded time for the
cluster to converge, hence the longer timeout for graded cells.
"""

c = get_config()  # noqa: F821  (nbgrader injects get_config)

c.CourseDirectory.course_id = "kubelab"
c.CourseDirectory.root = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."

# Solution regions become an empty line. Each answer cell carries its own placeholder above
# the region, which the student version keeps: `name = ...  # your answer: …` (Python's
# Ellipsis, which the checks report as "not answered yet") or a comment saying the task, valid
# both as Python and as the YAML body of a %%kubectl cell. So a fresh notebook runs from top
# to bottom, and the instructor's version (placeholder, then solution) still earns full marks.
c.ClearSolutions.code_stub = {"python": ""}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell timeouts (seconds): graded cells may wait for the cluster; others should be quick.
c.Execute.timeout_func = lambda cell: (
    120 if cell.get("metadata", {}).get("nbgrader", {}).get("grade") else 90)
c.Execute.timeout = 90
c.Execute.startup_timeout = 60
c.ExecutePreprocessor.kernel_name = "python3"
# Kernels started side by side can race for a TCP port and die before replying. nbgrader
# 0.9.6 declares Execute.execute_retries but never reads it, so `kubelab grade` retries such
# runs itself (autograders/nbgrading.py); plain `nbgrader autograde` does not.

# A library warning on stderr must not cost a student points (the engine captures its own).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?:\S+Warning: |WARNING:|W\d{4} )"
