"""Code shown in the documentation, kept here so the test suite runs it."""
