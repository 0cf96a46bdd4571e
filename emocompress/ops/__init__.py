"""Operations: one subpackage per operation, found through :mod:`emocompress.ops.registry`."""
