"""Evaluate: the number systems that evaluate the derived formulas."""
