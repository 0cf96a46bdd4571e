"""Classifiers on disk: loading, saving, pooling, shape plans, checkpoint readers, inspect, ONNX Runtime."""
