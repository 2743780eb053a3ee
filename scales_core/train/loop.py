r"""The training loop: AdamW with warm-up and cosine decay, KL annealing, checkpoints.

:func:`main` runs (or resumes) a run from a command line (see :mod:`scales_core.train`)
and ends it with the held-out metrics and the final model.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time

import torch
from tqdm import tqdm

from ..datasets import dataset_for_kind
from ..models.own import save_vae
from ..models.training import epoch_batches, evaluate, loss_terms
from ..provenance import git_commit
from .checkpoint import rng_state, save_checkpoint, set_rng_state, write_record
from .cli import _setup

logger = logging.getLogger("scales_core.train")


def lr_factor(step: int, total: int, warmup: int, floor: float) -> float:
    """Linear warm-up, then cosine decay to ``floor`` at ``total`` steps."""
    if step < warmup:
        return (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * frac))


def main(argv: list[str] | None = None) -> dict:
    """Run (or resume) a training run; returns the training record."""
    threads = torch.get_num_threads()
    try:
        return _main(sys.argv[1:] if argv is None else list(argv))
    finally:
        torch.set_num_threads(threads)


def _main(argv: list[str]) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        args, out, ckpt_path, ckpt, prepared = _setup(argv)
    except (ValueError, OSError) as error:  # bad options or files: a clear exit
        raise SystemExit(f"error: {error}") from error
    vae, x_train, x_held, info = prepared
    device = torch.device(args.device)
    vae.to(device)
    opt = torch.optim.AdamW(
        vae.parameters(), lr=args.lr, weight_decay=args.weight_decay
    )
    step, epoch, pos, elapsed = 0, 0, 0, 0.0
    record = {
        "command": " ".join([sys.executable, "-m", "scales_core.train", *argv]),
        "args": vars(args),
        "seed": args.seed,
        "git_commit": git_commit(),
        "torch": str(torch.__version__),
        "data": info,
        "sessions": [],
    }
    if ckpt is not None:
        vae.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        step, epoch, pos = ckpt["step"], ckpt["epoch"], ckpt["pos"]
        elapsed = ckpt["elapsed"]
        set_rng_state(ckpt["rng"])
        record = ckpt["record"]
        record["resume_commands"] = [*record.get("resume_commands", []), " ".join(argv)]
        logger.info("resumed at step %d (epoch %d, batch %d)", step, epoch, pos)
    spe = math.ceil(len(x_train) / args.batch_size)
    total = args.max_steps or math.ceil(args.epochs * spe)
    spec = dataset_for_kind(args.model).training
    selfies = spec.architecture == "selfies_transformer"
    pad = 0 if selfies else None  # SELFIES batches are cut to their longest item
    vocab = vae.vocab.tokens if selfies else list(vae.vocab)
    logger.info(
        "%d training / %d held-out items, %d steps per epoch, %d steps, %d parameters",
        len(x_train),
        len(x_held),
        spe,
        total,
        sum(p.numel() for p in vae.parameters()),
    )
    session = {"start": time.strftime("%Y-%m-%d %H:%M:%S"), "start_step": step}
    record["sessions"].append(session)
    t_start, last_save = time.time(), time.time()
    budget = None if args.max_minutes is None else 60 * args.max_minutes

    def checkpoint() -> None:
        session.update(end=time.strftime("%Y-%m-%d %H:%M:%S"), end_step=step)
        record.update(
            steps=step,
            epochs_done=step / spe,
            wall_time_s=elapsed + time.time() - t_start,
        )
        save_checkpoint(
            ckpt_path,
            model=vae.state_dict(),
            optimizer=opt.state_dict(),
            step=step,
            epoch=epoch,
            pos=pos,
            rng=rng_state(),
            elapsed=elapsed + time.time() - t_start,
            args=vars(args),
            vocab=vocab,
            record=record,
        )
        write_record(out, record)

    vae.train()
    bar = tqdm(
        total=total,
        initial=step,
        disable=args.no_progress,
        desc=args.model,
        mininterval=5.0,
    )
    stopped = "steps"
    while step < total:
        batches = epoch_batches(x_train, args.batch_size, args.seed, epoch, pad)
        while pos < len(batches) and step < total:
            if budget is not None and elapsed + time.time() - t_start > budget:
                stopped = "time"
                break
            for group in opt.param_groups:
                group["lr"] = args.lr * lr_factor(
                    step, total, args.warmup_steps, args.min_lr_ratio
                )
            beta = args.beta * min(1.0, step / max(1, args.beta_warmup_steps))
            terms = loss_terms(vae, x_train[batches[pos]].to(device), beta)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
            opt.step()
            step, pos = step + 1, pos + 1
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix(
                    recon=f"{terms['recon']:.3f}",
                    kl=f"{terms['kl']:.1f}",
                    acc=f"{terms['token_acc']:.4f}",
                    beta=f"{beta:.1e}",
                )
            if time.time() - last_save > 60 * args.checkpoint_minutes:
                checkpoint()
                last_save = time.time()
        if stopped == "time":
            break
        if pos >= len(batches):
            epoch, pos = epoch + 1, 0
    bar.close()
    record["stopped_by"] = stopped
    checkpoint()
    t_eval = time.time()
    metrics = evaluate(
        vae, x_held, n_prior=args.n_prior, seed=args.seed, canonical=spec.canonical
    )
    metrics["eval_time_s"] = time.time() - t_eval
    record.update(final_metrics=metrics, finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    write_record(out, record)
    save_vae(vae, out / "final", record)
    logger.info(
        "done: %d steps, %.1f min training; held-out %s",
        step,
        record["wall_time_s"] / 60,
        json.dumps(metrics),
    )
    return record
