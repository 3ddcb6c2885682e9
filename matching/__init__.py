"""Order-to-capacity matching."""
