"""`point:tworooms`: the continuous two-rooms world (gymnasium's checks, determinism, walls, goals)."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from hagent.worlds.point import (
    PLACES,
    PlaceError,
    PointSpecError,
    make_point_world,
    parse_place,
    parse_point,
)


def _oracle(world) -> np.ndarray:
    """Through the door to the goal, a full step at a time (it reads the world's state: a scripted
    reference, not an agent)."""
    st = world.state()
    here, layout = st["position"], st["layout"]
    doors = layout.route(st["room"], st["goal_room"])
    if not doors:
        return st["goal"] - here
    near, far = doors[0].crossing(st["room"], depth=3.0)
    across = near - far
    if abs(np.dot(here - near, across) / np.linalg.norm(across)) < 0.5 and np.linalg.norm(here - near) < 1.0 or np.dot(here - near, far - near) > 0:
        return far - here  # at (or past) the door's mouth: cross
    return near - here


def test_passes_gymnasiums_env_checker() -> None:
    check_env(make_point_world("point:tworooms").unwrapped, skip_render_check=True)


def test_same_seed_same_episode_and_images() -> None:
    runs = []
    for _ in range(2):
        world = make_point_world("point:tworooms", seed=11)
        obs, _ = world.reset()
        frames = [obs["image"]]
        rng = np.random.default_rng(0)
        for _ in range(20):
            obs, *_ = world.step(rng.uniform(-3, 3, 2))
            frames.append(obs["image"])
        runs.append((np.stack(frames), obs["goal"], world.state()["position"]))
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])
    assert np.allclose(runs[0][2], runs[1][2])
    other = make_point_world("point:tworooms", seed=12)
    assert not np.array_equal(other.reset()[0]["goal"], runs[0][1])


def test_the_wall_blocks_except_at_the_door() -> None:
    world = make_point_world("point:tworooms?wall=fixed", seed=0)
    world.reset()
    world.position = np.array([20.0, 50.0])  # left room, far below the door (door_y = 32)
    for _ in range(20):
        world.step([2.45, 0.0])
    assert world.state()["position"][0] < 32 - 1.5  # stopped at the wall's face
    world.position = np.array([20.0, 32.0])  # level with the door
    for _ in range(10):
        world.step([2.45, 0.0])
    assert world.state()["position"][0] > 32 + 1.5  # through it


def test_actions_are_norm_clipped_and_bad_actions_do_nothing() -> None:
    world = make_point_world("point:tworooms?wall=fixed", seed=3)
    world.reset()
    world.position = np.array([15.0, 20.0])
    world.step([100.0, 0.0])
    assert np.isclose(world.state()["position"][0], 15.0 + 2.45)
    before = world.state()["position"]
    world.step([float("nan"), 1.0])
    assert np.allclose(world.state()["position"], before)


@pytest.mark.parametrize("spec", ["point:tworooms", "point:maze?rooms=4", "point:maze?rooms=9"])
def test_start_and_goal_in_different_rooms_and_the_goal_is_reachable_in_the_budget(spec: str) -> None:
    wins = 0
    for seed in range(100):
        world = make_point_world(spec, seed=seed)
        obs, _ = world.reset()
        st = world.state()
        assert st["room"] != st["goal_room"]
        assert not st["layout"].solid(*st["position"]) and not st["layout"].solid(*st["goal"])
        assert obs["image"].shape == (64, 64, 3) and obs["goal"].shape == (64, 64, 3)
        done = False
        while not done:
            _, _, terminated, truncated, _ = world.step(_oracle(world))
            done = terminated or truncated
        wins += world.judge().success
    assert wins >= 98, wins  # a scripted door-then-goal controller: the 50-step budget is enough


def test_text_goals_name_a_place_in_the_other_room() -> None:
    world = make_point_world("point:tworooms?goal=text", seed=5)
    obs, _ = world.reset()
    assert obs["mission"].startswith("go to the ") and obs["mission"].endswith(" room")
    st = world.state()
    assert obs["mission"].endswith(("left room", "right room")[st["goal_room"]])
    maze = make_point_world("point:maze?rooms=4&goal=text", seed=5)
    obs, _ = maze.reset()
    row, col = divmod(maze.state()["goal_room"], 2)
    assert obs["mission"].endswith(f"of the room {row + 1},{col + 1}")


def test_a_maze_is_a_tree_of_doors() -> None:
    for seed in range(20):
        world = make_point_world("point:maze?rooms=9", seed=seed)
        world.reset()
        layout = world.state()["layout"]
        assert len(layout.doors) == 8  # a spanning tree of 9 rooms
        assert all(len(layout.route(0, b)) >= 1 for b in range(1, 9))  # every room reachable


@pytest.mark.parametrize("spec", ["point:maze?rooms=5", "point:maze?wall=fixed", "point:tworooms?wall=sideways", "point:tworooms?steps=0", "rooms:tworooms"])
def test_bad_specs_are_refused_with_the_allowed_forms(spec: str) -> None:
    with pytest.raises(PointSpecError, match="point:tworooms.*point:maze"):
        parse_point(spec)


def test_text_goals_are_parsed_into_room_and_place_or_refused_with_what_can_be_named() -> None:
    two, maze = parse_point("point:tworooms"), parse_point("point:maze?rooms=4")
    assert parse_place("go to the top-left corner of the left room", two) == (0, PLACES.index("top-left corner"))
    assert parse_place("Go to the middle of the right room.", two) == (1, PLACES.index("centre"))
    assert parse_place("the lower right corner of the right room", two) == (1, PLACES.index("bottom-right corner"))
    assert parse_place("go to the centre of the room 2,1", maze) == (2, PLACES.index("centre"))
    for text, params in (("go to the goal", two), ("top-left corner of the room 3,1", maze), ("centre of the left room", maze)):
        with pytest.raises(PlaceError, match="top-left corner of the left room|room R,C"):
            parse_place(text, params)


def test_a_text_goal_comes_with_a_blank_goal_image_and_place_views_for_training() -> None:
    world = make_point_world("point:tworooms?goal=text", seed=2)
    obs, _ = world.reset()
    assert not obs["goal"].any()  # the mission alone says where
    views = world.place_views()
    assert views.shape == (2 * len(PLACES), 64, 64, 3)
    room, place = parse_place(obs["mission"], world.params)
    goal_view = views[room * len(PLACES) + place]
    ys, xs = np.nonzero(goal_view[:, :, 0] * (goal_view[:, :, 1] == 0))  # the red dot
    assert np.hypot(xs.mean() + 0.5 - world.state()["goal"][0], ys.mean() + 0.5 - world.state()["goal"][1]) < 1.0


@pytest.mark.parametrize("spec", ["point:tworooms", "point:maze?rooms=4"])
def test_places_imagined_from_the_views_join_only_through_doors(spec: str) -> None:
    import networkx as nx

    from hagent.acting.view_graph import scene, where_agent

    for seed in range(5):
        world = make_point_world(spec, seed=seed)
        obs, _ = world.reset()
        st = world.state()
        assert np.hypot(*(where_agent(obs["image"]) - st["position"])) < 0.5
        found = scene([obs["image"], obs["goal"]], spacing=4.0, clearance=2.5)
        layout = st["layout"]
        assert nx.is_connected(found.graph)  # every room reachable through its doors
        for a, b in found.graph.edges:
            pa, pb = found.positions[a], found.positions[b]
            ts = np.linspace(0, 1, 9)[:, None]
            path = pa + ts * (pb - pa)
            assert not layout.solid(path[:, 0], path[:, 1]).any()  # never through a wall
        # an imagined view is the real view with the agent there, up to the sub-pixel phase
        world.position = found.positions[len(found.positions) // 2].copy()
        real = world._observe()["image"].astype(int)
        assert np.abs(found.images[len(found.positions) // 2].astype(int) - real).mean() < 2.0
