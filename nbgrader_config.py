"""nbgrader configuration for the llmlab course (used from the repository root)."""

import os

c = get_config()  # noqa: F821 - provided by nbgrader/traitlets when this file is loaded

# The course root is the folder of this file (traitlets defines __file__ while loading it).
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
# The course id students use with `nbgrader fetch_assignment ... --course llmlab`.
c.CourseDirectory.course_id = "llmlab"

# Cells that load a model or score a split need more than nbgrader's default 30 s.
# (c.ExecutePreprocessor.timeout is ignored by nbgrader; c.Execute.timeout is what it reads.)
c.Execute.timeout = 120

# Learner copies must not carry the instructor's outputs.
c.ClearOutput.enabled = True
