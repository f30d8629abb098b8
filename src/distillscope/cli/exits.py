"""How the CLI ends: one line on stderr and an exit code for every exception that reaches the top.

typer 0.29 vendors click as `typer._click`; older typer uses click itself, and the two sets of exception
classes are unrelated. So they are recognised by shape (click's `ClickException` has an int `exit_code` and
`format_message()`) and by class name (`Abort`, `NoArgsIsHelpError`), and click is never imported.

Exit codes: 2 for usage errors and typed distillscope errors, 1 for a declined confirmation (click's
convention: the user said no, nothing was misused) and for unexpected errors, 3 for a run stopped by its
budget or left waiting on provider batches, 4 for a run that failed (a stage's calls mostly failed), 130 for SIGINT
(Ctrl-C) and 143 for SIGTERM.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from distillscope.cli.common import err_console, one_line, print_error
from distillscope.errors import DistillscopeError
from distillscope.logsetup import redact

EXIT_UNEXPECTED = 1
EXIT_ABORTED = 2  # declining a confirmation is reported like a usage error: nothing was done
EXIT_USAGE = 2
EXIT_STOPPED = 3
EXIT_FAILED = 4
EXIT_INTERRUPTED = 130


def error_log_path() -> Path:
    """Where the traceback of the last unexpected error goes: $DISTILLSCOPE_HOME/logs/last-error.log."""
    from distillscope.cache import distillscope_home

    return distillscope_home() / "logs" / "last-error.log"


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def is_click_error(exc: BaseException) -> bool:
    """True for click's (or typer's vendored click's) ClickException and its subclasses."""
    return isinstance(getattr(exc, "exit_code", None), int) and callable(getattr(exc, "format_message", None))


def usage_message(exc: BaseException) -> str:
    """A click error's message on one line, pointing at the failing command's --help when known."""
    message = one_line(str(exc.format_message()))  # type: ignore[attr-defined]
    command_path = getattr(getattr(exc, "ctx", None), "command_path", None)
    return f"{message} (see '{command_path} --help')" if command_path else message


def write_error_log(exc: BaseException) -> Path | None:
    """Write `exc`'s traceback, secrets redacted, to `error_log_path()`; None when that is not writable."""
    try:
        path = error_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(redact("".join(traceback.format_exception(exc))), encoding="utf-8")
    except OSError:
        return None
    return path


def _unexpected(exc: BaseException, debug: bool) -> int:
    log = write_error_log(exc)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    where = f"; traceback in {log}" if log else ""
    print_error(f"unexpected {type(exc).__name__}: {one_line(redact(str(exc)))}{where} (--debug shows it)")
    return EXIT_UNEXPECTED


def report(exc: BaseException, *, debug: bool = False) -> int:
    """Print what went wrong (one line; the traceback too with `debug`) and return the exit code."""
    names = _class_names(exc)
    if isinstance(exc, KeyboardInterrupt):
        err_console.print("interrupted; finished calls are cached, re-run or resume to continue", soft_wrap=True)
        return EXIT_INTERRUPTED
    if "Abort" in names:
        err_console.print("aborted", highlight=False)
        return EXIT_ABORTED
    if "NoArgsIsHelpError" in names:  # click >= 8.2: `distillscope` alone prints the help this way
        exc.show()  # type: ignore[attr-defined]
        return int(exc.exit_code)  # type: ignore[attr-defined]
    if is_click_error(exc):
        print_error(usage_message(exc))
        return int(exc.exit_code)  # type: ignore[attr-defined]
    if isinstance(exc, DistillscopeError):
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        print_error(one_line(redact(str(exc))))
        return EXIT_USAGE
    return _unexpected(exc, debug)
