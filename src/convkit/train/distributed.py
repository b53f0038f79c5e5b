"""Data-parallel helpers: the same Trainer runs in every process of a DDP job.

When a torch.distributed process group is initialised (e.g. by Spark's
TorchDistributor or torchrun), the Trainer wraps the network in
DistributedDataParallel, gives each rank its shard of every epoch, sums the
metric accumulators across ranks, and lets rank 0 alone write files.
"""

from __future__ import annotations


def _initialised() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def rank_and_world() -> tuple[int, int]:
    if not _initialised():
        return 0, 1
    import torch.distributed as dist

    return dist.get_rank(), dist.get_world_size()


def wrap(net, device):
    """The module to call in the loop: DDP around ``net`` in a process group, else ``net``."""
    if not _initialised():
        return net
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(net, device_ids=device_ids)


def reduce_metrics(metrics) -> None:
    """Sum each rank's metric accumulators in place, so compute() sees the whole epoch."""
    if not _initialised():
        return
    import torch.distributed as dist

    for tensor in metrics.state_tensors():
        if tensor is not None:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
