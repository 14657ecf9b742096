"""The ``rag`` command, one module per group of subcommands."""
