"""Backfill (issue 19, product spec FS-6): run the files an older version of a parser produced
again with its current registered version, staged beside the output, then swapped in per output
table in one step a reader never sees half of. docs/outputs.md "Backfill" tells the whole story.
"""
