"""report.py on a small JSON in the convention: tables, ratios within a case, figures, charts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import report
from convention import AREAS, TARGETS


def _bench(area: str, case: str, impl: str, role: str, median: float, **extra: Any) -> Any:
    info = {"area": area, "case": case, "impl": impl, "role": role, **extra}
    return {"stats": {"median": median, "rounds": 5}, "extra_info": info}


def _document(*benchmarks: Any) -> dict[str, Any]:
    return {
        "machine_info": {"envelope_report": {"cpu": "Test CPU", "cores": 2, "python": "3.11.7",
                                             "openssl": "OpenSSL 9", "versions": {"tink": "1"}}},
        "datetime": "2026-01-01T00:00:00",
        "benchmarks": list(benchmarks),
        "areas": {name: dataclasses.asdict(area) for name, area in AREAS.items()},
        "targets": [dataclasses.asdict(target) for target in TARGETS],
    }  # fmt: skip


def _write(tmp_path: Path, document: dict[str, Any]) -> str:
    source = tmp_path / "results.json"
    source.write_text(json.dumps(document))
    output = tmp_path / "BENCHMARKS.md"
    assert report.main([str(source), str(output), str(tmp_path / "charts")]) == 0
    return output.read_text()


def test_ratios_compare_implementations_of_the_same_case(tmp_path: Path) -> None:
    mib = 1 << 20
    text = _write(tmp_path, _document(
        _bench("messages", "1 MiB encrypt", "envelope", "subject", 0.001, bytes=mib,
               series="encrypt", x=mib),
        _bench("messages", "1 MiB encrypt", "aws-encryption-sdk", "peer", 0.004, bytes=mib,
               series="encrypt", x=mib),
        _bench("messages", "1 MiB encrypt", "raw AES-GCM", "limit", 0.0005, bytes=mib,
               series="encrypt", x=mib),
        _bench("messages", "1 KiB encrypt", "envelope", "subject", 0.00001, bytes=1024,
               series="encrypt", x=1024),
        _bench("messages", "1 KiB encrypt", "aws-encryption-sdk", "peer", 0.00008, bytes=1024,
               series="encrypt", x=1024),
    ))  # fmt: skip
    row = next(line for line in text.splitlines() if line.startswith("| 1 MiB encrypt"))
    assert "**1.05 GB/s** (1 ms)" in row  # 2^20 bytes in 1 ms
    assert "| 0.25x |" in row and "| 2.00x |" in row  # envelope ÷ ESDK, envelope ÷ raw
    small = next(line for line in text.splitlines() if line.startswith("| 1 KiB encrypt"))
    assert "| 0.12x |" in small  # its own peer, never the 1 MiB one
    assert small.rstrip().endswith("|  |")  # no raw AES-GCM in that case: no ratio
    assert "Test CPU, 2 cores" in text and "OpenSSL 9" in text and "tink 1" in text
    assert (tmp_path / "charts" / "messages-encrypt.png").stat().st_size > 1000
    assert "(charts/messages-encrypt.png)" in text


def test_rates_figures_and_time_areas(tmp_path: Path) -> None:
    text = _write(tmp_path, _document(
        _bench("keys", "Decrypt, 4 clients", "envelope serve", "subject", 3.0, rate=2000.0,
               figures={"p99 (ms)": 4.25}),
        _bench("keys", "Decrypt, 4 clients", "moto", "peer", 3.0, rate=500.0,
               figures={"p99 (ms)": 15.5}),
        _bench("cli", "encrypt 1 KiB", "envelope", "subject", 0.12),
        _bench("cli", "encrypt 1 KiB", "aws-encryption-cli", "peer", 0.25),
        _bench("cli", "encrypt 1 KiB", "python -c pass", "limit", 0.02),
    ))  # fmt: skip
    keys = next(line for line in text.splitlines() if line.startswith("| Decrypt, 4 clients"))
    assert "**2,000/s** |" in keys and "| 0.25x |" in keys  # from the rates, not the time
    assert "| Decrypt, 4 clients | moto | 15.5 |" in text
    cli = next(line for line in text.splitlines() if line.startswith("| encrypt 1 KiB"))
    assert "**120 ms**" in cli and "| 0.48x |" in cli and "| 6.00x |" in cli


def test_untagged_results_are_left_out_and_unknown_areas_refused(tmp_path: Path) -> None:
    untagged = {"stats": {"median": 1.0, "rounds": 1}, "extra_info": {}}
    source = tmp_path / "results.json"
    source.write_text(json.dumps(_document(untagged)))
    assert report.main([str(source), str(tmp_path / "out.md")]) == 1
    source.write_text(json.dumps(_document(_bench("nowhere", "c", "i", "subject", 1.0))))
    with pytest.raises(SystemExit, match="unknown areas: nowhere"):
        report.main([str(source), str(tmp_path / "out.md")])


def test_targets_are_checked_on_figures_of_the_run(tmp_path: Path) -> None:
    text = _write(tmp_path, _document(
        _bench("cli", "encrypt 1 KiB", "envelope", "subject", 0.12),
        _bench("cli", "encrypt 1 KiB", "aws-encryption-cli", "peer", 0.25),
        _bench("messages", "1 KiB round trip (CPU time)", "envelope", "subject", 30e-6),
        _bench("messages", "1 KiB round trip (CPU time)", "tink", "peer", 15e-6),
    ))  # fmt: skip
    rows = [line for line in text.split("## Targets")[1].split("## ")[0].splitlines()
            if line.startswith("| `envelope") or line.startswith("| 1 KiB")]  # fmt: skip
    assert len(rows) == 2
    assert "| 0.48x | <= 0.5x | yes |" in rows[0]
    assert "| 2.00x | <= 1.5x | **no** |" in rows[1]
    text = _write(tmp_path, _document(_bench("cli", "encrypt 1 KiB", "envelope", "subject", 0.1)))
    assert text.count("| not measured |") == 2
