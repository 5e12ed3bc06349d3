import torch

from impasto.optim import LBFGS, Adam


def _quadratic():
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(20, 20, generator=gen))
    a = q @ torch.diag(torch.logspace(0, 2, 20)) @ q.T  # condition number 100
    b = torch.randn(20, generator=gen)
    solution = torch.linalg.solve(a, b)
    return a, b, solution


def _run(opt_cls, steps, **kw):
    a, b, solution = _quadratic()
    x = torch.zeros(20, requires_grad=True)
    opt = opt_cls(x, **kw)

    def closure():
        x.grad = None
        loss = 0.5 * x @ a @ x - b @ x
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    return float((x.detach() - solution).norm() / solution.norm())


def test_lbfgs_solves_an_ill_conditioned_quadratic():
    # Curvature pairs make it converge far faster than the gradient alone could.
    assert _run(LBFGS, 40) < 1e-3


def test_lbfgs_first_step_is_small_and_downhill():
    x = torch.zeros(4, requires_grad=True)
    opt = LBFGS(x)

    def closure():
        x.grad = None
        loss = ((x - 3) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    # gradient -6 each, |g|_1 = 24: the first step moves by 6/24 = 0.25 towards 3.
    assert torch.allclose(x.detach(), torch.full((4,), 0.25))


def test_adam_lowers_the_error():
    assert _run(Adam, 300, lr=0.05) < 0.5
