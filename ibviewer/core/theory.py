"""Theory overlays: the predicted gradient-flow trajectories of the singular values.

For factorizing a matrix with singular values s_i from an initialization aligned with its singular vectors
(identity, or balanced and aligned), each singular value of the depth-N product follows, in time t = eta * k,

    d sigma / dt = N sigma^(2 - 2/N) (s - sigma)

(Saxe et al. 2014 for N = 2; Arora, Cohen, Hu, Luo 2019 for depth N).  For N = 2 the solution is Saxe et al.'s
    sigma(t) = s e^(2 s t) / (e^(2 s t) - 1 + s / sigma0),
with half-time ln(s / sigma0 - 1) / (2 s).  For N >= 3 the ODE is integrated numerically (in log sigma, which
keeps tiny initial values accurate).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad, solve_ivp


def saxe_trajectory(s: float, sigma0: float, t: np.ndarray) -> np.ndarray:
    """Depth-2 closed form sigma(t)."""
    t = np.asarray(t, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(2 * s * t)
        out = s * e / (e - 1 + s / sigma0)
    return np.where(np.isfinite(out), out, s)


def singular_value_trajectory(s: float, sigma0: float, depth: int, t: np.ndarray) -> np.ndarray:
    """sigma(t) of d sigma/dt = N sigma^(2-2/N) (s - sigma), sigma(0) = sigma0, at the (sorted) times t."""
    t = np.asarray(t, dtype=float)
    if depth == 2:
        return saxe_trajectory(s, sigma0, t)
    n = depth
    if n == 1:  # linear: sigma' = s - sigma
        return s + (sigma0 - s) * np.exp(-t)

    def rhs(_, z):
        sig = np.exp(z)
        return n * sig ** (1 - 2.0 / n) * (s - sig)

    order = np.argsort(t)
    ts = t[order]
    sol = solve_ivp(rhs, (0.0, float(ts[-1]) if ts.size else 0.0), [np.log(sigma0)], t_eval=ts, method="LSODA",
                    rtol=1e-9, atol=1e-12)
    out = np.empty_like(t)
    out[order] = np.exp(sol.y[0]) if sol.success else np.nan
    return out


def half_time(s: float, sigma0: float, depth: int) -> float:
    """The time at which sigma reaches s / 2 (in units of eta * steps)."""
    if sigma0 >= s / 2:
        return 0.0
    if depth == 2:
        return float(np.log(s / sigma0 - 1) / (2 * s))
    n = depth
    # t = integral of d sigma / (N sigma^(2-2/N) (s - sigma)); substitute sigma = e^z for accuracy
    val, _ = quad(lambda z: np.exp(z) / (n * np.exp(z) ** (2 - 2.0 / n) * (s - np.exp(z))),
                  np.log(sigma0), np.log(s / 2), limit=200)
    return float(val)


def predicted_spectrum(targets: np.ndarray, sigma0, depth: int, times: np.ndarray) -> np.ndarray:
    """Predicted singular values at ``times`` (rows) for every target (columns); ``sigma0`` scalar or per value."""
    targets = np.asarray(targets, dtype=float)
    s0 = np.broadcast_to(np.asarray(sigma0, dtype=float), targets.shape)
    out = np.full((len(np.atleast_1d(times)), len(targets)), np.nan)
    for i, (s, a) in enumerate(zip(targets, s0)):
        if s > 0 and a > 0:
            out[:, i] = singular_value_trajectory(float(s), float(a), depth, np.atleast_1d(times))
    return out
