"""Certify: ball-arithmetic enclosures, claims, the verifier and its certificates."""
