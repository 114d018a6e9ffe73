"""Tests that drive several layers or processes: the CLI end to end, crash safety, fuzzing, hostile input, GUI
flows."""
