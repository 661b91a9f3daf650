"""archsim schema --kind arch|workload|sweep: the JSON Schema of a file kind, generated from the
specs, for TOML editors (Taplo / Even Better TOML); --reference: the markdown config reference;
--write-all: refresh the shipped schemas/*.schema.json and docs/config-reference.md."""
from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("schema", help="JSON Schema of arch / workload / sweep files (for editors)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--kind", choices=("arch", "workload", "sweep"), help="which file kind")
    g.add_argument("--reference", action="store_true",
                   help="the markdown config reference (docs/config-reference.md) instead")
    g.add_argument("--write-all", action="store_true",
                   help="write schemas/{arch,workload,sweep}.schema.json and docs/config-reference.md "
                        "under the current folder (the repository root)")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=cmd_schema)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")


def cmd_schema(args) -> int:
    from archsim.sweep.schema import KINDS, reference_markdown, schema_text
    if args.write_all:
        if args.out:
            from archsim.errors import ConfigError
            raise ConfigError("--out", "out", "not with --write-all (it writes schemas/ and docs/)")
        for kind in KINDS:
            _write(Path("schemas") / f"{kind}.schema.json", schema_text(kind))
        _write(Path("docs") / "config-reference.md", reference_markdown())
        return 0
    text = reference_markdown() if args.reference else schema_text(args.kind)
    if args.out:
        _write(Path(args.out), text)
    else:
        sys.stdout.write(text)
    return 0
