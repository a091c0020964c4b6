"""(3) Cold start: process start to first answer, `carebot ask` against bare Rasa.

Each run is a fresh process timed from just before it is spawned to the moment its answer line
reaches our pipe (and, separately, to its exit). carebot's answer is the reply `carebot ask`
prints; bare Rasa's is the intent line `bare_rasa.py` prints after `Agent.load` and one
`parse_message`. Runs alternate between the two; the first pair is a warm-up (it fills the page
cache with Python, TensorFlow and the model for both) and is reported but not counted.
Peak RSS of each process comes from wait4()'s rusage.

Other people may edit the NLU inputs while this runs: `carebot ask` would then train a model
first. Such a run is kept in `runs` (marked `trained`) but left out of the figures, and every run
checks the model it measures is still the current one.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from benchmarks import machine, stats
from benchmarks.procs import bare_rasa_command, carebot_command, child_env

COLD_START_GOAL_RATIO = 1.10
QUESTION = "lanreotide dose?"


TRAINED_FIRST = "training one first"  # what `carebot ask` says when it has to train (nlu.model.ensure_model)


def time_process(command: Sequence[str], answered: Callable[[str], bool], env: Optional[Dict[str, str]] = None,
                 cwd: Optional[Path] = None, timeout: float = 900.0) -> Dict[str, Any]:
    """Spawn `command`; seconds to the first stdout line for which `answered(line)` is true, seconds
    to exit, exit code, peak RSS (bytes) and the tail of its standard error."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as sink:
        process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=sink, stdin=subprocess.DEVNULL,
                                   env=env, cwd=str(cwd) if cwd else None)
        first: Optional[float] = None
        assert process.stdout is not None
        for raw in process.stdout:
            if first is None and answered(raw.decode(errors="replace")):
                first = time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                process.kill()
                break
        _, status, usage = os.wait4(process.pid, 0)
        exited = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        sink.seek(0)
        stderr = sink.read().decode(errors="replace")
    return {
        "first_answer_s": None if first is None else round(first, 3),
        "exit_s": round(exited, 3),
        "exit_code": process.returncode,
        "peak_rss_bytes": usage.ru_maxrss * 1024,
        "stderr_tail": stderr[-300:],
    }


def cold_start_benchmark(workdir: Path, model: Path, runs: int, warmup: bool = True,
                         say: Callable[[str], None] = print) -> Dict[str, Any]:
    env = child_env({"CAREBOT_STATE_PATH": str(workdir / "cold-start-state.db")},
                    drop=("CAREBOT_LOG_LEVEL",))
    sides = {
        "carebot": (carebot_command() + ["ask", QUESTION], lambda line: bool(line.strip())),
        "bare_rasa": (bare_rasa_command(model, QUESTION), lambda line: line.startswith("ANSWER ")),
    }
    samples: Dict[str, List[Dict[str, Any]]] = {name: [] for name in sides}
    warmups: Dict[str, Dict[str, Any]] = {}
    total = runs + (1 if warmup else 0)
    for number in range(total):
        # alternate which side goes first in each pair
        order = list(sides) if number % 2 == 0 else list(reversed(list(sides)))
        for name in order:
            command, answered = sides[name]
            if not model.is_file():
                raise RuntimeError(f"{model.name} was replaced during the benchmark (the NLU inputs changed); "
                                   "run it again")
            say(f"bench: cold start {name} run {number + 1}/{total} ...")
            result = time_process(command, answered, env=env, cwd=workdir)
            result["load_average"] = machine.load_average()
            result["trained"] = TRAINED_FIRST in result["stderr_tail"]
            if name == "bare_rasa" or result["exit_code"] == 0:
                result.pop("stderr_tail")  # bare Rasa's warnings; carebot's only matter on failure
            if warmup and number == 0:
                warmups[name] = result
            else:
                samples[name].append(result)
    out: Dict[str, Any] = {"question": QUESTION, "runs": runs, "warmup_runs": 1 if warmup else 0}
    for name in sides:
        counted = [r for r in samples[name] if not r.get("trained")]
        firsts = [r["first_answer_s"] for r in counted if r["first_answer_s"] is not None]
        out[name] = {
            "first_answer_s": stats.summary(firsts, scale=1.0),
            "exit_s": stats.summary([r["exit_s"] for r in counted], scale=1.0),
            "peak_rss_mib": stats.summary([r["peak_rss_bytes"] for r in counted], scale=1 / 1024 / 1024, digits=1),
            "failures": sum(1 for r in counted if r["exit_code"] != 0 or r["first_answer_s"] is None),
            "excluded_trained": len(samples[name]) - len(counted),
            "runs": samples[name],
            "warmup": warmups.get(name),
        }
    out["ratio_median"] = stats.ratio(out["carebot"]["first_answer_s"]["median"],
                                      out["bare_rasa"]["first_answer_s"]["median"])
    out["command"] = {"carebot": f"carebot ask {QUESTION!r}",
                      "bare_rasa": "python benchmarks/bare_rasa.py MODEL (Agent.load + parse_message)"}
    out["goal"] = {"ratio_median_max": COLD_START_GOAL_RATIO}
    return out
