"""Proof certificates: writing, tiling and the independent checker."""
