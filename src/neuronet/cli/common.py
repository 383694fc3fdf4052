"""What every command shares: the two consoles, one-sentence errors, printing a kind's results safely.

Text that comes from a run directory someone else made is printed with its control characters
shown, not obeyed (`plain`), and never parsed as Rich markup.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from neuronet.errors import DataNote, NeuronetError, describe_os_error

__all__ = ["app", "out", "err", "friendly", "plain", "run_text", "metrics_table", "print_table", "print_shown",
           "print_findings", "values", "check_port", "SEVERITY_STYLE"]

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="neuronet: train, evaluate, cross-validate, tune, explain, predict, export and serve neural "
                       "networks on your data.")
out = Console()
err = Console(stderr=True)
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _show_note(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
               line: str | None = None) -> None:
    """Print what was done to the user's data (a DataNote) as a `data:` line; other warnings as usual."""
    if issubclass(category, DataNote):
        err.print(Text(f"data: {message}"), soft_wrap=True)
    else:
        err.print(Text(warnings.formatwarning(message, category, filename, lineno, line).rstrip()), soft_wrap=True)


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn user errors into one red line on stderr and exit code 1; Ctrl-C, SIGTERM and SIGHUP stop in order.

    A user error is neuronet's own (a NeuronetError), or what the operating system says about a
    file (a full disk, a read-only folder, a name too long), or memory running out.
    """

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from neuronet.atomic import remove_pending
        from neuronet.runs.lifecycle import stop_signals

        try:
            with warnings.catch_warnings(), stop_signals():
                warnings.simplefilter("always", DataNote)
                warnings.showwarning = _show_note
                return command(*args, **kwargs)
        except NeuronetError as error:
            _error(str(error))
        except OSError as error:
            _error(describe_os_error(error))
        except MemoryError:
            _error("Out of memory; use a smaller model, batch size or data slice (data.limit), then run it again.")
        except KeyboardInterrupt as stop:  # neuronet.runs.RunInterrupted says how to resume
            remove_pending()
            if os.environ.get("RANK", "0") == "0":  # one line for a run of many processes: rank 0's
                err.print(Text(str(stop) or "Interrupted.", style="yellow"), soft_wrap=True)
            raise typer.Exit(128 + getattr(stop, "signum", 2)) from None

    return run


def _error(message: str) -> None:
    err.print(Text("Error: ", style="bold red") + Text(plain(" ".join(message.split()))), soft_wrap=True)
    raise typer.Exit(1)


def plain(text: str) -> str:
    """Text from a file someone else made, safe to print: control characters (terminal escapes) shown, not obeyed."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def run_text(path: Path, limit: int = 20_000) -> Text:
    """A run's text file (its config.yaml) to print: decoded leniently, cut at `limit` characters, escapes shown."""
    text = path.read_bytes()[:limit + 1].decode("utf-8", errors="replace")
    return Text(plain(text[:limit].rstrip() + ("\n..." if len(text) > limit else "")))


def metrics_table(title: str, metrics: dict[str, Any]) -> Table:
    """A two-column table of metrics (floats with four decimals)."""
    table = Table(title=plain(title))
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(Text(plain(str(key))), f"{value:.4f}" if isinstance(value, float) else Text(plain(str(value))))
    return table


def print_table(title: str, columns: list[str], rows: list[tuple[str, ...]]) -> None:
    """A table of text cells (from the registries, or from a run's files: shown, never parsed as markup)."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(plain(str(cell))) for cell in row))
    out.print(table)


def print_shown(shown: Any) -> None:
    """What a run kind says about a result: `data:` notes on stderr, then its tables and lines on stdout."""
    for note in shown.notes:
        err.print(Text(plain(f"data: {note}")), soft_wrap=True)
    for title, metrics in shown.tables:
        out.print(metrics_table(title, metrics))
    for title, columns, rows in getattr(shown, "grids", []):
        print_table(title, columns, rows)
    for line in shown.lines:
        out.print(Text(plain(line)), soft_wrap=True)


def print_findings(findings: list[Any], run: Path) -> None:
    """The doctor's findings after training: one line each, or that none were found."""
    if not findings:
        err.print("doctor: no problems found")
        return
    for finding in findings:
        err.print(Text(f"doctor: [{finding.severity}] ", style=SEVERITY_STYLE[finding.severity]) +
                  Text(plain(f"{finding.title}: {finding.evidence}")), soft_wrap=True)
    err.print(Text(plain(f"doctor: explanations and fixes: neuronet doctor {run}")), soft_wrap=True)


def values(**named: Any) -> dict[str, str]:
    """Command-line names and paths as they are (never parsed as YAML): a name is a name."""
    return {key: str(value) for key, value in named.items() if value is not None}


def check_port(port: int) -> int:
    """`port` if one can listen on it (1 to 65535), else a ConfigError (the serving layer's check)."""
    from neuronet.deploy.guard import check_port as check

    return check(port)
