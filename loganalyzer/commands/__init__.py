"""Sub-commands that live in their own module; see ``loganalyzer.commands.app._register_commands``."""
