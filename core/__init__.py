"""awoooi core: the leaf package of models, settings, ports and errors.

Nothing here performs I/O at import time and nothing here imports another awoooi package, so
workflows (which must stay deterministic) and adapters can both depend on it.
"""
