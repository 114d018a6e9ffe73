"""The desktop app (PySide6): a thin layer over the same core the CLI drives. Only this package imports Qt."""
