"""ibviewer: watch the implicit bias of gradient descent."""

__version__ = "0.1.0"
