"""Benchmarks: serving latency and memory, the index build against the bare encoder, and the stores."""
