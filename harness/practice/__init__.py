"""The practice wing: a candidate's session, question scheduling and the attempt history.

`session` picks, scores and records answers independent of any terminal;
`launch` opens a session with its scorer loading in the background;
`piped` reads and runs answers from a pipe; `scheduler` chooses what to ask
next (FSRS); `store` is the only SQL; `history` summarises scores over time;
`rescore` brings stored scores up to the current rubric, embedder and calibration.
"""
