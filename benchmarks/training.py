"""(5) Training: a full `carebot train --force`, and `carebot train` with nothing changed.

All run as `carebot` processes with CAREBOT_MODELS_DIR pointing at a scratch directory, so the
benchmark never replaces the model in models/ that other processes (tests, a running bot) use, and
with Rasa's training cache (RASA_CACHE_DIRECTORY, normally ./.rasa/cache) in a scratch directory
too. The first `--force` run therefore starts from an empty cache: a true full training. A second
`--force` run follows with the cache Rasa filled, which is what `--force` costs on a machine that
has trained before (Rasa reuses cached component outputs whose fingerprints match).

The no-op run starts from a copy of the current model when the full run is skipped. A no-op must
not retrain: the model file is checked to be the very same file (inode and mtime) afterwards.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from benchmarks import machine, stats
from benchmarks.procs import carebot_command, child_env

NOOP_GOAL_SECONDS = 2.0


def _run(args: list, env: Dict[str, str], cwd: Path, timeout: float = 3600) -> Dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(carebot_command() + args, env=env, cwd=str(cwd), capture_output=True, text=True,
                          timeout=timeout)
    return {"seconds": round(time.perf_counter() - started, 3), "exit_code": done.returncode,
            "output": (done.stdout + done.stderr).strip()[-400:]}


def _identity(path: Path) -> Optional[tuple]:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def training_benchmark(workdir: Path, current_model: Optional[Path], full: bool, noop_runs: int = 3,
                       say: Callable[[str], None] = print) -> Dict[str, Any]:
    models = workdir / "models"
    models.mkdir(parents=True, exist_ok=True)
    env = child_env({"CAREBOT_MODELS_DIR": str(models), "CAREBOT_STATE_PATH": str(workdir / "train-state.db"),
                     "RASA_CACHE_DIRECTORY": str(workdir / "rasa-cache")},
                    drop=("CAREBOT_LOG_LEVEL",))
    out: Dict[str, Any] = {"models_dir": "scratch (CAREBOT_MODELS_DIR)"}
    if full:
        for key, what in (("full", "empty Rasa cache: a full training"),
                          ("force_warm_cache", "Rasa cache from the run before")):
            say(f"bench: carebot train --force ({what}) ...")
            load_before = machine.load_average()
            result = _run(["train", "--force", "--quiet"], env, workdir)
            result["load_before"], result["load_after"] = load_before, machine.load_average()
            out[key] = result
    else:
        out["full"] = out["force_warm_cache"] = None
        if current_model is None or not current_model.is_file():
            out["noop"] = None
            out["skipped"] = "no trained model to start the no-op run from"
            return out
        shutil.copy2(current_model, models / current_model.name)
    trained = sorted(models.glob("nlu-*.tar.gz"))
    if len(trained) != 1:
        out["noop"] = None
        out["skipped"] = f"expected one model in the scratch directory, found {len(trained)}"
        return out
    model = trained[0]
    before = _identity(model)
    runs = []
    for number in range(noop_runs):
        say(f"bench: carebot train (nothing changed) run {number + 1}/{noop_runs} ...")
        runs.append(_run(["train"], env, workdir, timeout=600))
    after = _identity(model)
    retrained = before != after or len(list(models.glob("nlu-*.tar.gz"))) != 1
    out["noop"] = {
        "seconds": stats.summary([r["seconds"] for r in runs], scale=1.0),
        "retrained": retrained,
        "exit_codes": [r["exit_code"] for r in runs],
        "said": runs[-1]["output"] if runs else "",
    }
    out["model_bytes"] = os.path.getsize(model)
    out["goal"] = {"noop_seconds_max": NOOP_GOAL_SECONDS, "noop_retrains": False}
    return out
