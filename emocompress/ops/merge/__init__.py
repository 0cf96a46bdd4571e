"""Merging checkpoints of one architecture tensor by tensor into safetensors.

- :mod:`.base`: the interface of a method (name, parameters model, per-tensor merge);
- one module per method (:mod:`.uniform`, :mod:`.greedy`, :mod:`.task_arithmetic`,
  :mod:`.ties`, :mod:`.slerp`), collected by name in :mod:`.registry`;
- :mod:`.inputs` (headers, labels, hashes), :mod:`.compat` (refuse what does not fit),
  :mod:`.streaming` (read one tensor at a time, write as made), :mod:`.engine` (the merge).

Module-level imports stay light (pydantic): torch is imported where tensors are touched.
"""
