import threading

import impasto
from impasto.events import Cancel, Progress, RunClock


def test_cancel_is_a_flag_any_thread_can_set():
    cancel = Cancel()
    assert not cancel.is_set()
    threading.Thread(target=cancel.set).start()
    for _ in range(100):
        if cancel.is_set():
            break
        threading.Event().wait(0.01)
    assert cancel.is_set()


def test_clock_weighs_fine_steps_by_their_pixels():
    clock = RunClock.for_plan([(100, 2), (200, 2)])
    assert clock.total == 4 and clock.scales == 2
    assert clock.work == [1e4, 2e4, 6e4, 10e4]
    # Two coarse steps took 10 s; each fine step is 4x their work, so 2 x 4 x 5 s = 40 s are left.
    assert clock.eta(2, 10.0) == 40.0
    assert clock.eta(4, 99.0) == 0.0
    assert clock.eta(0, 1.0) is None and clock.eta(5, 1.0) is None
    assert RunClock(total=3, scales=1).eta(1, 1.0) is None  # no plan of the work: no guess


def test_clock_drops_the_steps_a_scale_did_not_need():
    clock = RunClock.for_plan([(100, 3), (200, 2)])
    clock.done = 1
    clock.skip(2)  # the first scale stopped after one of its three steps
    assert clock.total == 3 and clock.work == [1e4, 5e4, 9e4]
    assert clock.eta(1, 10.0) == 80.0
    clock.skip(99)  # never below what is done
    assert clock.total == 1


def test_a_run_tells_the_time_left_in_its_events(files):
    events: list[Progress] = []
    impasto.run(files["content"], files["style"], size=48, start_size=32, steps=4,
                callback=lambda e: isinstance(e, Progress) and events.append(e))
    assert [e.step for e in events] == [1, 2, 3, 4] and events[0].scales == 2
    assert all(e.eta is not None and e.eta >= 0 for e in events) and events[-1].eta == 0.0
