"""Screens of the TUI: browse (main), upload picker, full preview, modals."""
