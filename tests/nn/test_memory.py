"""The embedding memory: JAKET's refresh schedule T(i) and the momentum update, exactly."""

import pytest
import torch

from plexus.errors import ConfigError
from plexus.nn.memory import EmbeddingMemory, RefreshSchedule


def test_schedule_gaps_are_the_papers():
    # (I_init, a, r, I_max) = (10, 2, 3, 500): 10,10,10,20,20,20,40,40,40,80,...,320,320,320,500,...
    gaps = RefreshSchedule(10, 2, 3, 500).gaps(18)
    assert gaps == [10, 10, 10, 20, 20, 20, 40, 40, 40, 80, 80, 80, 160, 160, 160, 320, 320, 320]
    assert RefreshSchedule().interval(18) == 500  # 640 capped
    assert RefreshSchedule().interval(10**6) == 500


def test_refresh_steps_follow_the_schedule():
    mem = EmbeddingMemory(torch.zeros(3, 2))
    due = []
    for step in range(200):
        if mem.refresh_due(step):
            due.append(step)
            mem.mark_refreshed(step)
    gaps = [b - a for a, b in zip([0] + due, due)]
    assert gaps == [10, 10, 10, 20, 20, 20, 40, 40, 40][:len(gaps)]
    assert due == [10, 20, 30, 50, 70, 90, 130, 170]


def test_momentum_update_is_exact():
    old = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=torch.float64)
    mem = EmbeddingMemory(old, momentum=0.8)
    mem.update(torch.tensor([0, 2]), torch.tensor([[11.0, 12.0], [0.0, -4.0]], dtype=torch.float64))
    # m * old + (1 - m) * new with m = 0.8, element by element in Python floats; row 1 untouched
    w = 1 - 0.8
    expect = torch.tensor([[0.8 * 1 + w * 11, 0.8 * 2 + w * 12], [3.0, 4.0],
                           [0.8 * 5 + w * 0, 0.8 * 6 + w * -4]], dtype=torch.float64)
    assert torch.allclose(expect, torch.tensor([[3.0, 4.0], [3.0, 4.0], [4.0, 4.0]], dtype=torch.float64))
    assert torch.equal(mem.vectors, expect)
    assert torch.equal(old, torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=torch.float64))  # copied


def test_state_round_trip_keeps_the_schedule_position():
    mem = EmbeddingMemory(torch.randn(4, 3), momentum=0.5, schedule=RefreshSchedule(5, 3, 2, 100))
    for step in (5, 10):
        mem.mark_refreshed(step)
    back = EmbeddingMemory.from_state_dict(mem.state_dict())
    assert torch.equal(back.vectors, mem.vectors) and back.momentum == 0.5
    assert (back.refreshes, back.next_refresh, back.schedule) == (2, mem.next_refresh, mem.schedule)
    assert back.next_refresh == 10 + 15  # T(2) = 5 * 3^1


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError):
        EmbeddingMemory(torch.zeros(2, 2), momentum=1.0)
    with pytest.raises(ConfigError):
        RefreshSchedule(init=0)
