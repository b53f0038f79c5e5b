"""The scan of a packed dataset for undecodable rows, as one Spark job.

Without it every training rank would decode the whole dataset before its
first step (to agree on which rows to leave out). Here the executors decode
it once, row groups spread over all task slots; the driver collects the few
bad rows and hands them to every rank (``convkit.data.packed.remember_scan``).
A part file with the wrong schema fails the run with one line.
"""

from __future__ import annotations

import sys
import time

from convkit.errors import DataError

SCHEMA_PROBLEM = -1  # the "row" of a record that describes a whole file


def scan_packed_dataset(session, location: str, channels: int, progress: bool = True):
    """[(global row, reason)] of the rows that do not decode, found by a Spark job."""
    from convkit.data.packed_layout import read_layout

    layout = read_layout(location)
    starts, first = [], 0
    for rows in layout.group_rows:
        for count in rows:
            starts.append(first)
            first += count
    tasks = [(f, g, start) for (f, g), start in zip(layout.groups, starts, strict=True)]
    if not tasks:
        raise DataError(f"{location}: the packed dataset has no rows")
    started = time.perf_counter()
    slices = min(len(tasks), max(1, session.sparkContext.defaultParallelism) * 4)
    records = (
        session.sparkContext.parallelize(tasks, slices)
        .mapPartitions(_ScanGroups(location, channels))
        .collect()
    )
    problems = [reason for row, reason in records if row == SCHEMA_PROBLEM]
    if problems:
        raise DataError(problems[0])
    bad = sorted((int(row), reason) for row, reason in records)
    if progress:
        print(
            f"scanned {first} rows of {location} in {len(tasks)} row groups on Spark "
            f"({time.perf_counter() - started:.1f}s): {len(bad)} unreadable",
            file=sys.stderr,
            flush=True,
        )
    return bad


class _ScanGroups:
    """What each Spark task runs: decode its row groups, yield (row, reason) of the bad ones.

    A module-level class, so cloudpickle sends it by reference (executors
    have convkit installed, as for training).
    """

    def __init__(self, location: str, channels: int):
        self.location = location
        self.channels = channels

    def __call__(self, tasks):
        from convkit.data.packed import decode_problems, open_part, read_contents
        from convkit.data.packed_layout import read_layout

        try:
            layout = read_layout(self.location)
            handles: dict[int, object] = {}
            for file_index, group_in_file, first_row in tasks:
                if file_index not in handles:  # one open part at a time
                    handles = {file_index: open_part(layout, file_index)}
                contents = read_contents(handles[file_index], group_in_file)
                yield from decode_problems(contents, self.channels, first_row)
        except DataError as error:
            yield (SCHEMA_PROBLEM, str(error))
