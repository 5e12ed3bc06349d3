"""The two pixel optimisers, small and self-contained.

Why not ``torch.optim``: constructing any of its optimisers imports
``torch._dynamo`` (about 2 s on a laptop CPU), which is most of our start-up,
and we need only one tensor, one evaluation per step and no line search.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import torch


class LBFGS:
    """Limited-memory BFGS with one function evaluation per step and no line search.

    As in the classic style-transfer tools: the first step is scaled by
    ``min(1, 1/|g|_1)`` because there is no curvature yet; later steps use the
    two-loop recursion with the usual ``s.y / y.y`` initial Hessian scale.
    Pairs with ``s.y <= 1e-10`` (no positive curvature) are skipped.
    """

    def __init__(self, x: torch.Tensor, lr: float = 1.0, history: int = 50) -> None:
        self.x, self.lr = x, lr
        self.pairs: deque[tuple[torch.Tensor, torch.Tensor, float]] = deque(maxlen=history)
        self.prev_grad: torch.Tensor | None = None
        self.prev_x: torch.Tensor | None = None
        self.h_diag = 1.0

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        loss = closure()
        g = self.x.grad.detach().reshape(-1).clone()
        x = self.x.detach().reshape(-1).clone()
        if self.prev_grad is not None and self.prev_x is not None:
            # The displacement actually taken (after any clamping by the caller), not the
            # one proposed: curvature pairs then describe the path the pixels really moved.
            s, y = x - self.prev_x, g - self.prev_grad
            ys = float(y @ s)
            if ys > 1e-10:
                self.pairs.append((s, y, 1.0 / ys))
                self.h_diag = ys / float(y @ y)
            t = self.lr
        else:
            t = min(1.0, 1.0 / max(float(g.abs().sum()), 1e-12)) * self.lr
        d = self._direction(g)
        with torch.no_grad():
            self.x.add_((t * d).view_as(self.x))
        self.prev_grad, self.prev_x = g, x
        return loss

    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        q = -g
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * float(s @ q)
            alphas.append(a)
            q.add_(y, alpha=-a)
        q.mul_(self.h_diag)
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            b = rho * float(y @ q)
            q.add_(s, alpha=a - b)
        return q


class Adam:
    """Adam (Kingma & Ba) on one tensor, with bias correction."""

    def __init__(self, x: torch.Tensor, lr: float = 0.02, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.x, self.lr, self.betas, self.eps = x, lr, betas, eps
        self.m = torch.zeros_like(x)
        self.v = torch.zeros_like(x)
        self.t = 0

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        loss = closure()
        g = self.x.grad.detach()
        b1, b2 = self.betas
        self.t += 1
        self.m.mul_(b1).add_(g, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        m_hat = self.m / (1 - b1**self.t)
        v_hat = self.v / (1 - b2**self.t)
        with torch.no_grad():
            self.x.addcdiv_(m_hat, v_hat.sqrt().add_(self.eps), value=-self.lr)
        return loss
