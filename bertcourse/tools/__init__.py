"""Instructor and author commands behind the `bertcourse` command line.

`cli` (the entry point), `doctor` (is this machine ready), `prefetch` (offline copies of the hub
resources), `pretrain` (notebook 03's pipeline as a command), `run` and `notebook_runner`
(execute notebooks headless, or regenerate them in place).

Room rule: tools may import the course room (`bertcourse.course`), lesson modules and the quiz
engine; nothing else in the package imports tools (the facade's lazy `bc.doctor` aside).
"""
