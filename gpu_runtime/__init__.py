"""gpu_runtime: see the README tour."""
