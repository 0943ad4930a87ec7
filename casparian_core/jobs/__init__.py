"""The prod loop's job queue (its statuses for now; the queue, workers and daemon come next)."""
