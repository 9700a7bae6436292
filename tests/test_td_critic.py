"""The temporal-difference critic (`hagent.training.critic.fit_td_critic`): taught by the data's
recorded steps alone, it joins up episodes that never went the whole way (stitching), which
hindsight labels can't."""

import numpy as np
import torch

from costs.config import CriticConfig, CriticTrainConfig
from hagent.training.critic import fit_td_critic


def test_it_stitches_two_halves_of_a_line_no_episode_spans() -> None:
    # 12 positions on a line, one-hot states; even episodes walk 0..7, odd ones 4..11: no episode
    # ever goes from 0 past 7, so only stitching at 4..7 can say how far 11 is from 0
    rng = np.random.default_rng(0)
    walks = []
    for e in range(40):
        lo, hi = (0, 7) if e % 2 == 0 else (4, 11)
        p = [int(rng.integers(lo, hi + 1))]
        for _ in range(60):
            p.append(int(np.clip(p[-1] + rng.choice([-1, 1]), lo, hi)))
        walks.append(p)
    states = torch.eye(12)[torch.as_tensor(np.concatenate(walks))]
    episode_of = np.repeat(np.arange(40), 61)
    rows = np.nonzero(np.diff(episode_of) == 0)[0]
    critic = fit_td_critic(states, rows, episode_of, CriticConfig(hidden=64, layers=2), CriticTrainConfig(batch_size=256, expectile=0.3),
                           steps=1500, polyak=0.05, cap=40.0, seed=0, progress=False)
    with torch.no_grad():
        d = critic.distance(torch.eye(12)[[0] * 11], torch.eye(12)[list(range(1, 12))])  # from 0 to 1..11
    assert d[0] < 2.5, d  # a recorded step costs about one
    assert d[0] < d[4] < d[9], d  # 1 < 5 < 10 steps away
    assert d[10] > d[6] + 3.0, d  # 11 is further from 0 than 7, the furthest any episode from 0 got
