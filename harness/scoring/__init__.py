"""The scoring wing: text handling, keywords, polarity, features, rules, thresholds, calibration, the scorer.

`text`, `keywords`, `polarity` (negation, contrast, whose claim a clause
makes), `features`, `rules` and `thresholds` are pure functions; `scorer`
combines a bank, an encoder and a calibration into `Score`s; `calibration`
fits and stores the feature -> score model and the key point thresholds;
`evaluation` and `metrics` measure agreement with human grades.
"""
