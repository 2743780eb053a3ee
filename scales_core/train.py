r"""Train the project's VAEs: ``python -m scales_core.train --model ... --out DIR``.

Writes ``DIR/checkpoint.pt`` (model, optimizer, step, epoch, position in the epoch,
RNG states) every ``--checkpoint-minutes`` and at the end, ``DIR/record.json``
(command line, parameters, git commit, data, wall time, held-out metrics) and, at
the end, ``DIR/final/`` (the model in the :func:`scales_core.models.own.save_vae`
format, loadable with ``load_vae(DIR/final)``). ``--resume`` continues a run from
``DIR`` with its saved parameters; the step counter and the schedules go on (only
the run-length and logging options may change; another value of a saved option,
such as ``--model``, is refused). A non-empty ``DIR`` is refused unless
``--resume`` or ``--overwrite`` (which deletes the earlier run's outputs) is given.
Every numeric option is checked before any data are read, and a held-out set that
shares items with the training set is refused.

Example::

    python -m scales_core.train --model selfies_transformer --n-train 300000 \
        --epochs 4 --batch-size 128 --lr 2e-3 --beta 5e-3 --out runs/selfies

A dataset record of your own is trainable once registered: ``--records MODULE``
imports ``MODULE`` (a dotted name on ``sys.path`` or a ``.py`` file) and calls its
``register_records()`` when it has one, before ``--model`` is read, e.g.
``--records scales_core.datasets.dyck --model char_dyck``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .datasets import dataset_for_kind, import_records, load_training_strings, training_kinds
from .models.char_vae import CharVAEConfig
from .models.own import build_vae, save_vae
from .models.selfies_vae import SelfiesVAEConfig
from .models.training import (
    char_tokens, epoch_batches, evaluate, loss_terms, selfies_tokens,
)
from ._files import CorruptFileError, load_torch_file, numpy_globals
from .provenance import git_commit

logger = logging.getLogger("scales_core.train")


def _records_in(argv: list[str]) -> list[str]:
    """The ``--records`` values of a command line (read before the full parser)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--records", action="append", default=[])
    return pre.parse_known_args(argv)[0].records


def build_parser() -> argparse.ArgumentParser:
    """The command-line options (``--model`` lists the registered kinds)."""
    p = argparse.ArgumentParser(prog="python -m scales_core.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", action="append", default=[], metavar="MODULE",
                   help="import MODULE and call its register_records() first "
                        "(repeatable): its records' kinds become --model choices")
    p.add_argument("--model", choices=training_kinds(), default=None,
                   help="model kind of a dataset record (default: selfies_transformer)")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--overwrite", action="store_true",
                   help="delete an earlier run's outputs in --out, start afresh")
    d = p.add_argument_group("data")
    d.add_argument("--n-train", type=int, default=None, help="training subset size")
    d.add_argument("--n-heldout", type=int, default=1000)
    d.add_argument("--train-file", default=None, help="one string a line")
    d.add_argument("--heldout-file", default=None)
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=float, default=1.0)
    t.add_argument("--max-steps", type=int, default=None, help="stop after this step")
    t.add_argument("--max-minutes", type=float, default=None, help="training time cap")
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    t.add_argument("--warmup-steps", type=int, default=500)
    t.add_argument("--min-lr-ratio", type=float, default=0.05, help="cosine floor")
    t.add_argument("--weight-decay", type=float, default=0.01)
    t.add_argument("--beta", type=float, default=5e-3, help="final KL weight")
    t.add_argument("--beta-warmup-steps", type=int, default=2000, help="linear 0->beta")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    t.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    t.add_argument("--checkpoint-minutes", type=float, default=5.0)
    t.add_argument("--n-prior", type=int, default=1000, help="prior decodes at the end")
    t.add_argument("--no-progress", action="store_true")
    m = p.add_argument_group("SELFIES transformer")
    for name, default in [("max-len", 70), ("latent-dim", 256), ("d-model", 128),
                          ("n-heads", 4), ("enc-layers", 2), ("dec-layers", 3),
                          ("ff-mult", 2), ("n-memory", 4)]:
        m.add_argument(f"--{name}", type=int, default=default)
    m.add_argument("--dropout", type=float, default=0.0)
    return p


#: Options that may take new values on ``--resume`` (run length and logging).
RESUMABLE = ("epochs", "max_steps", "max_minutes", "checkpoint_minutes", "no_progress",
             "threads", "n_prior", "device")

#: Files and folders a run writes in ``--out`` (what ``--overwrite`` deletes).
OUTPUTS = ("checkpoint.pt", "checkpoint.tmp", "record.json", "final")

# name -> (lowest allowed value, whether the value may equal it, None allowed)
_LIMITS = {
    "batch_size": (1, True, False), "epochs": (0, False, False),
    "n_train": (1, True, True), "n_heldout": (1, True, False),
    "max_steps": (1, True, True), "max_minutes": (0, False, True),
    "lr": (0, False, False), "warmup_steps": (0, True, False),
    "min_lr_ratio": (0, True, False), "weight_decay": (0, True, False),
    "beta": (0, True, False), "beta_warmup_steps": (0, True, False),
    "seed": (0, True, False), "threads": (1, True, False),
    "checkpoint_minutes": (0, True, False), "n_prior": (1, True, False),
    "max_len": (2, True, False), "latent_dim": (1, True, False),
    "d_model": (1, True, False), "n_heads": (1, True, False),
    "enc_layers": (1, True, False), "dec_layers": (1, True, False),
    "ff_mult": (1, True, False), "n_memory": (1, True, False),
    "dropout": (0, True, False),
}


def check_args(args: argparse.Namespace) -> None:
    """Refuse out-of-range options before any data are read.

    Raises:
        ValueError: naming the option, its value and the allowed range.
    """
    for name, (low, inclusive, optional) in _LIMITS.items():
        value = getattr(args, name, None)
        if value is None and optional:
            continue
        ok = (value is not None and not isinstance(value, bool)
              and isinstance(value, (int, float)) and math.isfinite(value)
              and (value >= low if inclusive else value > low))
        if not ok:
            bound = f">= {low}" if inclusive else f"> {low}"
            raise ValueError(f"--{name.replace('_', '-')} must be a finite number "
                             f"{bound}, got {value!r}")
    if args.min_lr_ratio > 1:
        raise ValueError(f"--min-lr-ratio must be in [0, 1], got {args.min_lr_ratio}")
    if args.dropout >= 1:
        raise ValueError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.d_model % args.n_heads:
        raise ValueError(f"--d-model ({args.d_model}) must be a multiple of "
                         f"--n-heads ({args.n_heads})")
    try:
        device = torch.device(args.device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"--device {args.device!r}: {error}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device}: torch sees no CUDA GPU")


def _explicit(argv: list[str]) -> dict:
    """The options given on the command line (not their defaults)."""
    parser = build_parser()
    for action in parser._actions:
        action.default = argparse.SUPPRESS
        action.required = False
    return vars(parser.parse_args(argv))


def load_checkpoint(path: Path) -> dict:
    """Read a training checkpoint (``weights_only``; numpy RNG arrays allowed).

    Raises:
        CorruptFileError: naming the file when it is truncated, damaged or lacks
            the fields of a checkpoint.
    """
    fix = ("Restore it from a copy, or start the run afresh with --overwrite (its "
           "progress is lost).")
    # numpy arrays and TorchVersion strings: in checkpoints of earlier versions
    allowed = [*numpy_globals(), torch.torch_version.TorchVersion]
    ckpt = load_torch_file(path, "training checkpoint", fix, safe_globals=allowed)
    needed = {"model", "optimizer", "step", "epoch", "pos", "rng", "elapsed", "args",
              "vocab", "record"}
    if not isinstance(ckpt, dict) or not needed <= set(ckpt):
        missing = sorted(needed - set(ckpt)) if isinstance(ckpt, dict) else "all"
        raise CorruptFileError(f"{path} is not a training checkpoint (missing "
                               f"{missing}). {fix}")
    return ckpt


def _prepare_out(out: Path, args: argparse.Namespace) -> None:
    """Refuse a non-empty ``--out`` unless resuming or overwriting."""
    if args.resume and args.overwrite:
        raise ValueError("--resume and --overwrite exclude each other: --resume "
                         "continues the run in --out, --overwrite deletes it")
    if args.resume or not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    entries = sorted(e.name for e in out.iterdir())
    if not entries:
        return
    if not args.overwrite:
        raise ValueError(
            f"--out {out} is not empty ({', '.join(entries[:5])}"
            f"{', ...' if len(entries) > 5 else ''}); pass --resume to continue the "
            "run there, --overwrite to delete its outputs and start afresh, or "
            "choose another folder")
    for name in OUTPUTS:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    logger.warning("--overwrite: deleted the earlier run's outputs in %s", out)


def _resumed_args(args: argparse.Namespace, argv: list[str], ckpt: dict):
    """The saved options, with the allowed new values; refuses other changes."""
    # runs saved before --device and --records existed
    saved = {"device": "cpu", "records": [], **ckpt["args"]}
    given = _explicit(argv)
    changed = [f"--{k.replace('_', '-')}: saved {saved.get(k)!r}, given {v!r}"
               for k, v in given.items()
               if k not in (*RESUMABLE, "out", "resume") and saved.get(k) != v]
    if changed:
        raise ValueError(
            "--resume continues the run with its saved options; these differ: "
            + "; ".join(changed) + ". Drop them, or start a new run in another "
            "--out (or with --overwrite)")
    for key in RESUMABLE:
        if key in given:
            saved[key] = given[key]
    return argparse.Namespace(**{**saved, "out": args.out, "resume": True,
                                 "overwrite": False})


def _prepare_selfies(args, spec, train, held, vocab):
    from .models.selfies_vocab import SelfiesVocab

    voc, x_train, x_held = selfies_tokens(
        train, held, args.max_len, SelfiesVocab(vocab) if vocab else None)
    cfg = SelfiesVAEConfig(
        vocab_size=len(voc), max_len=args.max_len, latent_dim=args.latent_dim,
        d_model=args.d_model, n_heads=args.n_heads, enc_layers=args.enc_layers,
        dec_layers=args.dec_layers, ff_mult=args.ff_mult, n_memory=args.n_memory,
        dropout=args.dropout)
    return build_vae(spec.kind, cfg.to_dict(), voc.tokens), x_train, x_held


def _prepare_char(args, spec, train, held, vocab):
    chars = spec.vocab()
    cfg = CharVAEConfig(vocab_size=len(chars), **spec.char_sizes)
    x_train = char_tokens(train, chars, cfg.max_len)
    x_held = char_tokens(held, chars, cfg.max_len)
    from dataclasses import asdict

    return build_vae(spec.kind, asdict(cfg), chars), x_train, x_held


#: Architecture of a dataset record's model -> ``(vae, train tokens, held tokens)``.
_PREPARE = {"selfies_transformer": _prepare_selfies, "char": _prepare_char}


def prepare(args: argparse.Namespace, vocab: list[str] | None = None):
    """Model (fresh), training and held-out tokens, data description."""
    spec = dataset_for_kind(args.model).training
    train, held, info = load_training_strings(
        args.model, args.n_train, args.n_heldout, args.seed, args.train_file,
        args.heldout_file)
    vae, x_train, x_held = _PREPARE[spec.architecture](args, spec, train, held, vocab)
    info.update(n_train=len(x_train), n_heldout=len(x_held))
    return vae, x_train, x_held, info


def lr_factor(step: int, total: int, warmup: int, floor: float) -> float:
    """Linear warm-up, then cosine decay to ``floor`` at ``total`` steps."""
    if step < warmup:
        return (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * frac))


def rng_state() -> dict:
    """RNG states in plain types (loadable with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "numpy": (kind, keys.tolist(), pos, has_gauss, gauss),
            "python": random.getstate()}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def save_checkpoint(path: Path, **state) -> None:
    """Atomic ``torch.save`` (write a temporary file, then rename)."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def write_record(out: Path, record: dict) -> None:
    with open(out / "record.json", "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=2, default=str)


def main(argv: list[str] | None = None) -> dict:
    """Run (or resume) a training run; returns the training record."""
    threads = torch.get_num_threads()
    try:
        return _main(sys.argv[1:] if argv is None else list(argv))
    finally:
        torch.set_num_threads(threads)


def _setup(argv: list[str]):
    """Parsed and checked options, the checkpoint to resume (or ``None``), data."""
    import_records(_records_in(argv))
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    ckpt_path = out / "checkpoint.pt"
    ckpt = None
    _prepare_out(out, args)
    if args.resume:
        if not ckpt_path.exists():
            raise ValueError(f"--resume: no checkpoint at {ckpt_path}")
        ckpt = load_checkpoint(ckpt_path)
        import_records(ckpt["args"].get("records"))
        args = _resumed_args(args, argv, ckpt)
    args.model = args.model or "selfies_transformer"
    check_args(args)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)
    vae, x_train, x_held, info = prepare(args, ckpt["vocab"] if ckpt else None)
    if len(x_train) == 0 or len(x_held) == 0:
        raise ValueError(f"no {'training' if len(x_train) == 0 else 'held-out'} items "
                         f"left after tokenization ({info}); check the data files and "
                         "--max-len")
    out.mkdir(parents=True, exist_ok=True)  # only once everything was checked
    return args, out, ckpt_path, ckpt, (vae, x_train, x_held, info)


def _main(argv: list[str]) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        args, out, ckpt_path, ckpt, prepared = _setup(argv)
    except (ValueError, OSError) as error:  # bad options or files: a clear exit
        raise SystemExit(f"error: {error}") from error
    vae, x_train, x_held, info = prepared
    device = torch.device(args.device)
    vae.to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=args.lr,
                            weight_decay=args.weight_decay)
    step, epoch, pos, elapsed = 0, 0, 0, 0.0
    record = {"command": " ".join([sys.executable, "-m", "scales_core.train", *argv]),
              "args": vars(args), "seed": args.seed, "git_commit": git_commit(),
              "torch": str(torch.__version__), "data": info, "sessions": []}
    if ckpt is not None:
        vae.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        step, epoch, pos = ckpt["step"], ckpt["epoch"], ckpt["pos"]
        elapsed = ckpt["elapsed"]
        set_rng_state(ckpt["rng"])
        record = ckpt["record"]
        record["resume_commands"] = [*record.get("resume_commands", []),
                                     " ".join(argv)]
        logger.info("resumed at step %d (epoch %d, batch %d)", step, epoch, pos)
    spe = math.ceil(len(x_train) / args.batch_size)
    total = args.max_steps or math.ceil(args.epochs * spe)
    spec = dataset_for_kind(args.model).training
    selfies = spec.architecture == "selfies_transformer"
    pad = 0 if selfies else None  # SELFIES batches are cut to their longest item
    vocab = vae.vocab.tokens if selfies else list(vae.vocab)
    logger.info("%d training / %d held-out items, %d steps per epoch, %d steps, %d "
                "parameters", len(x_train), len(x_held), spe, total,
                sum(p.numel() for p in vae.parameters()))
    session = {"start": time.strftime("%Y-%m-%d %H:%M:%S"), "start_step": step}
    record["sessions"].append(session)
    t_start, last_save = time.time(), time.time()
    budget = None if args.max_minutes is None else 60 * args.max_minutes

    def checkpoint() -> None:
        session.update(end=time.strftime("%Y-%m-%d %H:%M:%S"), end_step=step)
        record.update(steps=step, epochs_done=step / spe,
                      wall_time_s=elapsed + time.time() - t_start)
        save_checkpoint(ckpt_path, model=vae.state_dict(), optimizer=opt.state_dict(),
                        step=step, epoch=epoch, pos=pos, rng=rng_state(),
                        elapsed=elapsed + time.time() - t_start, args=vars(args),
                        vocab=vocab, record=record)
        write_record(out, record)

    vae.train()
    bar = tqdm(total=total, initial=step, disable=args.no_progress, desc=args.model,
               mininterval=5.0)
    stopped = "steps"
    while step < total:
        batches = epoch_batches(x_train, args.batch_size, args.seed, epoch, pad)
        while pos < len(batches) and step < total:
            if budget is not None and elapsed + time.time() - t_start > budget:
                stopped = "time"
                break
            for group in opt.param_groups:
                group["lr"] = args.lr * lr_factor(step, total, args.warmup_steps,
                                                  args.min_lr_ratio)
            beta = args.beta * min(1.0, step / max(1, args.beta_warmup_steps))
            terms = loss_terms(vae, x_train[batches[pos]].to(device), beta)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
            opt.step()
            step, pos = step + 1, pos + 1
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix(recon=f"{terms['recon']:.3f}", kl=f"{terms['kl']:.1f}",
                                acc=f"{terms['token_acc']:.4f}", beta=f"{beta:.1e}")
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
    metrics = evaluate(vae, x_held, n_prior=args.n_prior, seed=args.seed,
                       canonical=spec.canonical)
    metrics["eval_time_s"] = time.time() - t_eval
    record.update(final_metrics=metrics, finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    write_record(out, record)
    save_vae(vae, out / "final", record)
    logger.info("done: %d steps, %.1f min training; held-out %s", step,
                record["wall_time_s"] / 60, json.dumps(metrics))
    return record


if __name__ == "__main__":
    main()
