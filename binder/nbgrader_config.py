# nbgrader settings for the student's Validate button on Binder (copied to ~/.jupyter by
# postBuild: the Validate handler reads nbgrader_config.py from the server's working
# directory and the Jupyter config path, not from the notebook's folder). Keep these in step
# with course/nbgrader_config.py.
c = get_config()  # noqa: F821

c.Execute.timeout_func = lambda cell: (
    120 if cell.get("metadata", {}).get("nbgrader", {}).get("grade") else 90)
c.Execute.timeout = 90
c.Execute.startup_timeout = 60
c.ExecutePreprocessor.kernel_name = "python3"
