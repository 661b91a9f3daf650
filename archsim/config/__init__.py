"""TOML -> frozen attrs specs with errors that name the file, the dotted key and what is allowed."""
from archsim.config.load import (
    apply_overrides,
    field,
    parse_override,
    read_toml,
    resolve_extends,
    structure,
)

__all__ = ["apply_overrides", "field", "parse_override", "read_toml", "resolve_extends", "structure"]
