import os

# GUI tests run offscreen; set before anything imports Qt
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
