"""Optimizers as in-place updates on lists of arrays (numpy or torch alike).

Conventions match torch.optim: heavy-ball momentum ``b = mu b + g; p -= lr b``; Nesterov
``p -= lr (g + mu b)``; Adam with bias correction (beta1 = ``optimizer.momentum``, beta2, eps); RMSprop
with smoothing ``beta2``; Adagrad.  Weight decay is coupled (``g += wd p``).  The learning rate, the weight
decay and the optimizer itself can change between steps; a change of optimizer starts its state afresh.
"""

from __future__ import annotations

from ibviewer.core import ops
from ibviewer.core.config import OptimizerConfig


class Optimizer:
    def __init__(self, cfg: OptimizerConfig):
        self.cfg = cfg
        self.name = cfg.name
        self.state: list[dict] | None = None
        self.t = 0

    def _state(self, params):
        if self.state is None:
            self.state = [dict() for _ in params]
        return self.state

    def step(self, params, grads) -> None:
        """Update ``params`` in place.  ``grads`` may be overwritten (they are fresh arrays every step)."""
        c = self.cfg
        lr, wd, name = c.lr, c.weight_decay, self.name
        self.t += 1
        if name in ("gd", "sgd"):
            for p, g in zip(params, grads):
                if wd:
                    g = g + wd * p
                g *= lr  # the gradient arrays are the caller's to spend: scale in place, no temporary
                p -= g
            return
        states = self._state(params)
        for p, g, s in zip(params, grads, states):
            if wd:
                g = g + wd * p
            if name in ("momentum", "nesterov"):
                b = s.get("b")
                if b is None:
                    b = s["b"] = g * 1.0
                else:
                    b *= c.momentum
                    b += g
                p -= lr * (g + c.momentum * b) if name == "nesterov" else lr * b
            elif name == "adam":
                b1, b2 = c.momentum, c.beta2
                if "m" not in s:
                    s["m"] = ops.zeros_like(p)
                    s["v"] = ops.zeros_like(p)
                m, v = s["m"], s["v"]
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * (g * g)
                mhat = m / (1 - b1**self.t)
                vhat = v / (1 - b2**self.t)
                p -= lr * mhat / (ops.sqrt(vhat) + c.eps)
            elif name == "rmsprop":
                if "v" not in s:
                    s["v"] = ops.zeros_like(p)
                v = s["v"]
                v *= c.beta2
                v += (1 - c.beta2) * (g * g)
                p -= lr * g / (ops.sqrt(v) + c.eps)
            elif name == "adagrad":
                if "v" not in s:
                    s["v"] = ops.zeros_like(p)
                v = s["v"]
                v += g * g
                p -= lr * g / (ops.sqrt(v) + c.eps)
            else:  # pragma: no cover (validated in config)
                raise ValueError(name)
