"""Simulate: wide-network Monte Carlo and training in JAX."""
