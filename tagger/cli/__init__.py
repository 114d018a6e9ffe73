"""``tagger``: the command line over the same core the GUI uses.

Every command accepts ``--db PATH`` (the catalog; default in the user data directory) so scripts can be written once,
even for commands that do not touch the catalog yet.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from tagger.cli.eval_command import cmd_eval
from tagger.cli.keyword_commands import cmd_keywords
from tagger.cli.library_commands import (
    cmd_doctor,
    cmd_folders,
    cmd_index,
    cmd_search,
    cmd_similar,
    cmd_status,
    cmd_tag,
    cmd_tags,
)
from tagger.cli.model_commands import cmd_build_model, cmd_info, cmd_label, cmd_labels, cmd_models, cmd_train
from tagger.cli.parser import build_parser

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = {"info": cmd_info, "build-model": cmd_build_model, "eval": cmd_eval, "index": cmd_index,
            "search": cmd_search, "similar": cmd_similar, "tags": cmd_tags, "tag": cmd_tag, "status": cmd_status,
            "label": cmd_label, "labels": cmd_labels, "train": cmd_train, "models": cmd_models,
            "keywords": cmd_keywords, "doctor": cmd_doctor, "folders": cmd_folders}


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
            status = COMMANDS[args.command](args, progress)
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
