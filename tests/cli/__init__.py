"""Tests of the command line: exit codes, output and the error contract."""
