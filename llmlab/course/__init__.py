"""What the course's notebooks use and a practitioner does not: not part of llmlab's API.

:mod:`llmlab.course.checks` holds the hints of the lessons' visible tests. ``import llmlab``
does not import this package; a notebook imports it by name.
"""
