"""Data-parallel training on PyTorch's own engine: `torchrun --nproc_per_node N -m hagent train ...`.

A single process needs nothing from here: every helper is the identity when there is one
process. Under torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR... in the environment)
`setup` joins the process group (gloo on CPU, NCCL on CUDA) and then:

* every rank draws the same global batch indices from the same seeded generators (a fresh
  permutation per epoch), and `shard` keeps this rank's contiguous slice of them: a distributed
  sampler whose union over ranks is exactly the single-process batch;
* each trainable part is wrapped in `DistributedDataParallel` (`wrap`), which averages the
  gradients of the equal shards, i.e. the gradient of the global batch's mean loss;
* batch statistics (VICReg's variance and covariance) are taken over the gathered global batch
  (`gather`, differentiable), so the anti-collapse terms equal the single-process ones;
* only rank 0 logs, shows progress bars and writes files (`is_main`).

Hence N processes with global batch B train the same weights as one process with batch B, up to
floating-point rounding (a test checks it).
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
import torch.distributed as dist
from torch import nn


class DistributedError(ValueError):
    """A setting that can't be split over the processes (the message says what to change)."""


class Group(NamedTuple):
    """This process's place in the job."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


_GROUP = Group()


def launched() -> bool:
    """Was this process started by torchrun (or another launcher setting WORLD_SIZE > 1)?"""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device) -> Group:
    """Join the process group torchrun describes in the environment; a no-op for one process.
    NCCL when `device` is CUDA (each rank on cuda:LOCAL_RANK), gloo otherwise."""
    global _GROUP
    if not launched():
        _GROUP = Group()
        return _GROUP
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30))
    _GROUP = Group(rank, size, local)
    return _GROUP


def rank_device(device: torch.device) -> torch.device:
    """Under torchrun each rank takes its own GPU (cuda:LOCAL_RANK); CPU stays CPU."""
    if device.type == "cuda" and launched() and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def teardown() -> None:
    """Leave the process group (after a final barrier), if one was joined."""
    global _GROUP
    if dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.barrier()
        dist.destroy_process_group()
    _GROUP = Group()


def group() -> Group:
    """The current group (a single process unless `setup` joined one)."""
    return _GROUP


def is_main() -> bool:
    return _GROUP.is_main


def active() -> bool:
    return _GROUP.size > 1


def check_batch(name: str, batch_size: int) -> None:
    """Global batches are split evenly; say so plainly when they can't be."""
    if batch_size % _GROUP.size:
        raise DistributedError(
            f"{name}={batch_size} does not split evenly over {_GROUP.size} processes; "
            f"use a multiple of {_GROUP.size}"
        )


def shard(x: Any) -> Any:
    """This rank's contiguous slice of a global batch (a tensor, array or list); the identity
    for one process."""
    if _GROUP.size == 1:
        return x
    n = len(x) // _GROUP.size
    return x[_GROUP.rank * n : (_GROUP.rank + 1) * n]


def gather(x: torch.Tensor) -> torch.Tensor:
    """The global batch of a per-rank tensor, rank 0's rows first, differentiable (each rank's
    gradient flows back to its own rows); the identity for one process."""
    if _GROUP.size == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x.contiguous()), 0)


def mean(value: float | torch.Tensor) -> float:
    """The mean of a scalar over ranks (for logging)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().item()
    if _GROUP.size == 1:
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item()) / _GROUP.size


def any_rank(flag: bool) -> bool:
    """True on every rank when `flag` is true on any (so that all ranks stop together)."""
    if _GROUP.size == 1:
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier() -> None:
    if _GROUP.size > 1:
        dist.barrier()


def broadcast_object(obj: Any) -> Any:
    """Rank 0's `obj` on every rank."""
    if _GROUP.size == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class Objective(nn.Module):
    """`fn(model, *batch) -> loss` as a module whose forward DDP can watch: wrapping this, not
    the model, lets any training loop keep its own loss code."""

    def __init__(self, model: nn.Module, fn: Callable[..., Any]):
        super().__init__()
        self.model = model
        self.fn = fn

    def forward(self, *args: Any) -> Any:
        return self.fn(self.model, *args)


def wrap(model: nn.Module, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A callable computing `fn(model, *batch)`: through DistributedDataParallel (which averages
    `model`'s gradients over ranks during backward) under torchrun, directly otherwise."""
    objective = Objective(model, fn)
    if _GROUP.size == 1:
        return objective
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(objective, device_ids=ids, broadcast_buffers=False)

