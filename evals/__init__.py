"""Evaluation: question sets, metrics, runs that resume, reports, and the benchmarks."""
