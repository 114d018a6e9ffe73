"""Tests of tagger.engine."""
