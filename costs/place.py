"""Grounding a named place ("the top-left corner of the left room") as a goal state.

Where a place lies depends on the layout the agent sees, so the goal state is predicted from the
current view's state: `PlaceGoal(s, room, place) -> s_goal`, an MLP trained on the point
worlds' data, whose episodes carry views of every named place as labels. At planning time only
the observation and the instruction go in.
"""

from __future__ import annotations

import torch
from torch import nn

MAX_ROOMS, PLACES, HIDDEN = 9, 5, 256


class PlaceGoal(nn.Module):
    """(s [N, D], room [N], place [N]) -> the state of being at that place of that room, [N, D]."""

    def __init__(self, dim: int, hidden: int = HIDDEN):
        super().__init__()
        self.room = nn.Embedding(MAX_ROOMS, 16)
        self.place = nn.Embedding(PLACES, 16)
        self.net = nn.Sequential(
            nn.Linear(dim + 32, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, dim)
        )

    def forward(self, s: torch.Tensor, room: torch.Tensor, place: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([s, self.room(room.long()), self.place(place.long())], dim=-1))
