import torch

from impasto.optim import LBFGS, LBFGS_HISTORY, Adam, history_length


def _quadratic():
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(20, 20, generator=gen))
    a = q @ torch.diag(torch.logspace(0, 2, 20)) @ q.T  # condition number 100
    b = torch.randn(20, generator=gen)
    solution = torch.linalg.solve(a, b)
    return a, b, solution


def _run(opt_cls, steps, warm=None, keep=None, **kw):
    a, b, solution = _quadratic()
    x = torch.zeros(20, requires_grad=True)
    opt = opt_cls(x, **kw)
    if warm:
        opt.warm(warm)

    def closure():
        x.grad = None
        loss = 0.5 * x @ a @ x - b @ x
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    if keep is not None:
        keep.extend(opt.history())
    return float((x.detach() - solution).norm() / solution.norm())


def test_lbfgs_solves_an_ill_conditioned_quadratic():
    # Curvature pairs make it converge far faster than the gradient alone could.
    assert _run(LBFGS, 40) < 1e-3


def test_lbfgs_first_step_is_a_small_gradient_step():
    x = torch.zeros(4, requires_grad=True)
    opt = LBFGS(x)

    def closure():
        x.grad = None
        loss = ((x - 3) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    # No curvature yet: a gradient step moving the largest component by first_move (0.05).
    assert torch.allclose(x.detach(), torch.full((4,), 0.05))


def test_adam_lowers_the_error():
    assert _run(Adam, 300, lr=0.05) < 0.5


def test_lbfgs_steps_stay_inside_the_trust_region():
    x = torch.zeros(3, requires_grad=True)
    opt = LBFGS(x, max_move=0.25)
    positions = []

    def closure():
        x.grad = None
        loss = (1e-4 * (x - 100) ** 2).sum()  # nearly flat: quasi-Newton wants a huge step
        loss.backward()
        return loss

    for _ in range(4):
        before = x.detach().clone()
        opt.step(closure)
        positions.append(float((x.detach() - before).abs().max()))
    assert max(positions) <= 0.25 + 1e-6 and positions[-1] > 0.2


def test_lbfgs_warm_start_from_earlier_curvature_converges_sooner():
    # What the pipeline does between scales: curvature learned before starts the next run.
    history = []
    _run(LBFGS, 15, keep=history, max_move=10.0)
    assert len(history) > 5
    assert _run(LBFGS, 6, warm=history, max_move=10.0) < 0.3 * _run(LBFGS, 6, max_move=10.0)


def test_lbfgs_history_shrinks_for_large_pictures():
    assert history_length(3 * 192 * 256) == LBFGS_HISTORY
    n = history_length(3 * 384 * 512)  # the default output size: the budget, not the count, decides
    assert 20 <= n < LBFGS_HISTORY and n * 2 * 4 * 3 * 384 * 512 <= 128 * 2**20
    assert history_length(3 * 3072 * 4096) == 5  # never fewer than 5 pairs
