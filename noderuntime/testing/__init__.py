"""Script fixtures: the format, the runner behind ``noderuntime test``, the
pytest plugin, and recording a real run as a fixture."""
