"""What the benchmarks print and write: tables (console and markdown), percentiles."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

console = Console()


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (linear interpolation); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds == seconds else "-"


def ratio(value: float) -> str:
    return f"{value:.2f} x" if value == value else "-"


def met(ok: bool) -> str:
    return "yes" if ok else "**no**"


@dataclass
class Report:
    """Sections in order; each is printed as it is added and written to the doc."""

    sections: list[str] = field(default_factory=list)

    def table(self, title: str, header: list[str], rows: list[list[str]], note: str = "") -> None:
        t = Table(title=title)
        for h in header:
            t.add_column(h)
        for r in rows:
            t.add_row(*r)
        console.print(t)
        if note:
            console.print(note)
        md = [f"### {title}", "", "| " + " | ".join(header) + " |"]
        md.append("|" + "---|" * len(header))
        md += ["| " + " | ".join(r) + " |" for r in rows]
        if note:
            md += ["", note]
        self.sections.append("\n".join(md))

    def text(self, title: str, body: str) -> None:
        console.print(f"[bold]{title}[/]\n{body}")
        self.sections.append(f"### {title}\n\n{body}")


def machine() -> list[str]:
    """The machine and its load, as markdown bullet points."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = psutil.getloadavg()
    return [
        f"- CPU: {cpu}, {psutil.cpu_count()} cores; "
        f"RAM {psutil.virtual_memory().total / 2**30:.0f} GiB",
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"- Run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Load average when the run ended (1, 5, 15 min): "
        f"{load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}",
    ]
