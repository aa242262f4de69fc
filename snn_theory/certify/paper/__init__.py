"""The paper's own method: grid scan, derivative bounds and verdict."""
