"""The scoring wing: text handling, keywords, features, rules, calibration, the scorer, evaluation.

`text`, `keywords`, `features` and `rules` are pure functions; `scorer`
combines a bank, an encoder and a calibration into `Score`s; `calibration`
fits and stores the feature -> score model; `evaluation` and `metrics`
measure agreement with human grades.
"""
