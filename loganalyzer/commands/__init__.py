"""Sub-commands that live in their own module; see ``loganalyzer.cli._register_commands``."""
