"""The files wing: reading user CSVs of any common encoding and writing files users open.

`csvread` detects encodings and delimiters and reads rows with their line
numbers; `records` splits CSV text into rows so that one bad row (a quote
never closed) costs only itself; `write` holds the one Excel-safe cell rule
and the atomic writers.
"""
