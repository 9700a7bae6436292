"""Level 0: encoder/predictor shapes across grid sizes, rollout, latent inference, VICReg terms, rank."""

import pytest
import torch

from hagent.worlds import make_world
from levels.encoder import AGENT, FORWARD, GridEncoder
from levels.config import EncoderConfig, JEPAConfig, LatentConfig, LevelConfig, PredictorConfig
from levels.jepa import JEPA, effective_rank, vicreg_terms
from levels.level import Level

TINY = LevelConfig(
    encoder=EncoderConfig(dim=8, embed=4, channels=8, layers=2, pool=2),
    predictor=PredictorConfig(hidden=16, blocks=1, action_embed=4),
)


def _grid(B: int, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    image = torch.stack(
        [torch.randint(0, 11, (B, side, side)), torch.randint(0, 6, (B, side, side)), torch.randint(0, 4, (B, side, side))],
        dim=-1,
    ).to(torch.uint8)
    return image, torch.randint(0, 4, (B,))


@pytest.mark.parametrize("side", [6, 8, 19, 31])
def test_encoder_and_predictor_shapes(side: int) -> None:
    level = Level.build(TINY)
    image, direction = _grid(3, side)
    s = level.encode(image, direction)
    assert s.shape == (3, 8) and torch.isfinite(s).all()
    s_next = level.predict(s, torch.tensor([0, 2, 5]))
    assert s_next.shape == (3, 8)


def test_encoder_sees_position_and_heading() -> None:
    """Moving the agent one cell or turning it changes the encoding (positions are not pooled away)."""
    level = Level.build(TINY)
    image, _ = _grid(1, 8)
    moved = image.clone()
    moved[0, 3, 3], moved[0, 3, 4] = moved[0, 3, 4].clone(), moved[0, 3, 3].clone()
    d = torch.tensor([1])
    s, s_moved, s_turned = level.encode(image, d), level.encode(moved, d), level.encode(image, torch.tensor([2]))
    assert not torch.allclose(s, s_moved) and not torch.allclose(s, s_turned)


@pytest.mark.parametrize("heading", range(4))
def test_local_window_is_turned_to_the_heading(heading: int) -> None:
    """The agent-centred window reads the cell ahead in the same slot for every heading, and the
    cell to the agent's right in another: a wall in front looks the same whichever way it faces."""
    encoder = GridEncoder(EncoderConfig(local=3))
    objects = torch.ones(1, 7, 7, dtype=torch.long)
    objects[0, 3, 3] = AGENT
    fx, fy = FORWARD[heading]
    objects[0, 3 + fx, 3 + fy] = 2  # a wall ahead
    objects[0, 3 - fy, 3 + fx] = 5  # a key on the right (a quarter turn clockwise; y points down)
    window = encoder._around_agent(objects[:, None].float(), objects, torch.tensor([heading])).view(3, 3)
    assert window.tolist() == [[1, 1, 1], [1, AGENT, 5], [1, 2, 1]]


def test_local_window_reads_zero_off_the_grid_and_changes_the_encoding() -> None:
    encoder = GridEncoder(EncoderConfig(local=5, dim=8, embed=4, channels=8, layers=2, pool=2, local_channels=2))
    objects = torch.ones(1, 6, 6, dtype=torch.long)
    objects[0, 0, 0] = AGENT  # in a corner: facing left, most of the window is off the grid
    window = encoder._around_agent(torch.ones(1, 1, 6, 6), objects, torch.tensor([2])).view(5, 5)
    assert window.sum() == 9 and window[2, 2] == 1  # the 3x3 quarter that lies on the grid
    image, d = _grid(2, 9)
    image[..., 0] = 1
    image[:, 4, 4, 0] = AGENT
    wall = image.clone()
    wall[1, 5, 4, 0] = 2  # a wall appears next to the agent of the second grid
    s, s_wall = encoder.encode(image, d), encoder.encode(wall, d)
    assert torch.allclose(s[0], s_wall[0]) and not torch.allclose(s[1], s_wall[1])


def test_local_window_starts_as_a_zero_residual() -> None:
    """An encoder with the window encodes, before training, exactly what the same encoder without it does."""
    small = dict(dim=8, embed=4, channels=8, layers=2, pool=2)
    torch.manual_seed(0)
    plain = GridEncoder(EncoderConfig(**small))
    torch.manual_seed(0)
    windowed = GridEncoder(EncoderConfig(**small, local=3))
    image, d = _grid(4, 9)
    image[:, 4, 4, 0] = AGENT
    assert torch.equal(plain.encode(image, d), windowed.encode(image, d))


@pytest.mark.parametrize("bad", [{"local": 4}, {"local": 3, "kind": "pixels"}])
def test_local_window_config_is_checked(bad: dict) -> None:
    with pytest.raises(ValueError, match="encoder.local"):
        EncoderConfig(**bad)


def test_encode_real_world_observations() -> None:
    world = make_world("rooms:2x2", seed=0)
    obs, _ = world.reset()
    obs2, *_ = world.step(2)
    s = Level.build(TINY).encode_observations([obs, obs2])
    assert s.shape == (2, 8)


def test_rollout_matches_repeated_predict() -> None:
    level = Level.build(TINY)
    s0 = torch.randn(4, 8)
    actions = torch.randint(0, 6, (4, 5))
    states = level.rollout(s0, actions)
    assert states.shape == (4, 5, 8)
    s = s0
    for t in range(5):
        s = level.predict(s, actions[:, t])
    assert torch.allclose(states[:, -1], s)
    assert level.actions == 6 and level.time_scale == 1


def test_rollout_rejects_wrong_shapes() -> None:
    level = Level.build(TINY)
    with pytest.raises(ValueError, match="s0 must be"):
        level.rollout(torch.randn(4, 7), torch.zeros(4, 2, dtype=torch.long))


def test_infer_z_lowers_prediction_energy() -> None:
    cfg = TINY.model_copy(update={"latent": LatentConfig(dim=3, infer_steps=20, infer_lr=0.5, prior_weight=0.0)})
    level = Level.build(cfg)
    s0, actions = torch.randn(5, 8), torch.randint(0, 6, (5, 2))
    targets = torch.randn(5, 2, 8)
    z = level.infer_z(s0, actions, targets)
    assert z.shape == (5, 2, 3) and not z.requires_grad
    zero = (level.rollout(s0, actions) - targets).pow(2).mean()
    inferred = (level.rollout(s0, actions, z) - targets).pow(2).mean()
    assert inferred < zero
    assert Level.build(TINY).infer_z(s0, actions, targets).shape == (5, 2, 0)  # z off by default


def test_vicreg_terms_on_known_inputs() -> None:
    white = torch.randn(20000, 6)  # cov ~ I
    terms = vicreg_terms(white)
    assert terms.std.item() == pytest.approx(1.0, abs=0.02)
    assert terms.variance.item() < 0.02 and terms.covariance.item() < 0.01
    collapsed = torch.zeros(100, 6) + 3.0
    terms = vicreg_terms(collapsed)
    assert terms.variance.item() == pytest.approx(0.99, abs=0.01)  # std = sqrt(eps) = 0.01
    # two perfectly correlated unit-variance dims: off-diagonal cov 1 twice, / D
    x = torch.randn(20000, 1)
    terms = vicreg_terms(torch.cat([x, x], dim=1))
    assert terms.covariance.item() == pytest.approx(2 * 1.0 / 2, rel=0.05)


def test_effective_rank_on_known_inputs() -> None:
    assert effective_rank(torch.randn(20000, 16)) == pytest.approx(16, rel=0.02)
    line = torch.randn(500, 1) * torch.randn(1, 16) + 1e-6 * torch.randn(500, 16)
    assert effective_rank(line) == pytest.approx(1.0, abs=0.01)
    two = torch.cat([torch.randn(5000, 2), torch.zeros(5000, 6)], dim=1)
    assert effective_rank(two) == pytest.approx(2.0, abs=0.05)
    assert effective_rank(torch.ones(10, 4)) == 1.0


def test_jepa_loss_parts_and_ema() -> None:
    level = Level.build(TINY)
    jepa = JEPA.build(JEPAConfig(ema=0.9), level)
    image = torch.stack([_grid(4, 8)[0] for _ in range(3)], dim=1)  # (B=4, T=3, 8, 8, 3)
    direction, action = torch.randint(0, 4, (4, 3)), torch.randint(0, 6, (4, 3))
    loss = jepa.loss(image, direction, action)
    assert loss.prediction_per_step.shape == (2,) and loss.embeddings.shape == (12, 8)
    assert torch.isfinite(loss.total) and loss.total.requires_grad
    before = [p.clone() for p in jepa.target_encoder.parameters()]
    loss.total.backward()
    with torch.no_grad():
        for p in level.encoder.parameters():
            p.add_(1.0)
    jepa.update_target()
    after = list(jepa.target_encoder.parameters())
    assert all(torch.allclose(a, b + 0.1, atol=1e-5) for a, b in zip(after, before))
    assert all(p.grad is None for p in jepa.target_encoder.parameters())
