"""Widgets of the main screen: gallery, preview pane, metadata pane, status line."""
