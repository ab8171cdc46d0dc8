"""The course room: what every lesson, quiz and command stands on.

`paths` (the learner's course home and the shipped data), `registry` (every model and dataset,
named once), `profiles` (laptop or gpu, and what stands in for what), `resources` (loading by
registry key), `formats` (reading and writing the local dataset layouts), `minilm` (the offline
encoder package, hash-checked), `startup` (the first cell of every lesson), `smoke` (the
budget caps of a smoke run), `bars` (tqdm bars whose saved output is their end state), `metrics_report`
(headline numbers for `bertcourse run`), `plain_text` (printed lines and tables that fit a
notebook's output), `controls` (the focus ring and focus keeping shared by every course widget)
and `errors` (the short errors a learner sees).

Room rule: these modules import only each other and third-party libraries, never a lesson
module, `bertcourse.tools` or `bertcourse.quiz`. Notebooks reach them through the facade
`import bertcourse as bc`.
"""
