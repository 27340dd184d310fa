"""Benchmark harness: timing, markdown tables and PNG plots in ``benchmarks/results/``.

Every benchmark measures our figure and its baselines in the same run and reports
ratios, because absolute times on shared machines are noisy.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

RESULTS = Path(__file__).resolve().parent / "results"


def time_call(fn: Callable[[], object], *, min_time: float = 0.05, repeat: int = 7) -> float:
    """Median wall time of one call of ``fn``, in seconds.

    Calls are batched so that each of the ``repeat`` samples lasts at least ``min_time``.
    """
    fn()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or number >= 1 << 20:
            break
        number *= 2 if elapsed == 0 else max(2, int(min_time / elapsed * 1.2))
    samples = [elapsed / number]
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def machine() -> str:
    """One line naming the machine and the Python that ran the benchmark."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


@attrs.define
class Table:
    """A results table: written as ``results/<name>.md`` and printed."""

    name: str
    title: str
    columns: Sequence[str]
    rows: list[Sequence[object]] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)

    def add(self, *cells: object) -> None:
        """Append one row."""
        self.rows.append(cells)

    def markdown(self) -> str:
        """The table as markdown, with the machine line and notes."""
        head = "| " + " | ".join(self.columns) + " |"
        rule = "|" + "|".join("---" for _ in self.columns) + "|"
        body = ["| " + " | ".join(_cell(c) for c in row) + " |" for row in self.rows]
        notes = [f"- {n}" for n in self.notes]
        when = time.strftime("%Y-%m-%d")
        lines = [f"# {self.title}", "", f"Measured {when} on {machine()}.", "", head, rule]
        return "\n".join([*lines, *body, "", *notes, ""])

    def write(self) -> Path:
        """Write the markdown file, print it, and return its path."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.md"
        text = self.markdown()
        path.write_text(text, encoding="utf-8")
        print(text)
        return path


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def bar_plot(
    name: str,
    title: str,
    groups: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    ylabel: str,
    log: bool = False,
) -> Path:
    """Grouped bar chart (one group per row, one bar per series) as ``results/<name>.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(groups) + 2), 4.2), dpi=110)
    width = 0.8 / max(1, len(series))
    for k, (label, values) in enumerate(series.items()):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(groups))]
        ax.bar(xs, values, width=width, label=label)
    ax.set_xticks(range(len(groups)), list(groups))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = RESULTS / f"{name}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


async def seed_salespeople(platform: Any, count: int, password: str) -> None:
    """A company, an organization and salespeople ``sp0`` … ``sp<count-1>`` (all with
    ``password``) in a fresh ``platform``, under a super admin ``root``."""
    from zhanye_sdk import Role, ServiceHours

    await platform.auth.bootstrap_super_admin("root", password, "root")
    root = await platform.auth.authenticate((await platform.auth.login("root", password)).token)
    company = await platform.companies.create(root, "基准公司")
    org = await platform.organizations.create(
        root, "基准机构", hours=ServiceHours(), company_id=company.id
    )
    for k in range(count):
        await platform.accounts.create(
            root, login=f"sp{k}", name=f"销售{k}", password=password,
            role=Role.SALESPERSON, org_id=org.id,
        )  # fmt: skip
