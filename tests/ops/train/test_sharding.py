"""Sharded scoring across two real gloo processes: every example scored exactly once, and
every process receives all rows in order."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("accelerate")

WORKER = textwrap.dedent(
    """\
    import json, os, sys
    import numpy as np
    from emocompress.ops.train import distributed

    scored = []
    def compute(rows):
        scored.extend(int(r) for r in rows)
        return np.stack([rows * 10.0, rows + 0.5], axis=1)

    rows = distributed.sharded_rows(compute, 11)
    share = distributed.local_share(np.arange(7)).tolist()
    mean = distributed.all_mean(float(distributed.process_index()))
    out = {"scored": scored, "rows": rows.tolist(), "share": share, "mean": mean,
           "count": distributed.process_count(), "main": distributed.is_main_process()}
    with open(os.path.join(sys.argv[1], f"rank{os.environ['RANK']}.json"), "w") as handle:
        json.dump(out, handle)
    distributed.shutdown()
    """
)


def test_two_processes_score_each_example_once(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
         "--master_addr", "127.0.0.1", "--master_port", str(port), str(script), str(tmp_path)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["count"] for r in ranks] == [2, 2] and [r["main"] for r in ranks] == [True, False]
    scored = ranks[0]["scored"] + ranks[1]["scored"]
    assert sorted(scored) == list(range(11))  # each once
    expected = [[10.0 * i, i + 0.5] for i in range(11)]
    assert ranks[0]["rows"] == expected and ranks[1]["rows"] == expected
    assert ranks[0]["share"] == [0, 2, 4, 6] and ranks[1]["share"] == [1, 3, 5]
    assert ranks[0]["mean"] == ranks[1]["mean"] == 0.5
