"""Hardware blocks: one module per block (spec + evaluate + structure)."""
