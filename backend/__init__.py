"""Everything that is not UI: the model catalog, the model cache, input checks and one module per task."""
