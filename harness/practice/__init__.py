"""The practice wing: a candidate's session, question scheduling and the attempt history.

`session` picks, scores and records answers independent of any terminal;
`scheduler` chooses what to ask next (FSRS); `store` is the only SQL.
"""
