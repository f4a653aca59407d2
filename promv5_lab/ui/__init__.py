"""Notebook surfaces (the only place that imports IPython/HoloViews). ``%load_ext promv5_lab`` lands here."""
