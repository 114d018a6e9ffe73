"""Tests of one module or one layer, in folders that mirror the tagger package."""
