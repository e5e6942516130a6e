"""nbgrader config of a learner's server on the class hub (deploy/roles/learner).

The hub puts this folder on JUPYTER_CONFIG_PATH for every user outside the instructors group.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = os.environ.get("LLMLAB_COURSE_ID", "llmlab")
c.Exchange.root = os.environ.get("LLMLAB_EXCHANGE", "/srv/nbgrader/exchange")
