"""The quasimetric critic (`costs.critic.QuasimetricCritic`) and its label-free training
(`hagent.training.critic.fit_quasimetric`): a quasimetric by construction, and trained on a
corridor's recorded steps it orders states by how many steps apart they are."""

import numpy as np
import torch

from costs.critic import QuasimetricCritic, _union_of_intervals
from hagent.training.critic import fit_quasimetric


def test_union_of_intervals_measures_overlaps_once() -> None:
    x = torch.tensor([[0.0, 2.0, 5.0], [0.0, 2.0, 5.0]])
    y = torch.tensor([[3.0, 4.0, 6.0], [1.0, 1.0, 6.0]])  # [0,4] + [5,6]; [0,1] + (empty) + [5,6]
    assert torch.allclose(_union_of_intervals(x, y), torch.tensor([5.0, 2.0]))


def test_a_fresh_critic_is_already_a_quasimetric() -> None:
    critic = QuasimetricCritic(6)
    gen = torch.Generator().manual_seed(0)
    a, b, m = (torch.randn(200, 6, generator=gen) for _ in range(3))
    with torch.no_grad():
        assert torch.all(critic.distance(a, a) == 0)
        assert torch.all(critic.distance(a, b) >= 0)
        assert torch.all(critic.distance(a, b) <= critic.distance(a, m) + critic.distance(m, b) + 1e-4)


def test_trained_on_walks_along_a_line_it_orders_distances() -> None:
    # 20 positions on a line, each a one-hot state; episodes are random walks along it, long enough to span it
    rng = np.random.default_rng(0)
    positions = []
    for _ in range(40):
        p = [int(rng.integers(20))]
        for _ in range(200):
            p.append(int(np.clip(p[-1] + rng.choice([-1, 1]), 0, 19)))
        positions.append(p)
    pos = np.concatenate(positions)
    states = torch.eye(20)[torch.as_tensor(pos)]
    episode_of = np.repeat(np.arange(40), 201)
    rows = np.nonzero(np.diff(episode_of) == 0)[0]
    critic = fit_quasimetric(states, rows, episode_of, steps=600, batch_size=256, offset=40.0, seed=0, progress=False)
    with torch.no_grad():
        d = critic.distance(torch.eye(20)[[0] * 19], torch.eye(20)[list(range(1, 20))])
    assert d[0] < d[9] < d[18], d  # 1 step < 10 steps < 19 steps
    assert d[0] < 2.5, d  # a recorded step costs about one


def test_a_checkpoint_keeps_a_quasimetric_level_critic_apart_from_level_0s(tmp_path) -> None:
    from costs.critic import Critic
    from hagent.checkpoint import build_model, load_checkpoint, save_checkpoint
    from hagent.config import HagentConfig
    from levels.abstract import AbstractLevel
    from levels.config import AbstractLevelConfig

    lcfg = AbstractLevelConfig(dim=8, hidden=16, period=2, macro_dim=4, codes=0, critic="quasimetric")
    cfg = HagentConfig(hierarchy=[lcfg])
    model = build_model(cfg)
    level1 = AbstractLevel(lcfg, model.level.dim, model.level.actions, True)
    cost_to_go = QuasimetricCritic(lcfg.dim)
    with torch.no_grad():
        for p in cost_to_go.parameters():
            p.add_(0.01)
    save_checkpoint(tmp_path / "q", cfg, model, 0, "q", critic=Critic(cfg.critic, model.level.dim), abstract=((level1, cost_to_go),))
    ckpt = load_checkpoint(tmp_path / "q")
    assert isinstance(ckpt.critic, Critic) and ckpt.critic.dim == model.level.dim
    assert isinstance(ckpt.abstract_critics[0], QuasimetricCritic)
    a, b = torch.randn(3, lcfg.dim), torch.randn(3, lcfg.dim)
    with torch.no_grad():
        assert torch.equal(ckpt.abstract_critics[0].distance(a, b), cost_to_go.distance(a, b))
