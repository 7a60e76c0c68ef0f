"""Helpers shared by the example scripts: command-line parsing of a settings dataclass."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def parse_args(cls: type[T], doc: str | None, argv: list[str] | None = None) -> T:
    """Parse ``--field-name value`` options into an instance of the dataclass ``cls``.

    Every field becomes an option of its default's type (``--n-envs 4``); booleans take
    ``true``/``false``.
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = cls()
    for f in fields(cls):  # type: ignore[arg-type]
        default = getattr(defaults, f.name)
        kind: Any = _bool if isinstance(default, bool) else (Path if isinstance(default, Path) else type(default))
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=default)
    return cls(**vars(parser.parse_args(argv)))


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
