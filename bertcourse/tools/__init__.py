"""Instructor and author commands behind the `bertcourse` command line.

`cli` (the entry point), `doctor` (is this machine ready), `progress` (hand quiz progress in,
report on a class), `prefetch` (offline copies of the hub resources), `pretrain` (notebook 03's
pipeline as a command), `run` and `notebook_runner` (execute notebooks headless, or regenerate
them in place), and the author commands: `dev` with `dev_exercises`, `install_cell` and
`quiz_author`, and `quiz_demo` (the instructor notebook's synthetic class).

Room rule: tools may import the course room (`bertcourse.course`), lesson modules and the quiz
engine; nothing else in the package imports tools (the facade's lazy `bc.doctor` aside).
"""
