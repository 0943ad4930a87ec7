"""Schema contracts: the model read from a parser's `outputs`, vectorized validation that splits
batches into valid and quarantined rows, and lineage columns.

`model`, `types` and `errors` import no pyarrow, so reading contracts stays cheap; `validate`,
`casting`, `structure`, `infer` and `lineage` need it.
"""
