"""``tagger``: the command line over the same core the GUI uses.

Every command accepts ``--db PATH`` (the catalog; default in the user data directory) so scripts can be written once,
even for commands that do not touch the catalog yet.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from tagger.cli.parser import build_parser

__all__ = ["COMMANDS", "build_parser", "handler", "main"]

# command -> the module holding its handler (cmd_<name>, '-' as '_'), imported only when that command runs: importing
# every command module made each start pay for all of them (imageio, keyword sync, the evaluator; issue 16)
COMMANDS = {"info": "model_commands", "build-model": "model_commands", "eval": "eval_command",
            "index": "library_commands", "search": "library_commands", "similar": "library_commands",
            "tags": "library_commands", "tag": "library_commands", "status": "library_commands",
            "label": "model_commands", "labels": "model_commands", "train": "model_commands",
            "models": "model_commands", "keywords": "keyword_commands", "doctor": "library_commands",
            "folders": "library_commands"}


def handler(command: str) -> Callable[..., int]:
    """The function that runs ``command``, its module imported now."""
    module = import_module(f"tagger.cli.{COMMANDS[command]}")
    return getattr(module, "cmd_" + command.replace("-", "_"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    from tagger.progress import TqdmProgress

    for stream in (sys.stdout, sys.stderr):
        # a file name that is not UTF-8 reaches us as lone surrogates: print them as \udcXX (in JSON that is the
        # string escape json.loads turns back into the exact name) instead of dying with UnicodeEncodeError
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    try:
        with TqdmProgress() as progress:
            status = handler(args.command)(args, progress)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler below, not at interpreter exit
        return status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tagger search x | head`: the reader has gone; stop quietly as Unix tools do
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool the pipe stopped
    except Exception as exc:  # known failures become one readable line, never a traceback
        from tagger.errors import user_message

        message = user_message(exc)
        if message is None:
            raise
        print(f"tagger: error: {message}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
