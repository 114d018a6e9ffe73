"""Data files Tagger ships (installed as the ``tagger.resources`` package); see README.md here for their sources."""
