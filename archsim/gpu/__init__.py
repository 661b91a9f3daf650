"""GPU baseline model: latency/energy model (model.py) and calibration fit (calibrate.py)."""
