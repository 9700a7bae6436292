"""`rooms:RxC` worlds: a grid of rooms joined by doors, with coloured objects, optional lava and
a BabyAI instruction as the mission (the env behind `make_world("rooms:3x3")`)."""

from __future__ import annotations

from collections import deque
from typing import Any

from minigrid.core.constants import COLOR_NAMES
from minigrid.core.world_object import Lava
from minigrid.envs.babyai.core.roomgrid_level import RejectSampling, RoomGridLevel
from minigrid.envs.babyai.core.verifier import GoToInstr, ObjDesc, OpenInstr, PickupInstr, PutNextInstr

from hagent.worlds.spec import RoomsParams


class RoomsEnv(RoomGridLevel):
    """R×C rooms with a door between every pair of neighbours, coloured objects and optional lava.

    Doors start open with probability `open`, never locked. Lava cells never cut any free cell
    off from the agent. The mission is a BabyAI instruction, verified by BabyAI's own verifier.
    """

    def __init__(self, params: RoomsParams, **kwargs: Any):
        self.params = params
        super().__init__(room_size=params.size, num_rows=params.rows, num_cols=params.cols, **kwargs)

    def gen_mission(self) -> None:
        p = self.params
        self.place_agent()
        for j in range(self.num_rows):
            for i in range(self.num_cols):
                for wall in (0, 1):  # right and down; left and up are the neighbours' right and down
                    if self.get_room(i, j).neighbors[wall] is not None:
                        door, _ = self.add_door(i, j, wall, self._rand_elem(COLOR_NAMES), locked=False)
                        door.is_open = self._rand_float(0, 1) < p.open
        n_objects = p.objects if p.objects is not None else 2 * self.num_rows * self.num_cols
        objs = self.add_distractors(num_distractors=n_objects, all_unique=False)
        self._add_lava(p.lava)
        self.instrs = self._rand_instr(objs)

    def _rand_instr(self, objs: list) -> Any:
        task = self.params.task
        if task == "any":
            task = self._rand_elem(["goto", "pickup", "open", "putnext"])
        match task:
            case "goto":
                obj = self._rand_elem(objs)
                return GoToInstr(ObjDesc(obj.type, obj.color))
            case "pickup":
                obj = self._rand_elem(objs)
                return PickupInstr(ObjDesc(obj.type, obj.color))
            case "open":
                doors = [d for row in self.room_grid for r in row for d in r.doors if d and not d.is_open]
                if not doors:
                    raise RejectSampling("no closed door to open")
                door = self._rand_elem(doors)
                return OpenInstr(ObjDesc("door", door.color))
            case "putnext":
                if len(objs) < 2:
                    raise RejectSampling("putnext needs two objects")
                a, b = self._rand_subset(objs, 2)
                return PutNextInstr(ObjDesc(a.type, a.color), ObjDesc(b.type, b.color))
        raise AssertionError(task)

    def _add_lava(self, count: int) -> None:
        ax, ay = self.agent_pos
        keep_clear = {(int(ax), int(ay)), tuple(int(v) for v in self.front_pos)}
        placed, tries = 0, 0
        while placed < count:
            tries += 1
            if tries > 200 * (count + 1):
                raise RejectSampling("could not place lava without blocking paths")
            room = self.get_room(self._rand_int(0, self.num_cols), self._rand_int(0, self.num_rows))
            x = self._rand_int(room.top[0] + 1, room.top[0] + room.size[0] - 1)
            y = self._rand_int(room.top[1] + 1, room.top[1] + room.size[1] - 1)
            if (x, y) in keep_clear or self.grid.get(x, y) is not None:
                continue
            self.grid.set(x, y, Lava())
            if self._all_free_cells_reachable():
                placed += 1
            else:
                self.grid.set(x, y, None)

    def _all_free_cells_reachable(self) -> bool:
        """Every non-wall, non-lava cell reachable from the agent (objects and doors count as passable)."""
        grid = self.grid
        blocked = {"wall", "lava"}
        free = {
            (x, y)
            for x in range(grid.width)
            for y in range(grid.height)
            if (c := grid.get(x, y)) is None or c.type not in blocked
        }
        start = (int(self.agent_pos[0]), int(self.agent_pos[1]))
        seen, queue = {start}, deque([start])
        while queue:
            x, y = queue.popleft()
            for nxt in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if nxt in free and nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen == free
