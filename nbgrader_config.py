"""nbgrader configuration for the llmlab course (used from the repository root)."""

c = get_config()  # noqa: F821 - provided by nbgrader/traitlets when this file is loaded

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"

# Cells that load a model or score a split need more than nbgrader's default 30 s.
# (c.ExecutePreprocessor.timeout is ignored by nbgrader; c.Execute.timeout is what it reads.)
c.Execute.timeout = 120

# Learner copies must not carry the instructor's outputs.
c.ClearOutput.enabled = True
