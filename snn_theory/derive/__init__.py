"""Derive: the mathematics written once (sympy) and the code generated from it."""
