"""Start-up: command groups imported when they run, and plain parameters coerced without pydantic.

Two costs made every ``envelope`` command slow to start (measured with ``python -X importtime``):

- Every command module, and what it imports (the key services' shapes and validation, S3,
  the server), was imported to build the command tree, whatever command ran. :class:`LazyGroup`
  knows each command by name and short help, and imports a module only to run (or describe) a
  command of it.
- typer 0.29 coerces every parameter that is not a boolean flag through a pydantic
  ``TypeAdapter``: ``typer.core._TyperParameter.process_value`` calls ``get_runtime_param()``,
  whose ``typer._coercion.build_runtime_param`` starts with ``from . import _adapters``, which
  imports pydantic (and pydantic's plugin loader, which reads every installed distribution's
  metadata). No annotation avoids it (``str``, ``int``, ``list[str]``, paths and files all take
  that path), so it cannot be dodged by choosing other parameter types. :func:`lighten` gives the
  plain types this CLI uses (``str``, ``int`` with ``min``/``max``, ``list[str]``) a coercer of
  their own through the same seam (``_runtime_param``, which typer builds lazily), and so do
  boolean flags (``--help`` arrives as None, which is not a bool, so it took that path too);
  anything else,
  or a typer without that seam, keeps typer's own coercion.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
import typer.core
import typer.main


@dataclass(frozen=True)
class Entry:
    """A command or group known by name: the module and attribute that hold it."""

    module: str
    attribute: str


class LazyGroup(typer.core.TyperGroup):
    """The top-level group: its commands are imported on first use (see the module docstring)."""

    entries: ClassVar[dict[str, Entry]] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.entries, *(name for name in super().list_commands(ctx)
                                 if name not in self.entries)]  # fmt: skip

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.entries:
            command = load(cmd_name, self.entries[cmd_name])
            self.add_command(command, cmd_name)
        return command

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:  # fmt: skip
        lighten(self)
        return super().make_context(info_name, args, parent=parent, **extra)


def load(name: str, entry: Entry) -> Any:
    """Import ``entry``'s module and turn its typer app or command function into a click command.

    Raises:
        TypeError: The attribute is neither a ``typer.Typer`` nor a function.
    """
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    if isinstance(target, typer.Typer):
        command: Any = typer.main.get_group(target)
    elif callable(target):
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    else:
        raise TypeError(f"{entry.module}.{entry.attribute} is not a command")
    command.name = name
    return lighten(command)


def lighten(command: Any) -> Any:
    """Give ``command``'s plain parameters (and its sub-commands') a coercer without pydantic."""
    params = list(getattr(command, "params", ()))
    get_help_option = getattr(command, "get_help_option", None)
    if get_help_option is not None:  # made on first use and kept: make it now to lighten it too
        params.append(get_help_option(typer.Context(command)))
    for param in params:
        if getattr(param, "_runtime_param", False) is None:
            coercer = _coercer(getattr(param, "type_descriptor", None))
            if coercer is not None:
                param._runtime_param = coercer
    for sub in getattr(command, "commands", {}).values():
        lighten(sub)
    return command


def _coercer(descriptor: Any) -> _Plain | None:
    """A coercer for ``str``, ``int``, ``bool`` and ``list[str]`` without extra constraints."""
    if descriptor is None:
        return None
    info = descriptor.parameter_info
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None) is not None:
        return None
    if getattr(info, "clamp", False):
        return None
    annotation = descriptor.annotation
    if annotation is str or annotation == list[str]:
        return _Plain(_text, many=annotation is not str)
    if annotation is int:
        return _Plain(_bounded(info.min, info.max))
    if annotation is bool:  # flags arrive as bools; --help arrives as None when not given
        return _Plain(_flag)
    return None


_TRUE = frozenset(("1", "on", "t", "true", "y", "yes"))
_FALSE = frozenset(("0", "off", "f", "false", "n", "no"))


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError("Input should be a valid boolean, unable to interpret input")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Input should be a valid string")
    return value


def _bounded(low: int | None, high: int | None) -> Callable[[Any], int]:
    def coerce(value: Any) -> int:
        # The messages are pydantic's, so an error reads the same with either coercer.
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError("Input should be a valid integer")
        try:
            number = int(value)
        except ValueError:
            raise ValueError(
                "Input should be a valid integer, unable to parse string as an integer"
            ) from None
        if low is not None and number < low:
            raise ValueError(f"Input should be greater than or equal to {low}")
        if high is not None and number > high:
            raise ValueError(f"Input should be less than or equal to {high}")
        return number

    return coerce


class _Plain:
    """What typer asks of a runtime parameter: ``coerce(value, param, ctx)``."""

    __slots__ = ("_convert", "_many")

    def __init__(self, convert: Callable[[Any], Any], *, many: bool = False) -> None:
        self._convert = convert
        self._many = many

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        many = bool(getattr(param, "multiple", False)) or getattr(param, "nargs", 1) == -1
        if value is None:
            return () if many else None
        try:
            if many:
                if isinstance(value, str) or not isinstance(value, Sequence):
                    raise ValueError("Value must be an iterable.")
                return [self._convert(item) for item in value]
            return self._convert(value)
        except ValueError as e:
            raise typer.BadParameter(str(e), ctx=ctx, param=param) from None
