"""The emocompress terminal app (Textual). Reads run directories through the library;
the library never imports this package. Start it with ``emocompress tui`` or
:func:`tui.app.create_app`."""
