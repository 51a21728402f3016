"""The Ray Serve side of the app (README, "Scaling out").

- config.py      reads serve_config.yaml: which application serves which task and model (no Ray import)
- deployment.py  the Serve deployment every application runs: the task functions, multiplexed by model id
- registry.py    a small actor where replicas publish their loaded models, for the Models tab
- client.py      the front end's side: connects to the cluster and sends task calls (backend/dispatch.py)
- run.py         applies serve_config.yaml from Python (tests, benchmarks), with overrides
"""
