"""The command classes: Unix-style help, and a Prefect API that cannot start or be reached as one line."""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from vectorsync.cli.console import fail_with, prefect_unavailable


def _plain_params(params: list[Any]) -> None:
    """Flags show no `<bool>` type, and arguments are named in capitals (PATH), as in the command's own help."""
    for param in params:
        if isinstance(param, TyperOption) and (param.is_flag or param.count) and param.metavar is None:
            param.metavar = ""
        elif isinstance(param, TyperArgument) and param.metavar is None and param.name:
            param.metavar = param.name.upper()


def _usage(command: TyperCommand, ctx: Any) -> list[str]:
    """`[OPTIONS] PATH`: required arguments bare, optional ones in brackets (not Typer's `{path}`)."""
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            name = param.metavar or (param.name or "").upper()
            name = name if param.required else f"[{name}]"
            pieces.append(f"{name}..." if param.nargs != 1 else name)
    return pieces


class Command(TyperCommand):
    """A vectorsync command: help as `vectorsync run [OPTIONS] PATH`, flags without a type."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _plain_params(params)
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage(self, ctx)


class Group(TyperGroup):
    """The `vectorsync` command: plain help, and a Prefect API that cannot start or be reached ends in one line."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _plain_params(params)
        return params

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except RuntimeError as exc:
            if (message := prefect_unavailable(exc)) is None:
                raise
            fail_with(message)
