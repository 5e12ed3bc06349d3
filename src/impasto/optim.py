"""The two pixel optimisers, small and self-contained, and all L-BFGS history sizing.

Why not ``torch.optim``: constructing any of its optimisers imports
``torch._dynamo`` (about 2 s on a laptop CPU), which is most of our start-up,
and we need only one tensor, one evaluation per step and no line search.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import torch
import torch.nn.functional as F

#: Most pairs of curvature history, kept while a picture is small.
LBFGS_HISTORY = 50
#: Fewest pairs a picture keeps while it fits the hard budget below. 16, not 20: a square
#: 512 px picture (a third more pixels than 512x384) peaked at 1040-1043 MiB with 20 pairs of
#: 6.3 MB and at 1008-1015 MiB with 16, scoring 1.3-1.8% better (one more plateau step; the
#: astronaut photo with The Scream and the Shipwreck, AVX2 CPU, bench/RESULTS.md, issue 14).
LBFGS_MIN_HISTORY = 16
#: Pairs beyond LBFGS_MIN_HISTORY are kept only within this many bytes: a 512x384 picture
#: keeps 22 pairs of 4.7 MB. On the four Gatys paintings at 512 px (AVX2 CPU) 20 pairs scored
#: within 0.7% of 50 either way at equal steps, for both standard and high, and the run's
#: peak memory fell by ~100 MiB (standard) / ~220 MiB (high) (bench/RESULTS.md, issue 14).
LBFGS_SOFT_BYTES = 100 << 20
#: Two vectors the size of the picture per history pair: 4.7 MB a pair at 512x384, 300 MB
#: at 4096x3072, so larger pictures keep fewer pairs (at least 5) to stay within this budget.
LBFGS_HISTORY_BYTES = 2 << 30
#: Weight of each block level in the preconditioner (:func:`smooth`; the levels are the
#: preset's, impasto.schedule.SMOOTH_LEVELS): weights 0.5 to 2 did as well as 1 (issue 14).
SMOOTH_WEIGHT = 1.0

Pair = tuple[torch.Tensor, torch.Tensor]


def smooth(v: torch.Tensor, shape: torch.Size, levels: int, weight: float = 1.0) -> torch.Tensor:
    """``v`` plus ``weight`` times its means over 2x2, 4x4 ... 2**levels-px blocks (a new tensor).

    ``v`` is a flattened picture of ``shape`` (N, C, H, W). The operator is symmetric and
    positive definite (each term is a block mean spread back over its block, i.e. D^T D
    up to a constant; a picture whose side is not a multiple of the block is padded with
    zeros and cropped, which keeps it so), so L-BFGS may use it as its initial Hessian.
    """
    img = v.view(shape)
    h, w = shape[-2:]
    out = v.clone()
    for k in range(1, levels + 1):
        f = 2**k
        if f > min(h, w):
            break
        padded = F.pad(img, (0, (-w) % f, 0, (-h) % f))
        means = F.interpolate(F.avg_pool2d(padded, f), scale_factor=f, mode="nearest")
        out.view(shape).add_(means[..., :h, :w], alpha=weight)
    return out


def history_length(numel: int) -> int:
    """L-BFGS pairs to keep for a picture of ``numel`` values."""
    pair = 2 * 4 * numel
    wanted = max(LBFGS_MIN_HISTORY, min(LBFGS_HISTORY, LBFGS_SOFT_BYTES // pair))
    return max(5, min(wanted, LBFGS_HISTORY_BYTES // pair))


def carry_history(pairs: list[Pair], old: tuple[int, int], new: tuple[int, int]) -> list[Pair]:
    """L-BFGS curvature pairs of one scale, resampled to the next.

    A new scale otherwise starts L-BFGS with no curvature and a cautious
    gradient step. The coarse scale's pairs, upsampled, describe the same
    picture's coarse directions; y is scaled by the pixel-count ratio because
    the losses are means over positions. On the 512 px benchmark this lowers
    the finished picture's score by about 2% at no cost.

    Memory: only the most recent pairs the new size affords (:func:`history_length`)
    are carried, and ``pairs`` is consumed, each old pair dropped as its copy is
    made, so the two histories never coexist in full (at 2048 -> 4096 px, holding
    both lists meant ~8 GiB beside the 2 GiB budget).
    """
    del pairs[:-history_length(3 * new[0] * new[1])]  # the oldest go first, unresampled
    out = []
    ratio = (old[0] * old[1]) / (new[0] * new[1])
    while pairs:
        s, y = pairs.pop(0)
        s2 = F.interpolate(s.view(1, 3, *old), size=new, mode="bilinear", align_corners=False)
        y2 = F.interpolate(y.view(1, 3, *old), size=new, mode="bilinear", align_corners=False) * ratio
        del s, y
        out.append((s2.reshape(-1), y2.reshape(-1)))
    return out


class LBFGS:
    """Limited-memory BFGS with one function evaluation per step and no line search.

    The first step is a gradient step of a fixed size in pixel units (there is
    no curvature yet); later steps use the two-loop recursion with the usual
    ``s.y / y.y`` initial Hessian scale, inside a trust region of ``max_move``
    per pixel. Pairs with ``s.y <= 1e-10`` (no positive curvature) are skipped.

    ``smooth`` (block levels, for a picture x of shape N, C, H, W) makes the initial
    Hessian ``s.y / y.Py`` times P, :func:`smooth`'s operator, instead of a multiple of
    the identity. Why: the style loss curves far more along fine detail than along
    smooth changes (a region's colour and shading), and one scale for every direction,
    set by the steep ones, moves the smooth ones slowly: the palette lagged the Grams
    (issue 14). P lengthens steps along smooth directions, as optimising a Laplacian
    pyramid of the picture would (Mordvintsev et al. 2018, "Differentiable image
    parameterizations"), while the pixels stay the variable and the clamp to [0, 1] stays
    exact. ``smooth=0``: plain L-BFGS on the pixels, as the classic tools run it.
    """

    def __init__(self, x: torch.Tensor, lr: float = 1.0, history: int = 50, max_move: float = 0.25,
                 first_move: float = 0.05, smooth: int = 0) -> None:
        self.x, self.lr, self.max_move, self.first_move = x, lr, max_move, first_move
        self.smooth = smooth if x.dim() == 4 else 0
        self.pairs: deque[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = deque(maxlen=history)
        self.prev_grad: torch.Tensor | None = None
        self.prev_step: torch.Tensor | None = None
        self.h_diag: torch.Tensor | float = 1.0
        # Buffers reused from step to step: the pair a full history evicts holds the next
        # pair, and the gradient copies alternate between two. A step then allocates no
        # picture-sized tensor that outlives it. Fresh ones each step left long-lived
        # 2-5 MB blocks between the freed activations, and glibc's heap grew ~200 MiB over
        # a 512 px scale with the live tensors unchanged (issue 14's memory aim).
        self._spare: Pair | None = None
        self._grad_buffer: torch.Tensor | None = None

    def history(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The curvature pairs (s, y), oldest first, to warm-start a run at another size."""
        return [(s, y) for s, y, _ in self.pairs]

    def warm(self, pairs: list[Pair]) -> None:
        """Start from earlier curvature pairs (flattened like x): the first step is then quasi-Newton.

        ``pairs`` is consumed (emptied), so the caller's list does not keep pairs alive
        after this optimiser's bounded history has let them go.
        """
        while pairs:
            self._remember(*pairs.pop(0))

    def _remember(self, s: torch.Tensor, y: torch.Tensor) -> None:
        """Keep the pair (step, gradient change) if it shows positive curvature."""
        ys = y @ s
        if float(ys) > 1e-10:  # the one wait for the device per step
            if len(self.pairs) == self.pairs.maxlen:
                self._spare = self.pairs[0][:2]  # evicted by the append: its buffers hold the next pair
            self.pairs.append((s, y, 1.0 / ys))
            self.h_diag = ys / (y @ self._precondition(y))
        else:
            self._spare = (s, y)

    def _new_pair(self, g: torch.Tensor) -> Pair:
        """The pair (last step, change of gradient), written into recycled buffers when there are some."""
        assert self.prev_step is not None and self.prev_grad is not None
        if self._spare is None:
            return self.prev_step.clone(), g - self.prev_grad
        s, y = self._spare
        self._spare = None
        s.copy_(self.prev_step)
        torch.sub(g, self.prev_grad, out=y)
        return s, y

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        loss = closure()
        assert self.x.grad is not None, "the closure must compute x's gradient"
        grad = self.x.grad.detach().reshape(-1)
        g = grad.clone() if self._grad_buffer is None else self._grad_buffer.copy_(grad)
        self._grad_buffer = self.prev_grad  # free again once this step has used it
        if self.prev_step is not None or self.pairs:  # earlier steps, or pairs from warm()
            if self.prev_step is not None:  # set together with prev_grad
                # s is the step proposed, not the displacement left after the caller's clamping:
                # the clamped displacement can make s.y tiny and the next step explode
                # (seen at 512 px), while the proposed step keeps the curvature estimate sane.
                self._remember(*self._new_pair(g))
            t = self.lr
        else:
            # No curvature yet: a plain gradient step that moves the most-changed pixel by
            # first_move. (The classic min(1, 1/|g|_1) step is ~1e-6 px on a large image:
            # a wasted evaluation at every scale, and fine scales get only a few.)
            t = self.first_move / max(float(g.abs().max()), 1e-12) * self.lr
        step = self._direction(g, out=self.prev_step).mul_(t)  # the last step is kept in the pair now
        # A trust region in pixel units: with one pair of curvature history the quasi-Newton
        # step can overshoot wildly (no line search); no good step moves a pixel by > 0.25.
        step.mul_((self.max_move / step.abs().max().clamp_min(1e-12)).clamp(max=1.0))
        with torch.no_grad():
            self.x.add_(step.view_as(self.x))
        self.prev_grad, self.prev_step = g, step
        return loss

    def _precondition(self, v: torch.Tensor) -> torch.Tensor:
        return smooth(v, self.x.shape, self.smooth, SMOOTH_WEIGHT) if self.smooth else v

    def _direction(self, g: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        # Scalars stay 0-dim tensors: on a GPU, float() here would wait for the device
        # twice per history pair (about 100 waits a step with the default history).
        q = torch.neg(g, out=out)  # into ``out`` when given: no fresh picture-sized vector
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * (s @ q)
            alphas.append(a)
            q.addcmul_(y, a, value=-1)
        if self.smooth and self.pairs:  # no pairs: the first, fixed-size gradient step stays plain
            q.copy_(self._precondition(q))
        q.mul_(self.h_diag)
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            q.addcmul_(s, a - rho * (y @ q))
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
        assert self.x.grad is not None, "the closure must compute x's gradient"
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
