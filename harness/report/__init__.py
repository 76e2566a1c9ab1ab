"""The report wing: candidate and cohort reports, laid out once and rendered as md, html or csv.

`candidate` and `cohort` build pandas models; `layout` turns a model into
sections; `render` writes them; `charts` draws inline SVG; `labels` holds
the words in English and Chinese.
"""
