"""The step-hazard model that a hard "avoid lava" guardrail asks before every move: the cells it
reads are turned to the agent's heading, and the shipped one sees lava straight ahead."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from costs.hazard import facing_east, patches
from hagent.checkpoint import load_checkpoint
from hagent.worlds import FORWARD

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "default"
AHEAD = ((1, 0), (0, 1), (-1, 0), (0, -1))  # east, south, west, north


@pytest.mark.parametrize("heading", range(4))
def test_the_cell_ahead_lands_in_one_place_whatever_the_heading(heading: int) -> None:
    image = np.zeros((7, 7, 3), dtype=np.uint8)
    dx, dy = AHEAD[heading]
    image[3 + dx, 3 + dy] = (9, 0, 0)  # lava ahead of an agent at (3, 3)
    image[3 - dx, 3 - dy] = (4, 1, 0)  # a door behind it
    patch = patches(torch.as_tensor(image[None]), torch.as_tensor([(3, 3)]))
    turned = facing_east(patch, torch.as_tensor([heading]))[0]
    assert turned[2, 1, 0] == 9 and turned[0, 1, 0] == 4 and int((turned[..., 0] != 0).sum()) == 2


def test_a_checkpoint_from_before_the_turn_reads_its_cells_as_the_grid_lies(tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(SHIPPED, copy)
    config = json.loads((copy / "config.json").read_text())
    assert config["hazard"]["step_frame"] == "agent"  # what ships
    del config["hazard"]["step_frame"]
    (copy / "config.json").write_text(json.dumps(config))
    assert load_checkpoint(copy).step_hazard.cfg.step_frame == "world"


def test_the_shipped_model_stops_every_move_into_lava_straight_ahead() -> None:
    """Every free cell of a layout, every heading: a forward into lava is stopped, whatever is
    around (the shipped model before the turn let through a step east into lava with an open
    door behind it, in rooms:3x3?lava=6 seed 1025)."""
    from hagent.worlds import make_world

    ckpt = load_checkpoint(SHIPPED)
    threshold = ckpt.config.agent.hazard_threshold
    for spec, seed in (("rooms:3x3?lava=6", 1025), ("rooms:3x3?lava=6", 3), ("minigrid:MiniGrid-LavaCrossingS11N5-v0", 3)):
        obs, _ = make_world(spec, seed=seed).reset(seed=seed)
        image = obs["image"].copy()
        image[image[..., 0] == 10] = (1, 0, 0)
        cut, headings = [], []
        w, h = image.shape[:2]
        for x in range(1, w - 1):
            for y in range(1, h - 1):
                if image[x, y, 0] not in (1, 3) and not (image[x, y, 0] == 4 and image[x, y, 2] == 0):
                    continue
                for heading, (dx, dy) in enumerate(AHEAD):
                    if image[x + dx, y + dy, 0] == 9:
                        drawn = image.copy()
                        drawn[x, y] = (10, 0, heading)
                        cut.append(patches(torch.as_tensor(drawn[None]), torch.as_tensor([(x, y)]))[0])
                        headings.append(heading)
        assert cut, spec
        with torch.no_grad():
            p = ckpt.step_hazard.probability(torch.stack(cut), torch.as_tensor(headings), torch.full((len(cut),), FORWARD))
        assert bool((p > threshold).all()), f"{spec} seed {seed}: {int((p <= threshold).sum())} of {len(cut)} moves into lava let through"
