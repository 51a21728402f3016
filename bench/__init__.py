"""Benchmarks (not tests): real-size architectures, ratios against baselines measured in the same run."""
