import pytest
import torch

from impasto import optim
from impasto.optim import LBFGS, LBFGS_HISTORY, Adam, carry_history, history_length


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


def test_lbfgs_recycles_its_buffers_without_corrupting_the_history():
    # Once the history is full, each new pair is written into the evicted pair's buffers and
    # the gradient copies alternate between two: a step allocates no lasting picture-sized
    # tensor (issue 14's memory aim). The pairs kept must still be the steps taken and the
    # gradient changes seen, each in its own buffer.
    a, b, _ = _quadratic()
    x = torch.zeros(20, requires_grad=True)
    opt = LBFGS(x, history=3)
    grads, moves, buffers = [], [], set()

    def closure():
        x.grad = None
        loss = 0.5 * x @ a @ x - b @ x
        loss.backward()
        grads.append(x.grad.detach().clone())
        return loss

    for step in range(12):
        before = x.detach().clone()
        opt.step(closure)
        moves.append(x.detach() - before)
        if step >= 4:
            buffers.update(t.data_ptr() for s, y, _ in opt.pairs for t in (s, y))
    assert len(buffers) <= 2 * (3 + 1)  # the history's pairs and one spare, reused
    # Pair i (of the last three) holds the step before the last gradient and that gradient's change.
    for k, (s, y, _) in enumerate(reversed(opt.pairs)):
        assert torch.allclose(s, moves[-2 - k], atol=1e-7)
        assert torch.allclose(y, grads[-1 - k] - grads[-2 - k], atol=1e-6)


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
    assert history_length(3 * 128 * 96) == LBFGS_HISTORY  # small pictures keep the full history
    n, per_pair = history_length(3 * 384 * 512), 2 * 4 * 3 * 384 * 512
    assert optim.LBFGS_MIN_HISTORY <= n < LBFGS_HISTORY and n * per_pair <= optim.LBFGS_SOFT_BYTES
    assert history_length(3 * 768 * 1024) == optim.LBFGS_MIN_HISTORY  # the soft budget stops at the floor
    n, per_pair = history_length(3 * 3072 * 4096), 2 * 4 * 3 * 3072 * 4096
    assert 5 <= n < LBFGS_HISTORY and n * per_pair <= 2 * 2**30  # 7 pairs of 302 MB
    assert history_length(3 * 2048 * 3072) < optim.LBFGS_MIN_HISTORY  # 14 pairs of 151 MB
    # A square 512 px picture keeps the floor, not the 512x384 picture's 22 pairs (its 1 GiB peak).
    assert history_length(3 * 512 * 512) == optim.LBFGS_MIN_HISTORY < history_length(3 * 384 * 512)


def test_lbfgs_keeps_only_pairs_with_positive_curvature():
    x = torch.zeros(3, requires_grad=True)
    opt = LBFGS(x)
    s = torch.tensor([1.0, 0.0, 0.0])
    pairs = [(s, torch.tensor([-1.0, 0.0, 0.0])),  # s.y < 0: the function curves down that way
             (s, torch.tensor([0.0, 1.0, 0.0])),  # s.y = 0: no curvature seen
             (s, torch.tensor([2.0, 0.5, 0.0]))]  # s.y = 2 > 0: kept
    opt.warm(pairs)
    assert len(opt.pairs) == 1 and torch.equal(opt.pairs[0][1], torch.tensor([2.0, 0.5, 0.0]))
    assert pairs == []  # consumed: the caller's list keeps nothing alive
    assert float(opt.h_diag) == pytest.approx(2.0 / 4.25)  # s.y / y.y of the kept pair


def test_carry_history_resamples_each_pair_and_frees_the_old_ones():
    import weakref

    old, new = (4, 6), (8, 12)
    gen = torch.Generator().manual_seed(0)
    pairs = [(torch.rand(3 * 4 * 6, generator=gen), torch.rand(3 * 4 * 6, generator=gen)) for _ in range(3)]
    expected_s = torch.nn.functional.interpolate(pairs[-1][0].view(1, 3, *old), size=new, mode="bilinear")
    # y is scaled by the pixel-count ratio (1/4 here): the losses are means over positions.
    expected_y = torch.nn.functional.interpolate(pairs[0][1].view(1, 3, *old), size=new, mode="bilinear") / 4
    refs = [weakref.ref(t) for pair in pairs for t in pair]
    out = carry_history(pairs, old, new)
    assert pairs == [] and all(r() is None for r in refs)  # the old history is gone, not held beside
    assert len(out) == 3 and all(s.shape == (3 * 8 * 12,) and y.shape == s.shape for s, y in out)
    assert torch.allclose(out[-1][0], expected_s.reshape(-1))  # order kept, newest last
    assert torch.allclose(out[0][1], expected_y.reshape(-1))


def test_carry_history_carries_only_what_the_new_size_affords(monkeypatch):
    import impasto.optim as optim

    monkeypatch.setattr(optim, "LBFGS_HISTORY_BYTES", 2 * 4 * 3 * 8 * 12 * 6)  # six pairs at 8x12
    pairs = [(torch.full((3 * 4 * 6,), float(i)), torch.ones(3 * 4 * 6)) for i in range(10)]
    out = carry_history(pairs, (4, 6), (8, 12))
    assert len(out) == 6 and [float(s[0]) for s, _ in out] == [4.0, 5.0, 6.0, 7.0, 8.0, 9.0]


def test_smooth_is_symmetric_positive_definite_and_lengthens_only_smooth_directions():
    # L-BFGS may use it as its initial Hessian only if it is SPD; odd sizes pad and crop.
    shape = torch.Size((1, 3, 13, 22))
    gen = torch.Generator().manual_seed(0)
    u, v = torch.randn(shape.numel(), generator=gen), torch.randn(shape.numel(), generator=gen)
    assert float(optim.smooth(u, shape, 4) @ v) == pytest.approx(float(u @ optim.smooth(v, shape, 4)), rel=1e-5)
    assert float(u @ optim.smooth(u, shape, 4)) >= float(u @ u)
    square = torch.Size((1, 3, 16, 32))
    flat = torch.full((square.numel(),), 0.5)
    assert torch.allclose(optim.smooth(flat, square, 4, weight=2.0), flat * (1 + 4 * 2.0))  # smooth: x9
    checker = ((torch.arange(16)[:, None] + torch.arange(32)) % 2 * 2.0 - 1).expand(1, 3, 16, 32).reshape(-1)
    assert torch.equal(optim.smooth(checker, square, 4), checker)  # finest detail: untouched
    assert torch.equal(optim.smooth(u, shape, 0), u)


def _image_quadratic(steps: int, smooth: int) -> float:
    # Curvature ~100 along fine detail and 2-22 along 16 px-smooth changes: the style loss's
    # shape in pixel space, where plain L-BFGS moves the smooth directions slowly.
    shape = torch.Size((1, 3, 32, 48))
    gen = torch.Generator().manual_seed(0)
    d, target = 90 + 20 * torch.rand(shape.numel(), generator=gen), torch.rand(shape.numel(), generator=gen)

    def hessian(v):
        return d * v - 22 * (optim.smooth(v, shape, 4) - v)

    b = hessian(target)
    x = torch.zeros(shape, requires_grad=True)
    opt = LBFGS(x, max_move=100.0, history=10, smooth=smooth)

    def closure():
        x.grad = None
        flat = x.reshape(-1)
        loss = 0.5 * flat @ hessian(flat) - b @ flat
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    return float((x.detach().reshape(-1) - target).norm() / target.norm())


def test_lbfgs_with_the_smooth_preconditioner_converges_sooner_on_a_picture():
    assert _image_quadratic(5, smooth=4) < 0.1 * _image_quadratic(5, smooth=0)
    assert _image_quadratic(20, smooth=4) < 1e-5  # and still to the solution
