"""The test suite: library tests here, command-line tests in tests/cli."""
