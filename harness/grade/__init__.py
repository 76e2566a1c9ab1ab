"""The grade wing: a cohort's submissions file -> scores, per-student and per-question outputs.

`submissions` reads and checks the file (layouts in `header`), `grader`
scores it in chunks, `tally` keeps the aggregates, `outputs` writes the run
folder, `run` ties them together.
"""
