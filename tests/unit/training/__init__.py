"""Tests of tagger.training."""
