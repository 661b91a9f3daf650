"""LLM inference workloads: Hugging Face config.json in (config.py), the op kinds an LLM step is
made of (ops.py), the `transformer` generator (generator.py), memory accounting (memory.py) and
LLM-Viewer's per-layer roofline table (viewer.py). docs/llm.md describes the model."""
