"""Train the NLU model only when its inputs changed, and find the model to load.

The fingerprint covers everything that shapes the model: the pipeline config, the training data,
the lexicon, the code of our own component and the Rasa version. A model is stored as
models/nlu-<fingerprint>.tar.gz, so "is it up to date?" is one file lookup and needs no Rasa.
"""
from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Callable, Optional

from knowledge.loader import LEXICON_PATH

NLU_DIR = Path(__file__).resolve().parent
CONFIG_PATH = NLU_DIR / "config.yml"
DATA_DIR = NLU_DIR / "data"
# Everything under nlu/ that shapes what the model says: a change to any of them retrains.
_FINGERPRINTED_CODE = ("components.py", "matcher.py", "drugs.py", "assertion.py", "assertion_rules.yml",
                       "intent_rules.py")

log = logging.getLogger(__name__)


def fingerprint(config: Path = CONFIG_PATH, data_dir: Path = DATA_DIR, lexicon: Path = LEXICON_PATH) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256()
    digest.update(f"rasa=={version('rasa')}\n".encode())
    digest.update(f"drug-named-entity-recognition=={version('drug-named-entity-recognition')}\n".encode())
    digest.update(f"medspacy=={version('medspacy')}\n".encode())
    inputs = [config, lexicon, *sorted(data_dir.glob("*.yml")), *(NLU_DIR / name for name in _FINGERPRINTED_CODE)]
    for path in inputs:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path(models_dir: Path, print_: Optional[str] = None) -> Path:
    return models_dir / f"nlu-{print_ or fingerprint()}.tar.gz"


def current_model(models_dir: Path) -> Optional[Path]:
    """The model trained from the current inputs, if there is one."""
    path = model_path(models_dir)
    return path if path.is_file() else None


def train(models_dir: Path, *, force: bool = False, quiet: bool = False,
          say: Callable[[str], None] = print) -> Path:
    """Train unless a model for the current fingerprint exists; returns the model path.

    A file lock keeps two processes (a test run and a CLI) from training at once; the second
    waits and then finds the first one's model.
    """
    from filelock import FileLock

    models_dir.mkdir(parents=True, exist_ok=True)
    target = model_path(models_dir)
    with FileLock(str(models_dir / ".train.lock")):
        if target.is_file() and not force:
            if not quiet:
                say(f"NLU model is up to date ({target.name}); nothing to train. Use --force to retrain.")
            return target
        if not quiet:
            say(f"Training the NLU model from {DATA_DIR.relative_to(NLU_DIR.parent)} ...")
        started = time.perf_counter()
        _train_with_rasa(target, quiet=quiet)
        seconds = time.perf_counter() - started
        for old in models_dir.glob("nlu-*.tar.gz"):
            if old != target:
                old.unlink(missing_ok=True)
        log.info("trained model=%s seconds=%.1f", target.name, seconds)
        if not quiet:
            say(f"Trained {target.name} in {seconds:.0f} s.")
        return target


def ensure_model(models_dir: Path, say: Callable[[str], None] = print) -> Path:
    """The current model, training one first (and saying so) when there is none."""
    existing = current_model(models_dir)
    if existing is not None:
        return existing
    say("No NLU model for the current training data yet: training one first (about a minute).")
    return train(models_dir, quiet=True)


def _train_with_rasa(target: Path, *, quiet: bool) -> None:
    import contextlib
    import io
    import os

    from rasa.model_training import train_nlu

    # Rasa shows DIET's epochs as a tqdm bar on stderr: the progress display. --quiet hides it.
    sink = io.StringIO()
    redirect = contextlib.redirect_stderr(sink) if quiet else contextlib.nullcontext()
    with redirect, contextlib.redirect_stdout(sink if quiet else io.StringIO()):
        result = train_nlu(
            config=str(CONFIG_PATH),
            nlu_data=str(DATA_DIR),
            output=str(target.parent),
            fixed_model_name=target.name[: -len(".tar.gz")],
        )
    if not result or not Path(result).is_file():
        raise RuntimeError("Rasa did not produce a model; run `carebot train --force` to see its output")
    if Path(result) != target:
        os.replace(result, target)
