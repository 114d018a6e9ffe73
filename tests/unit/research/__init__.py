"""Tests of tagger.research."""
