"""Tagger: find and tag photos by meaning, with an ImageNet CNN projected into a fastText word space."""

__version__ = "0.1.0"
