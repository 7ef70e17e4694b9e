"""imagerepo-tui: a terminal image library kept in MongoDB."""

__version__ = "0.1.0"
