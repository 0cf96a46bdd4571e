"""export and quantize: ONNX variants (fp32, int8, fp16), checked against PyTorch."""
