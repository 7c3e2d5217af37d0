"""The `qrtrace` command line: thin commands that load settings, build and run."""
