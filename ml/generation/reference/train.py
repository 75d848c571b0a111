"""Train ReferenceDiT on the synthetic scene corpus, on CPU.

    python -m ml.generation.reference.train --out DIR [--steps 2000] [--max-minutes 50]

Writes into DIR: ``model.safetensors`` (EMA weights) and ``config.json`` (the model config: what the engine
loads), ``train_config.json`` (every setting of this run), ``train.log``, and caches it reuses on a rerun
(``text_cache.pt``: the MiniLM embedding of every vocabulary prompt; ``faces.npz``: the training face bank).
A checkpoint is written every ``--save-every`` steps and at the end, so a run cut short still leaves one.

The scene stream, noise and timesteps come from seeded generators. ``--deterministic`` also makes torch
pick deterministic kernels, so a rerun with the same seed and thread count repeats the run bit for bit; it
is off by default because on CPU it costs about 3x per step (the attention backward). ``--init`` starts
from an earlier checkpoint's weights (same model config) instead of a random initialisation, to continue
a run. Where ``--max-minutes`` stops a slow run varies; the log says where.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from ml.generation.reference import corpus, faces
from ml.generation.reference.engine import load_checkpoint
from ml.generation.reference.model import ReferenceDiT, ReferenceDiTConfig
from ml.generation.reference.sampler import shift_time

log = logging.getLogger("reference.train")


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 600  # optimiser steps (the run also stops at max_minutes)
    max_minutes: float = 34.0  # wall-clock budget; the run saves and stops when it is spent
    batch_size: int = 12  # clips per step
    lr: float = 1e-3  # peak AdamW learning rate
    min_lr: float = 5e-5  # learning rate at the end of the cosine decay
    warmup: int = 100  # linear warm-up steps
    weight_decay: float = 0.0  # AdamW weight decay
    ema: float = 0.995  # EMA decay of the weights that are saved
    grad_clip: float = 1.0  # global grad-norm clip
    time_shift: float = 4.0  # noise levels t are uniform, then shifted (sampler.shift_time) towards noise
    morphs: int = 300  # synthetic faces bred from the training faces
    seed: int = 0  # seeds the face bank, scene stream, noise and init
    threads: int = 2  # torch intra-op threads (the machine is shared)
    save_every: int = 200  # steps between checkpoints
    log_every: int = 25  # steps between log lines
    deterministic: bool = False  # deterministic torch kernels (bit-repeatable runs; ~3x slower per step)
    init: str = ""  # a checkpoint folder (model.safetensors + config.json) to start from; "" = random init


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(..., H, W, 3) uint8 -> (..., 3, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(images).movedim(-1, -3).float() / 127.5 - 1.0


def face_bank(out: Path, config: TrainConfig) -> list[faces.Face]:
    path = out / "faces.npz"
    if path.exists():
        data = np.load(path)
        return [
            faces.Face(str(n), c, e, str(s))
            for n, c, e, s in zip(
                data["names"], data["chips"], data["embeddings"], data["sources"], strict=True
            )
        ]
    bank = faces.training_faces(config.morphs, seed=config.seed)
    np.savez(
        path,
        names=np.array([f.name for f in bank]),
        chips=np.stack([f.chip for f in bank]),
        embeddings=np.stack([f.embedding for f in bank]),
        sources=np.array([f.source for f in bank]),
    )
    return bank


TextEncode = Callable[[list[str]], torch.Tensor]  # prompts -> (len, 384) sentence embeddings


def text_cache(out: Path, encode: TextEncode | None = None) -> torch.Tensor:
    """(len(vocabulary()), 384) embeddings of every vocabulary prompt by ``encode`` (default: MiniLM, the
    encoder the engine uses), cached by prompt list."""
    prompts = [corpus.prompt_for(labels) for labels in corpus.vocabulary()]
    path = out / "text_cache.pt"
    if path.exists():
        cached = torch.load(path)
        if cached["prompts"] == prompts:
            return cached["embeddings"]
    if encode is None:
        from ml.generation.reference.text import TextEncoder

        encode = TextEncoder.shared().encode
    embeddings = encode(prompts)
    torch.save({"prompts": prompts, "embeddings": embeddings}, path)
    return embeddings


def batch(generator: corpus.SceneGenerator, texts: torch.Tensor, size: int, rng: np.random.Generator) -> dict:
    scenes, indices = zip(*(generator.sample(rng) for _ in range(size)), strict=True)
    return {
        "video": to_tensor(np.stack([s.frames for s in scenes])),  # (B, F, 3, H, W)
        "text": texts[list(indices)],  # (B, 384)
        "faces": to_tensor(np.stack([s.references for s in scenes])),  # (B, K, 3, face, face)
        "embeddings": torch.from_numpy(np.stack([s.embeddings for s in scenes])),  # (B, K, 128)
        "present": torch.from_numpy(np.stack([s.present for s in scenes])),  # (B, K)
    }


def learning_rate(step: int, config: TrainConfig) -> float:
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(1, config.steps - config.warmup)
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def save(model: ReferenceDiT, out: Path) -> None:
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps(model.config.to_dict(), indent=2, sort_keys=True) + "\n")


def load_weights(model: ReferenceDiT, folder: Path) -> None:
    """Start from the weights in ``folder``, which must have been trained with the same model config."""
    saved = load_checkpoint(folder)
    if saved.config != model.config:
        raise ValueError(f"{folder} holds a model with config {saved.config}, not {model.config}")
    model.load_state_dict(saved.state_dict())


def train(
    out: Path, config: TrainConfig, model_config: ReferenceDiTConfig, encode_text: TextEncode | None = None
) -> None:
    """One training run into ``out`` (see the module docstring); its log goes to ``out/train.log`` and to
    this module's logger. torch's thread count and determinism are set for the run and restored after.
    ``encode_text`` replaces MiniLM (tests: a checkpoint trained so only suits an engine built with it)."""
    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "train.log", mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        _train(out, config, model_config, encode_text)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
        log.removeHandler(handler)
        handler.close()


def _train(
    out: Path, config: TrainConfig, model_config: ReferenceDiTConfig, encode_text: TextEncode | None
) -> None:
    # 1. setup: threads, seeds, determinism, configs
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(config.deterministic)
    (out / "train_config.json").write_text(
        json.dumps({"train": asdict(config), "model": model_config.to_dict()}, indent=2, sort_keys=True)
        + "\n"
    )
    started = time.monotonic()
    # 2. data: face bank (training identities only) and the text cache of the vocabulary
    bank = face_bank(out, config)
    held_out = set(faces.HELD_OUT)
    if any(face.name in held_out for face in bank):
        raise RuntimeError("a held-out identity is in the training face bank")
    texts = text_cache(out, encode_text)
    generator = corpus.SceneGenerator(bank, seed=config.seed)
    log.info(
        "faces %d (%s), prompts %d, data ready in %.0f s",
        len(bank),
        {source: sum(f.source == source for f in bank) for source in ("real", "lfw", "morph")},
        len(texts),
        time.monotonic() - started,
    )
    # 3. model, EMA copy, optimiser
    model = ReferenceDiT(model_config)
    if config.init:
        load_weights(model, Path(config.init))
        log.info("weights from %s", config.init)
    ema = copy.deepcopy(model).requires_grad_(False)
    log.info("parameters %.2f M", sum(p.numel() for p in model.parameters()) / 1e6)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.99)
    )
    rng = np.random.default_rng(config.seed)
    noise_generator = torch.Generator().manual_seed(config.seed)
    # 4. loop: x_t = (1 - t) x0 + t noise, t uniform then shifted as the sampler's; loss: MSE of the clean clip
    running, step = 0.0, 0
    train_started = time.monotonic()
    for step in range(1, config.steps + 1):
        data = batch(generator, texts, config.batch_size, rng)
        x0 = data["video"]
        B = x0.shape[0]
        t = shift_time(torch.rand(B, generator=noise_generator), config.time_shift)  # (B,)
        noise = torch.randn(x0.shape, generator=noise_generator)
        tt = t.view(B, 1, 1, 1, 1)
        noisy = (1 - tt) * x0 + tt * noise
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step - 1, config)
        predicted = model(noisy, t, data["text"], data["faces"], data["embeddings"], data["present"])
        loss = (predicted - x0).pow(2).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimiser.step()
        with torch.no_grad():
            decay = min(config.ema, (1 + step) / (10 + step))
            for ema_param, param in zip(ema.parameters(), model.parameters(), strict=True):
                ema_param.lerp_(param, 1 - decay)
        running += loss.item()
        minutes = (time.monotonic() - started) / 60
        if step % config.log_every == 0:
            per_step = (time.monotonic() - train_started) / step
            log.info(
                "step %d loss %.5f lr %.2e %.2f s/step %.1f min",
                step,
                running / config.log_every,
                group["lr"],
                per_step,
                minutes,
            )
            running = 0.0
        if step % config.save_every == 0:
            save(ema, out)
        if minutes >= config.max_minutes:
            log.info(
                "stopping at step %d of %d: the %.0f-minute budget is spent",
                step,
                config.steps,
                config.max_minutes,
            )
            break
    # 5. final checkpoint
    save(ema, out)
    log.info(
        "done: %d steps in %.1f min; checkpoint %s",
        step,
        (time.monotonic() - started) / 60,
        out / "model.safetensors",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the checkpoint, configs and log")
    defaults = TrainConfig()
    for name, value in asdict(defaults).items():
        if isinstance(value, bool):
            parser.add_argument(
                f"--{name.replace('_', '-')}", action=argparse.BooleanOptionalAction, default=value
            )
        else:
            parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    for name, value in asdict(ReferenceDiTConfig()).items():
        parser.add_argument(f"--model-{name.replace('_', '-')}", type=type(value), default=value)
    args = vars(parser.parse_args())
    config = TrainConfig(**{name: args[name] for name in asdict(defaults)})
    model_config = ReferenceDiTConfig(
        **{name: args[f"model_{name}"] for name in asdict(ReferenceDiTConfig())}
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    train(args["out"], config, model_config)


if __name__ == "__main__":
    main()
