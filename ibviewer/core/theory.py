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


def flow_speed(parametrization: str) -> float:
    """How much faster than the depth-2 product the product of this parametrization moves along the same ODE: the
    symmetric U U^T gets U's gradient (G + G^T) U twice in its product, so its eigenvalues follow
    d sigma/dt = 4 sigma (s - sigma), the depth-2 law at twice the time (docs/science.md)."""
    return 2.0 if parametrization == "symmetric" else 1.0


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


# ---------------------------------------------------------------------------------------------- what panels draw
def spectrum_targets(target_sv, k: int) -> np.ndarray:
    """The (at most ``k``) largest nonzero singular values of the ground truth, descending; empty without one."""
    if target_sv is None:
        return np.zeros(0)
    sv = np.sort(np.asarray(target_sv, float))[::-1]
    if not sv.size:
        return sv
    sv = sv[sv > 1e-6 * max(float(sv.max()), 1e-300)]
    return sv[:k]


def initial_singular_values(sv, step, k: int, alpha: float) -> np.ndarray:
    """sigma_i(0) of a run: its first recorded singular values (columns of ``sv``) when that row is step 0,
    else the initialization scale ``alpha`` for every value (an aligned start of scale alpha)."""
    if sv is not None and len(sv) and step is not None and len(step) and step[0] == 0 and np.ndim(sv) == 2:
        s0 = np.asarray(sv[0, :k], float)
        if len(s0) == k and np.all(np.isfinite(s0)):
            return np.where(s0 > 0, s0, alpha)
    return np.full(k, float(alpha))


def rescale_divisor(alpha: float | None) -> float:
    """ln(1/alpha), the factor by which a run of initialization scale ``alpha`` is slower: the time t / ln(1/alpha)
    is the rescaled time on which runs of different small alpha line up.

    From scale alpha a coordinate (or singular value) grows like alpha^2 e^(c t) and becomes active when that
    reaches order one, at t proportional to ln(1/alpha) (Pesme & Flammarion 2023 accelerate time by exactly this
    factor).  The rescaling is an asymptotic of small alpha: it is not applied (the divisor is 1) for
    alpha >= 1/e, where ln(1/alpha) <= 1, nor without a known positive alpha.  See ``docs/science.md``.
    """
    if alpha is None or not np.isfinite(alpha) or not alpha > 0:
        return 1.0
    return float(max(np.log(1.0 / alpha), 1.0))


def time_to_x(t, time_col, step_col, lr: float, mode: str, alpha: float | None = None) -> np.ndarray:
    """Gradient-flow times t = sum of eta_k as x values of ``mode`` ("time", "rescaled", "step" or "log_step")
    for a run.

    ``time_col``/``step_col`` are the run's recorded time and step columns: steps are interpolated between its
    records and extrapolated at learning rate ``lr`` beyond the last one (t / lr without records).  log_step
    is log10 of the step, NaN where the step is not positive; rescaled is t / :func:`rescale_divisor` of the
    run's initialization scale ``alpha``.
    """
    t = np.asarray(t, dtype=float)
    if mode == "time":
        return t
    if mode == "rescaled":
        return t / rescale_divisor(alpha)
    tc, sc = time_col, step_col
    if tc is None or sc is None or len(tc) == 0 or not np.isfinite(tc[-1]):
        steps = t / lr
    else:
        steps = np.interp(t, tc, sc)
        beyond = t > tc[-1]
        steps[beyond] = sc[-1] + (t[beyond] - tc[-1]) / lr
    if mode == "log_step":
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log10(steps)
        out[~(steps > 0)] = np.nan
        return out
    return steps


class SpectrumPrediction:
    """Predicted singular values (:func:`predicted_spectrum`) on a log grid of times, and their half-times.

    A panel asks for the same prediction on every frame, so results are cached per (depth, targets, initial
    values, learning rate, horizon); the horizon is rounded up to a power of two so that a growing run
    recomputes rarely.
    """

    POINTS = 300

    def __init__(self):
        self.cache: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @staticmethod
    def horizon(t_end: float, lr: float) -> float:
        """The time grid's end: ``t_end`` (at least 10 lr) rounded up to a power of two."""
        return float(2.0 ** np.ceil(np.log2(max(t_end, 10 * lr))))

    def get(self, targets: np.ndarray, sigma0: np.ndarray, depth: int, lr: float, t_end: float):
        """(t, predicted sigma (rows: times, columns: targets), half-times (NaN where sigma0 >= s/2))."""
        t_end = self.horizon(t_end, lr)
        key = (int(depth), tuple(np.round(targets, 12)), tuple(np.round(np.log(sigma0), 6)), float(lr), t_end)
        hit = self.cache.get(key)
        if hit is None:
            t = np.concatenate([[0.0], np.geomspace(lr, t_end, self.POINTS)])
            with np.errstate(all="ignore"):  # the closed form overflows to inf/inf once converged (it is s then)
                pred = predicted_spectrum(targets, sigma0, int(depth), t)
            halves = np.array([half_time(float(s), float(a), int(depth)) if a < s / 2 else np.nan
                               for s, a in zip(targets, sigma0)])
            if len(self.cache) > 64:
                self.cache.clear()
            hit = self.cache[key] = (t, pred, halves)
        return hit
