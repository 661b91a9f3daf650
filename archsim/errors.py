"""The only exceptions archsim raises to its users.

ConfigError: bad input (config, workload, sweep file). The CLI prints it once and exits 2.
ModelError:  a valid input the model cannot evaluate (e.g. an op no component supports).
"""
from __future__ import annotations


class ConfigError(ValueError):
    """Bad input: names the file, the dotted key and what is allowed."""

    def __init__(self, file, key: str, message: str):
        self.file = str(file) if file is not None else "<input>"
        self.key = key or "<root>"
        self.message = message
        super().__init__(f"{self.file}: {self.key}: {self.message}")


class ModelError(RuntimeError):
    """A well-formed input the model cannot evaluate."""
