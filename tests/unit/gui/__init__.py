"""Tests of tagger.gui."""
