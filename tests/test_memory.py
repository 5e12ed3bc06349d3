from impasto import loop, memory


def test_memory_is_handed_back_only_for_large_cpu_pictures(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(memory, "_trim", lambda: calls.append)
    memory.release(64 * 64, "cpu")
    memory.release(512 * 384, "cuda")
    assert calls == []
    memory.release(512 * 384, "cpu")
    assert calls == [0]


def test_the_loop_hands_memory_back_after_each_large_step(monkeypatch):
    import torch

    sizes: list[tuple[int, str]] = []
    monkeypatch.setattr(memory, "release", lambda pixels, kind: sizes.append((pixels, kind)))

    def objective(x):
        from impasto.objective import Parts

        loss = (x - 0.3).pow(2).mean()
        return Parts(loss, 0.0, float(loss.detach()), 0.0)

    loop.optimise(objective, torch.rand(1, 3, 20, 30), 3)
    assert sizes == [(600, "cpu")] * 3
