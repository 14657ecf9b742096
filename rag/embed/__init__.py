"""Vectors for units and questions: the built-in model, its ONNX export and the embedder around them."""
