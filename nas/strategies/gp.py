"""A small exact Gaussian process for surrogate-based search (numpy + scipy, no torch).

Rasmussen & Williams 2006, GPML, Alg. 2.1 (Cholesky prediction) and Eq. 5.9 (marginal
likelihood gradient). Kernel: ARD squared exponential on one-hot encodings, i.e. a
per-choice relevance on categorical decisions (Garrido-Merchan & Hernandez-Lobato 2020
treat categoricals the same way). Targets are Gaussianised by rank ("Gaussian copula",
Salinas et al. 2020, ICML, Sec. 3.2), which keeps diverged or broken candidates (10% top-1)
from dominating the fit. Shapes: X (n, d) floats, y (n,).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.linalg.blas import strmm
from scipy.optimize import minimize
from scipy.special import ndtr, ndtri

__all__ = ["GaussianProcess", "PoolPosterior", "gp_columns", "normal_scores",
           "expected_improvement", "prob_between", "POOL_DTYPE"]

_LOG_LS = (math.log(0.05), math.log(50.0))
_LOG_SF = (math.log(1e-2), math.log(20.0))
_LOG_NOISE = (math.log(1e-4), math.log(1.0))
_JITTER = 1e-8
POOL_DTYPE = np.float32  # cross-kernels and whitened columns of candidate pools
_VAR_FLOOR = 1e-12


def normal_scores(y: np.ndarray) -> np.ndarray:
    """Rank-based normal scores of y (ties share their average rank), mean 0, std ~1."""
    y = np.asarray(y, dtype=float)
    if len(y) < 2:
        return np.zeros(len(y))
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks = (first + (counts + 1) / 2.0)[inverse.reshape(-1)]  # 1-based, ties averaged
    z = ndtri((ranks - 0.5) / len(y))
    return z / (z.std() or 1.0)


def expected_improvement(mu: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    """EI of maximising (Jones et al. 1998, Eq. 15) for posterior N(mu, sd^2)."""
    z = (mu - best) / sd
    return (mu - best) * ndtr(z) + sd * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def prob_between(mu: np.ndarray, sd: np.ndarray, low: float | None,
                 high: float | None) -> np.ndarray:
    """P(low <= f <= high) for f ~ N(mu, sd^2) (Gardner et al. 2014, constrained BO)."""
    upper = ndtr((high - mu) / sd) if high is not None else 1.0
    lower = ndtr((low - mu) / sd) if low is not None else 0.0
    return np.clip(upper - lower, 0.0, 1.0)


class GaussianProcess:
    """Zero-mean GP, ARD squared-exponential kernel, Gaussian noise; hyperparameters by
    L-BFGS-B on the log marginal likelihood, warm-started from the last fit (`theta`).
    Targets y (n,), or (n, t): t independent outputs sharing the kernel and noise, one
    Cholesky factor and one posterior variance for all of them."""

    def __init__(self, theta: list[float] | None = None, prior: float = 0.1,
                 min_noise: float = 1e-4) -> None:
        # theta = [log lengthscales (d), log signal variance, log noise variance]
        self.theta = np.asarray(theta, dtype=float) if theta is not None else None
        self.prior = prior  # N(0, 1/prior) on log lengthscales: shrink towards 1
        self.min_noise = min_noise  # lower bound of the noise variance

    @staticmethod
    def _kernel(a: np.ndarray, b: np.ndarray, ls: np.ndarray, sf: float,
                dtype: type = np.float64) -> np.ndarray:
        """sf exp(-|a - b|^2_w / 2), w = 1 / ls^2, in `dtype`, with one (len(a), len(b))
        buffer: the exponent log sf - |a - b|^2_w / 2 = a.(w b) - a.(w a) / 2
        - (b.(w b) / 2 - log sf), capped at log sf (|a - b| >= 0), computed in place."""
        w = (1.0 / (ls * ls)).astype(dtype)
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
        out = a @ (b * w).T
        out -= (0.5 * ((a * a) @ w))[:, None]
        out -= (0.5 * ((b * b) @ w) - math.log(sf)).astype(dtype)[None, :]
        np.minimum(out, math.log(sf), out=out)
        return np.exp(out, out=out)

    def cross_kernel(self, Xc: np.ndarray) -> np.ndarray:
        """The kernel between candidate rows Xc and the conditioning rows, in float32 (the
        `POOL_DTYPE` of candidate posteriors): twice as fast, and relative errors of ~1e-6
        in the posterior, far below what ranks candidates."""
        return self._kernel(Xc, self.X, self.ls, self.sf, POOL_DTYPE)

    def _initial_theta(self, d: int) -> np.ndarray:
        """Unit lengthscales and signal variance, noise variance 1e-2 (or the floor)."""
        return np.r_[np.zeros(d), 0.0, math.log(max(1e-2, self.min_noise))]

    def _unpack(self, theta: np.ndarray) -> tuple[np.ndarray, float, float]:
        d = len(theta) - 2
        return np.exp(theta[:d]), float(np.exp(theta[d])), float(np.exp(theta[d + 1]))

    def _nll(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray):
        """Negative log marginal likelihood + prior, and its gradient (GPML Eq. 5.9); for
        targets y (n, m), the sum over the m columns, which share the hyperparameters."""
        ls, sf, noise = self._unpack(theta)
        d, n = X.shape[1], len(X)
        columns = 1 if y.ndim == 1 else y.shape[1]
        base = self._kernel(X, X, ls, sf)
        try:
            L = cholesky(base + (noise + _JITTER) * np.eye(n), lower=True)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros_like(theta)
        alpha = cho_solve((L, True), y)
        a = alpha.reshape(n, -1)
        W = a @ a.T - columns * cho_solve((L, True), np.eye(n))
        M = W * base
        # sum_ik M_ik (x_ij - x_kj)^2, for every dimension j at once
        spread = 2.0 * ((X * X).T @ M.sum(1)) - 2.0 * (X * (M @ X)).sum(0)
        grad = np.empty_like(theta)
        grad[:d] = -0.5 * spread / ls**2 + self.prior * theta[:d]
        grad[d] = -0.5 * M.sum()
        grad[d + 1] = -0.5 * noise * np.trace(W)
        nll = (0.5 * float((y * alpha).sum()) + columns * np.log(np.diag(L)).sum()
               + 0.5 * self.prior * theta[:d] @ theta[:d])
        return nll, grad

    def fit(self, X: np.ndarray, y: np.ndarray, maxiter: int = 50) -> "GaussianProcess":
        """Optimise the hyperparameters on (X, y), then condition on it."""
        d = X.shape[1]
        if self.theta is None or len(self.theta) != d + 2:
            self.theta = self._initial_theta(d)
        noise = (max(_LOG_NOISE[0], math.log(self.min_noise)), _LOG_NOISE[1])
        bounds = [_LOG_LS] * d + [_LOG_SF, noise]
        start = np.clip(self.theta, [b[0] for b in bounds], [b[1] for b in bounds])
        result = minimize(self._nll, start, args=(X, y), jac=True, method="L-BFGS-B",
                          bounds=bounds, options={"maxiter": maxiter})
        if np.all(np.isfinite(result.x)) and result.fun < 1e24:
            self.theta = result.x
        return self.condition(X, y)

    def condition(self, X: np.ndarray, y: np.ndarray) -> "GaussianProcess":
        """Posterior given (X, y) with the current hyperparameters (no optimisation)."""
        if self.theta is None:
            self.theta = self._initial_theta(X.shape[1])
        self.ls, self.sf, noise = self._unpack(self.theta)
        self.X = X
        K = self._kernel(X, X, self.ls, self.sf) + (noise + _JITTER) * np.eye(len(X))
        self.L = cholesky(K, lower=True)
        self.alpha = cho_solve((self.L, True), y)
        self._L_inv32: np.ndarray | None = None
        return self

    def whiten(self, Ks: np.ndarray) -> np.ndarray:
        """L^-1 Ks^T (k, m) for a cross-kernel Ks (m, k), in Ks's precision: a triangular
        solve in float64; for candidate pools (`POOL_DTYPE`), a triangular multiply by L^-1
        (BLAS strmm, L^-1 computed once per conditioning in O(k^3)), 2.5x faster."""
        if Ks.dtype != POOL_DTYPE:
            return solve_triangular(self.L, Ks.T, lower=True)
        if self._L_inv32 is None:
            self._L_inv32 = np.asfortranarray(
                solve_triangular(self.L, np.eye(len(self.L)), lower=True), dtype=POOL_DTYPE)
        return strmm(1.0, self._L_inv32, Ks.T, lower=1)

    def predict(self, Xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean (m,) or, for targets (n, t), (m, t), and standard deviation (m,)
        of the latent function at Xs (m, d)."""
        Ks = self._kernel(Xs, self.X, self.ls, self.sf)
        v = self.whiten(Ks)
        var = np.maximum(self.sf - (v * v).sum(0), _VAR_FLOOR)
        return Ks @ self.alpha, np.sqrt(var)


class PoolPosterior:
    """A GP's posterior at fixed candidate rows Xc (c, d), updated in O(c k) as candidates
    join the conditioning set at their posterior mean (the kriging believer, Ginsbourger
    et al. 2010): the mean stays, the covariance loses a rank-one term per added point
    (GPML Eq. 2.24 applied one point at a time), so a batch of picks costs one predict."""

    def __init__(self, gp: GaussianProcess, Xc: np.ndarray) -> None:
        self.gp, self.Xc = gp, Xc
        self._v, self.mu, self.var = gp_columns(gp, Xc)  # _v: (k, c)
        self._noise = gp._unpack(gp.theta)[2] + _JITTER
        self._updates: list[np.ndarray] = []  # scaled covariance columns of added points

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(self.var)

    def add(self, i: int) -> None:
        """Condition on candidate i observed at its current mean."""
        gp = self.gp
        cov = gp._kernel(self.Xc, self.Xc[i:i + 1], gp.ls, gp.sf, POOL_DTYPE)[:, 0]
        cov = cov - self._v.T @ self._v[:, i]
        for u in self._updates:
            cov -= u * u[i]
        u = cov / math.sqrt(max(cov[i], 0.0) + self._noise)
        self._updates.append(u)
        self.var = np.maximum(self.var - u * u, _VAR_FLOOR)


def gp_columns(gp: GaussianProcess, Xc: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whitened cross-kernel columns v = L^-1 k(X, Xc) (k, c) in `POOL_DTYPE`, and the
    posterior mean and variance (float64) at the rows Xc (c, d)."""
    Ks = gp.cross_kernel(Xc)
    v = gp.whiten(Ks)
    mu = (Ks @ gp.alpha.astype(Ks.dtype)).astype(np.float64)
    var = np.maximum(gp.sf - (v * v).sum(0, dtype=np.float64), _VAR_FLOOR)
    return v, mu, var
