"""Every onnxruntime use (session factory, batched runs, model cutting) and the IR -> ONNX VJP compiler."""

from smugkit.runtime.session import BatchedSession, OutputRunner, cut_model, load_onnx, make_session

__all__ = ["BatchedSession", "OutputRunner", "cut_model", "load_onnx", "make_session"]
