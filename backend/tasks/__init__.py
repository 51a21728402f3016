"""One module per public task, named as its api_name: its typed function (registered with `backend.dispatch`) and
its result type. Chained tasks call other tasks through the dispatch point, never a model directly."""
