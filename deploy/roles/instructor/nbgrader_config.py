"""nbgrader config of the instructor's server on the class hub (deploy/roles/instructor).

The hub puts this folder on JUPYTER_CONFIG_PATH for members of the instructors group. The
course directory (a copy of the repository: solutions/, nbgrader_config.py) is owned by the
instructor; its own nbgrader_config.py is read too when nbgrader runs from inside it.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = os.environ.get("LLMLAB_COURSE_ID", "llmlab")
c.CourseDirectory.root = os.environ.get("LLMLAB_COURSE_DIR", "/srv/llmlab/course")
c.Exchange.root = os.environ.get("LLMLAB_EXCHANGE", "/srv/nbgrader/exchange")
