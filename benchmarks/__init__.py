"""theanine benchmark suite: see benchmarks/README.md."""
