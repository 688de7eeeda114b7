"""The ``ropuf`` command line: the top layer, which reaches every other package."""
