"""Deployable bundles: what ``emocompress predict`` and ONNX Runtime users need."""
