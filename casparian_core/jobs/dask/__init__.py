"""The Dask executor (issue 20): claimed jobs run on a Dask cluster's workers, the queue's
semantics unchanged. `driver.py` claims and records (here), `worker.py` runs on the workers,
`cluster.py` connects to one; nothing here is imported unless `--executor dask` or `dask-local`
is chosen, and `dask`/`distributed` only then (the `[dask]` extra)."""
