"""Start the Tagger desktop app: ``python main.py`` (``--help`` for options, e.g. ``--screenshot FILE``)."""

from tagger.gui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
