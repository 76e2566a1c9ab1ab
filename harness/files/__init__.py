"""The files wing: reading user CSVs of any common encoding and writing files users open.

`csvread` detects encodings and delimiters and reads rows with their line
numbers; `write` holds the one Excel-safe cell rule and the atomic writers.
"""
