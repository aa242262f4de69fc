"""One-command reproduction: typed stages and the report."""
