"""Tests of tagger.library."""
