r"""The trainer's command line: its options, their checks, and a run's setup from them.

:func:`_setup` parses and checks a command line, reads the checkpoint of a resumed run
and prepares the model and data (see :mod:`scales_core.train`).
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

import numpy as np
import torch

from ..datasets import import_records, training_kinds
from .checkpoint import _prepare_out, load_checkpoint
from .model import prepare


def _records_in(argv: list[str]) -> list[str]:
    """The ``--records`` values of a command line (read before the full parser)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--records", action="append", default=[])
    return pre.parse_known_args(argv)[0].records


def build_parser() -> argparse.ArgumentParser:
    """The command-line options (``--model`` lists the registered kinds)."""
    from . import __doc__ as usage  # the package's docstring is the command's help

    p = argparse.ArgumentParser(
        prog="python -m scales_core.train",
        description=usage,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--records",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE and call its register_records() first "
        "(repeatable): its records' kinds become --model choices",
    )
    p.add_argument(
        "--model",
        choices=training_kinds(),
        default=None,
        help="model kind of a dataset record (default: selfies_transformer)",
    )
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="delete an earlier run's outputs in --out, start afresh",
    )
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
    for name, default in [
        ("max-len", 70),
        ("latent-dim", 256),
        ("d-model", 128),
        ("n-heads", 4),
        ("enc-layers", 2),
        ("dec-layers", 3),
        ("ff-mult", 2),
        ("n-memory", 4),
    ]:
        m.add_argument(f"--{name}", type=int, default=default)
    m.add_argument("--dropout", type=float, default=0.0)
    return p


#: Options that may take new values on ``--resume`` (run length and logging).
RESUMABLE = (
    "epochs",
    "max_steps",
    "max_minutes",
    "checkpoint_minutes",
    "no_progress",
    "threads",
    "n_prior",
    "device",
)


# name -> (lowest allowed value, whether the value may equal it, None allowed)
_LIMITS = {
    "batch_size": (1, True, False),
    "epochs": (0, False, False),
    "n_train": (1, True, True),
    "n_heldout": (1, True, False),
    "max_steps": (1, True, True),
    "max_minutes": (0, False, True),
    "lr": (0, False, False),
    "warmup_steps": (0, True, False),
    "min_lr_ratio": (0, True, False),
    "weight_decay": (0, True, False),
    "beta": (0, True, False),
    "beta_warmup_steps": (0, True, False),
    "seed": (0, True, False),
    "threads": (1, True, False),
    "checkpoint_minutes": (0, True, False),
    "n_prior": (1, True, False),
    "max_len": (2, True, False),
    "latent_dim": (1, True, False),
    "d_model": (1, True, False),
    "n_heads": (1, True, False),
    "enc_layers": (1, True, False),
    "dec_layers": (1, True, False),
    "ff_mult": (1, True, False),
    "n_memory": (1, True, False),
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
        ok = (
            value is not None
            and not isinstance(value, bool)
            and isinstance(value, (int, float))
            and math.isfinite(value)
            and (value >= low if inclusive else value > low)
        )
        if not ok:
            bound = f">= {low}" if inclusive else f"> {low}"
            raise ValueError(
                f"--{name.replace('_', '-')} must be a finite number "
                f"{bound}, got {value!r}"
            )
    if args.min_lr_ratio > 1:
        raise ValueError(f"--min-lr-ratio must be in [0, 1], got {args.min_lr_ratio}")
    if args.dropout >= 1:
        raise ValueError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.d_model % args.n_heads:
        raise ValueError(
            f"--d-model ({args.d_model}) must be a multiple of "
            f"--n-heads ({args.n_heads})"
        )
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


def _resumed_args(args: argparse.Namespace, argv: list[str], ckpt: dict):
    """The saved options, with the allowed new values; refuses other changes."""
    # runs saved before --device and --records existed
    saved = {"device": "cpu", "records": [], **ckpt["args"]}
    given = _explicit(argv)
    changed = [
        f"--{k.replace('_', '-')}: saved {saved.get(k)!r}, given {v!r}"
        for k, v in given.items()
        if k not in (*RESUMABLE, "out", "resume") and saved.get(k) != v
    ]
    if changed:
        raise ValueError(
            "--resume continues the run with its saved options; these differ: "
            + "; ".join(changed)
            + ". Drop them, or start a new run in another "
            "--out (or with --overwrite)"
        )
    for key in RESUMABLE:
        if key in given:
            saved[key] = given[key]
    return argparse.Namespace(
        **{**saved, "out": args.out, "resume": True, "overwrite": False}
    )


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
        raise ValueError(
            f"no {'training' if len(x_train) == 0 else 'held-out'} items "
            f"left after tokenization ({info}); check the data files and "
            "--max-len"
        )
    out.mkdir(parents=True, exist_ok=True)  # only once everything was checked
    return args, out, ckpt_path, ckpt, (vae, x_train, x_held, info)
