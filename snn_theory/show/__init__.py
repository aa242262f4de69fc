"""Show: figures and the reproduction report."""
