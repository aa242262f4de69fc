"""The branch-and-bound verifier: its loop, its workers and its resume state."""
