"""Test and benchmark support: fakes, harnesses and synthetic data. Not part of the wheel."""
