"""The summary of a network: one row per layer, then totals. Pure Python (instant).

FLOPs count a multiply-add as 2; sizes in MB are 10^6 bytes of float32.
"""

from __future__ import annotations

BYTES_PER_VALUE = 4  # float32


def _field_text(field) -> str:
    return "all" if field is None else f"{field[0]}x{field[1]}"


def summarize(spec, batch_size: int = 1) -> dict:
    """The summary as data (what ``convkit summary --json`` prints)."""
    infos = spec.infer()
    rows = [
        {
            "index": info.index + 1,
            "name": info.name,
            "type": info.type,
            "inputs": list(info.inputs),
            "output": str(info.output_shape),
            "output_tensor": [batch_size, *info.output_shape.tensor_shape()],
            "params": info.params,
            "flops": info.flops,
            "receptive_field": _field_text(info.receptive_field),
            "explanation": info.explanation,
        }
        for info in infos
    ]
    params = sum(info.params for info in infos)
    flops = sum(info.flops for info in infos)
    values = spec.input.numel() + sum(info.output_shape.numel() for info in infos)
    return {
        "name": spec.name,
        "input": str(spec.input),
        "output": str(infos[spec.order[-1]].output_shape),
        "sequential": spec.is_sequential,
        "layers": rows,
        "totals": {
            "params": params,
            "params_mb": params * BYTES_PER_VALUE / 1e6,
            "flops": flops,
            "gflops": flops / 1e9,
            "batch_size": batch_size,
            "activation_mb": values * batch_size * BYTES_PER_VALUE / 1e6,
        },
    }


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def format_summary(summary: dict, explain: bool = False) -> str:
    """The summary as the table ``convkit summary`` prints."""
    title = summary["name"] or "network"
    lines = [f"{title}: input {summary['input']} → output {summary['output']}", ""]
    header = ["#", "name", "type", "output", "params", "FLOPs", "receptive field"]
    rows = [
        [
            str(row["index"]),
            row["name"],
            row["type"],
            row["output"],
            f"{row['params']:,}",
            f"{row['flops']:,}",
            row["receptive_field"],
        ]
        for row in summary["layers"]
    ]
    if not summary["sequential"]:  # a graph: say what each layer reads
        header.append("inputs")
        for row, data in zip(rows, summary["layers"], strict=True):
            row.append(", ".join(data["inputs"]))
    table = _table(header, rows, right={0, 4, 5})
    lines.extend(table[:2])
    for row, text in zip(summary["layers"], table[2:], strict=True):
        lines.append(text)
        if explain:
            lines.append(f"      {row['explanation']}")
    totals = summary["totals"]
    lines += [
        "",
        f"parameters: {totals['params']:,} ({totals['params_mb']:.2f} MB as float32)",
        f"compute: {totals['gflops']:.4f} GFLOPs per image (forward; a multiply-add counts 2)",
        f"activations: {totals['activation_mb']:.2f} MB at batch size {totals['batch_size']} "
        "(forward, float32, every layer's output)",
    ]
    return "\n".join(lines)
