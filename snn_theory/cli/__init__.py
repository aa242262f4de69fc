"""The command-line interface: parsing, presentation and exit codes."""
