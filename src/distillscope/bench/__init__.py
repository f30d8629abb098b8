"""Validation benchmarks on recorded data (identity-judge agreement, lineage attribution)."""
