"""emocompress: make emotion classifiers smaller and faster, with numbers you can trust.

The library never imports Textual; heavy dependencies (torch, transformers, onnxruntime)
are imported inside the functions that need them so that the CLI starts fast.
"""

__version__ = "0.1.0"
