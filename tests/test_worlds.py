"""Worlds: gymnasium conformance, determinism, lava safety, symbolic view and judgement."""

from collections import deque

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from hagent.worlds import (
    FORWARD,
    LEFT,
    PICKUP,
    RIGHT,
    TOGGLE,
    WorldSpecError,
    make_world,
    parse_spec,
)

SPECS = ["rooms:2x2", "rooms:3x3", "rooms:3x3?lava=4", "babyai:GoToLocal", "babyai:GoTo"]


def _trajectory(spec: str, seed: int, steps: int = 60) -> list:
    world = make_world(spec, seed=seed)
    obs, _ = world.reset()
    rng = np.random.default_rng(123)
    out = [(obs["image"].copy(), obs["direction"], obs["mission"])]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = world.step(int(rng.integers(0, 6)))
        out.append((obs["image"].copy(), obs["direction"], reward, terminated, truncated, info["events"]))
        if terminated or truncated:
            break
    return out


def _same(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if not np.array_equal(x[0], y[0]) or x[1:] != y[1:]:
            return False
    return True


@pytest.mark.parametrize("spec", SPECS)
def test_check_env(spec: str) -> None:
    check_env(make_world(spec, seed=1), skip_render_check=True)


@pytest.mark.parametrize("spec", SPECS)
def test_same_seed_same_trajectory(spec: str) -> None:
    assert _same(_trajectory(spec, 7), _trajectory(spec, 7))
    assert not _same(_trajectory(spec, 7), _trajectory(spec, 8))


@pytest.mark.parametrize("spec", SPECS)
def test_observation_is_full_grid_with_agent(spec: str) -> None:
    world = make_world(spec, seed=3)
    obs, _ = world.reset()
    base = world.unwrapped
    assert obs["image"].shape == (base.width, base.height, 3)
    assert isinstance(obs["mission"], str) and obs["mission"]
    xs, ys = np.nonzero(obs["image"][..., 0] == 10)  # minigrid's "agent" code
    assert (int(xs[0]), int(ys[0])) == world.symbolic().agent
    assert obs["image"][xs[0], ys[0], 2] == obs["direction"]


def test_incremental_observation_matches_full_encoding() -> None:
    """The cell-by-cell patched grid code must equal minigrid's own full encoding."""
    world = make_world("rooms:3x3?lava=3", seed=5)
    obs, _ = world.reset()
    rng = np.random.default_rng(0)
    for _ in range(400):
        obs, _, terminated, truncated, _ = world.step(int(rng.choice([0, 1, 2, 2, 3, 4, 5])))
        full = world.unwrapped.grid.encode()
        x, y = world.unwrapped.agent_pos
        full[x, y] = (10, 0, world.unwrapped.agent_dir)
        assert np.array_equal(obs["image"], full)
        if terminated or truncated:
            obs, _ = world.reset()


def test_rooms_layout() -> None:
    world = make_world("rooms:3x3", seed=0)
    world.reset()
    view = world.symbolic()
    assert len(view.doors) == 12  # 3x3 rooms: 6 horizontal + 6 vertical neighbour pairs
    assert not any(d.is_locked for d in view.doors)
    assert len(view.objects) == 18
    assert {o.kind for o in view.objects} <= {"ball", "box", "key"}
    assert view.room == (view.agent[0] // 6, view.agent[1] // 6)
    big = make_world("rooms:5x5", seed=0)
    obs, _ = big.reset()
    assert obs["image"].shape == (31, 31, 3)


def _reachable_free_cells(world) -> tuple[set, set]:
    grid = world.unwrapped.grid
    free = {
        (x, y)
        for x in range(grid.width)
        for y in range(grid.height)
        if (c := grid.get(x, y)) is None or c.type not in ("wall", "lava")
    }
    start = world.symbolic().agent
    seen, queue = {start}, deque([start])
    while queue:
        x, y = queue.popleft()
        for n in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if n in free and n not in seen:
                seen.add(n)
                queue.append(n)
    return seen, free


@pytest.mark.parametrize("seed", range(15))
def test_lava_never_blocks_paths(seed: int) -> None:
    world = make_world("rooms:3x3?lava=12", seed=seed)
    world.reset()
    assert len(world.symbolic().lava) == 12
    seen, free = _reachable_free_cells(world)
    assert seen == free


def test_spec_errors_list_known_forms() -> None:
    for bad in ["", "rooms", "rooms:0x3", "rooms:3by3", "rooms:9x9", "rooms:3x3?lava=x", "rooms:3x3?fog=1",
                "babyai:NoSuchLevel", "minigrid:Nope-v0", "atari:Pong", "rooms:3x3?task=fly"]:
        with pytest.raises(WorldSpecError) as err:
            parse_spec(bad)
        assert "known forms" in str(err.value) and "rooms:RxC" in str(err.value)
    with pytest.raises(WorldSpecError):
        make_world("babyai:NoSuchLevel")


def test_babyai_prints_stay_off_stdout(capsys: pytest.CaptureFixture) -> None:
    world = make_world("babyai:GoTo", seed=0)
    for seed in range(30):  # GoTo's generator rejects samples and prints about it
        world.reset(seed=seed)
    assert capsys.readouterr().out == ""


def _face_front_and(world, action: int) -> dict:
    _, _, _, _, info = world.step(action)
    return info


def test_events_and_judgement() -> None:
    # Drive a world by its symbolic view (as a test may: labels and scoring are its business).
    world = make_world("rooms:1x2?open=0&objects=1", seed=2)
    world.reset()
    door = world.symbolic().doors[0]
    assert not door.is_open
    _walk_to_face(world, door.cell)
    info = _face_front_and(world, TOGGLE)
    assert [str(e) for e in info["events"]] == [f"opened {door.color} door"]
    assert world.symbolic().doors[0].is_open
    obj = world.symbolic().objects[0]
    _walk_to_face(world, obj.cell)
    info = _face_front_and(world, PICKUP)
    assert [str(e) for e in info["events"]] == [f"picked up {obj.color} {obj.kind}"]
    assert world.symbolic().carrying.kind == obj.kind
    assert world.judge().violations == ()


def test_lava_is_a_violation_and_goal_is_success() -> None:
    world = make_world("minigrid:MiniGrid-LavaCrossingS9N1-v0", seed=0)
    world.reset()
    lava = world.symbolic().lava[0]
    for x, y in ((lava[0] - 1, lava[1]), (lava[0], lava[1] - 1), (lava[0] + 1, lava[1]), (lava[0], lava[1] + 1)):
        try:
            _walk_to_face(world, lava, stand=(x, y))
            break
        except LookupError:
            continue
    _, _, terminated, _, info = world.step(FORWARD)
    assert terminated and "entered lava" in [str(e) for e in info["events"]]
    assert world.judge() == world.judge().__class__(success=False, violations=("entered lava",))

    goto = make_world("babyai:GoToLocal", seed=4)
    goto.reset()
    target = goto.unwrapped.instrs.desc
    goto.unwrapped.instrs.desc.find_matching_objs(goto.unwrapped)
    cell = tuple(int(v) for v in target.obj_poss[0])
    _walk_to_face(goto, cell)
    assert goto.judge().success


def _walk_to_face(world, target: tuple[int, int], stand: tuple[int, int] | None = None) -> None:
    """BFS (over the symbolic view) to a cell next to `target`, then turn to face it."""
    grid = world.unwrapped.grid
    start = world.symbolic().agent

    def free(c):
        o = grid.get(*c)
        return o is None or (o.type == "door" and o.is_open)

    goals = [stand] if stand else [(target[0] + dx, target[1] + dy) for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    parents, queue = {start: None}, deque([start])
    while queue:
        c = queue.popleft()
        if c in goals:
            break
        for dx, dy in ((1, 0), (0, 1), (-1, 0), (0, -1)):
            n = (c[0] + dx, c[1] + dy)
            if n not in parents and free(n):
                parents[n] = c
                queue.append(n)
    else:
        raise LookupError("unreachable")
    path = []
    while c is not None:
        path.append(c)
        c = parents[c]
    path = path[::-1] + [target]
    dirs = [(1, 0), (0, 1), (-1, 0), (0, -1)]
    for a, b in zip(path, path[1:]):
        want = dirs.index((b[0] - a[0], b[1] - a[1]))
        while world.unwrapped.agent_dir != want:
            world.step(RIGHT if (want - world.unwrapped.agent_dir) % 4 in (1, 2) else LEFT)
        if b != target:
            world.step(FORWARD)


def test_instruct_makes_the_world_judge_another_goal() -> None:
    from hagent.language import parse

    world = make_world("babyai:GoToLocal", seed=4)
    world.reset()
    target = world.symbolic().objects[0]
    assert world.instruct(parse(f"pick up the {target.color} {target.kind}").goal, "pick it up")
    assert world.unwrapped.mission == "pick it up"
    _walk_to_face(world, target.cell)
    assert not world.judge().success  # facing is not picking up
    world.step(PICKUP)
    assert world.judge().success
    lava = make_world("minigrid:MiniGrid-LavaCrossingS9N1-v0", seed=0)
    lava.reset()
    assert not lava.instruct(parse("go to the red ball").goal, "go to the red ball")


def test_the_scorer_reads_regions_from_the_true_grid_as_the_agent_does_from_its_view() -> None:
    """`World.watch` grounds region guardrails with code of its own (`hagent.worlds.regions`, on the
    env's grid); on a fresh view it must agree with the agent's grounding (`hagent.acting.waypoints`)."""
    from hagent.acting.grounding import Memory
    from hagent.language import ROOM_POSITIONS, ObjectRef, RegionRef
    from hagent.acting.waypoints import region_cells as seen_by_agent
    from hagent.worlds.regions import region_cells as seen_by_world

    refs = [RegionRef(position=p) for p in ROOM_POSITIONS] + [RegionRef(color=c) for c in ("red", "blue", "grey")]
    refs += [RegionRef(contains=ObjectRef("key", "yellow")), RegionRef(contains=ObjectRef("ball", location="front"))]
    compared = 0
    for spec, seed in (("rooms:3x3", 0), ("rooms:3x3", 1), ("rooms:2x2", 4), ("babyai:GoTo", 2)):
        world = make_world(spec, seed=seed)
        obs, _ = world.reset()
        base = world.unwrapped
        for ref in refs:
            expected = seen_by_agent(obs["image"], ref, Memory(obs))
            got = seen_by_world(base.grid.encode(), ref, tuple(int(v) for v in base.agent_pos), int(base.agent_dir))
            assert got == expected, (spec, seed, ref)
            compared += bool(expected)
    assert compared >= 10  # most descriptions matched some room
