"""Screens of the emocompress TUI, one per module."""
