r"""Validity of decoded strings: expressions, SMILES, and molecule quality filters.

Each check comes in two forms: ``*_reason(s)`` returns ``None`` for a valid input
and a short explanation otherwise; ``is_valid_*(s)`` returns a bool. Neither
raises for any string. :func:`check_batch` applies a check to many strings.

SMILES longer than :data:`MAX_SMILES_LENGTH` characters are invalid without being
parsed: a decoder never emits them, and RDKit descriptors (the SA score of
penalized logP) take tens of seconds on a 20,000-character string.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, FilterCatalog, Lipinski, rdMolDescriptors
from rdkit.rdBase import BlockLogs

from ..grammar import ExpressionSyntaxError, parse_expression
from ..sources import verified_path

__all__ = [
    "MAX_SMILES_LENGTH",
    "RULES_FILE",
    "check_batch",
    "expression_invalid_reason",
    "is_valid_expression",
    "is_valid_smiles",
    "mol_from_smiles",
    "passes_quality_filters",
    "quality_filter_reason",
    "quality_rules",
    "smiles_invalid_reason",
]

logger = logging.getLogger(__name__)

RULES_FILE = "rd_filters/rules.json"

#: Longest SMILES (characters) that is parsed; longer ones are invalid at once
#: (the training sets' longest is 100 characters: ZINC-250k; MOSES: 58).
MAX_SMILES_LENGTH = 1000
Reason = Callable[[str], "str | None"]

# rd_filters property keys -> RDKit descriptor (the functions rd_filters uses)
_PROPERTIES: dict[str, Callable[[Chem.Mol], float]] = {
    "MW": Descriptors.MolWt,
    "LogP": Crippen.MolLogP,
    "HBD": Lipinski.NumHDonors,
    "HBA": Lipinski.NumHAcceptors,
    "TPSA": rdMolDescriptors.CalcTPSA,
    "Rot": rdMolDescriptors.CalcNumRotatableBonds,
}


def expression_invalid_reason(text: str) -> str | None:
    """Why a string is not an expression of the grammar (``None`` when it is).

    Args:
        text: e.g. ``'sin(x*2)'``; whitespace between tokens is allowed.

    Returns:
        ``None`` or a message such as ``"unexpected end of expression"``.
    """
    if not isinstance(text, str):
        return f"not a string: {type(text).__name__}"
    try:
        parse_expression(text)
    except ExpressionSyntaxError as error:
        return str(error)
    return None


def is_valid_expression(text: str) -> bool:
    """Whether ``text`` parses by the grammar of Kusner et al. (2017).

    Args:
        text: the expression; the empty string is invalid.

    Returns:
        The verdict.
    """
    return expression_invalid_reason(text) is None


def mol_from_smiles(smiles: str) -> Chem.Mol | None:
    """RDKit molecule of a non-empty SMILES, ``None`` if it does not parse.

    RDKit's parse errors are silenced (they would flood the log during BO).

    Args:
        smiles: the string.

    Returns:
        The molecule, or ``None`` (also for an empty string or molecule, and for
        a string longer than :data:`MAX_SMILES_LENGTH`).
    """
    if not isinstance(smiles, str) or not smiles.strip():
        return None
    if len(smiles) > MAX_SMILES_LENGTH:
        return None
    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    return mol


def smiles_invalid_reason(smiles: str) -> str | None:
    """Why a string is not a valid SMILES (``None`` when RDKit parses it).

    Args:
        smiles: the string.

    Returns:
        ``None`` or a message.
    """
    if not isinstance(smiles, str):
        return f"not a string: {type(smiles).__name__}"
    if not smiles.strip():
        return "empty SMILES"
    if len(smiles) > MAX_SMILES_LENGTH:
        return (
            f"SMILES has {len(smiles)} characters, more than the cap of "
            f"{MAX_SMILES_LENGTH} (scales_core.tasks.validity.MAX_SMILES_LENGTH)"
        )
    if mol_from_smiles(smiles) is None:
        return "RDKit cannot parse the SMILES"
    return None


def is_valid_smiles(smiles: str) -> bool:
    """Whether RDKit parses ``smiles`` into a non-empty molecule.

    Args:
        smiles: the string.

    Returns:
        The verdict.
    """
    return smiles_invalid_reason(smiles) is None


@cache
def quality_rules() -> dict[str, Any]:
    """The rd_filters rules (``rd_filters/rules.json``), as a dict.

    Keys ``MW``, ``LogP``, ``HBD``, ``HBA``, ``TPSA``, ``Rot`` map to inclusive
    ``[low, high]`` ranges; ``Rule_<set>`` booleans switch alert sets on (only
    ``Rule_Inpharmatica`` in the published file).

    Raises:
        DataNotFoundError: when the file is unavailable.
    """
    with open(verified_path(RULES_FILE), encoding="utf-8") as handle:
        return json.load(handle)


@cache
def _alert_catalog() -> FilterCatalog.FilterCatalog:
    """RDKit FilterCatalog with the alert sets that ``rules.json`` enables."""
    params = FilterCatalog.FilterCatalogParams()
    catalogs = FilterCatalog.FilterCatalogParams.FilterCatalogs
    for key, enabled in quality_rules().items():
        if not key.startswith("Rule_") or not enabled:
            continue
        name = key[len("Rule_") :]
        entry = getattr(catalogs, name if name == "PAINS" else f"CHEMBL_{name}", None)
        if entry is None:
            raise ValueError(f"{RULES_FILE}: no RDKit filter catalog for {key!r}")
        params.AddCatalog(entry)
    return FilterCatalog.FilterCatalog(params)


def quality_filter_reason(smiles: str) -> str | None:
    """Why a molecule fails the quality filters (``None`` when it passes).

    The filters of Notin et al. (2021): no match in the enabled rd_filters alert
    sets (RDKit's ``CHEMBL_Inpharmatica`` catalog) and every property inside its
    ``rules.json`` range.

    Args:
        smiles: the molecule.

    Returns:
        ``None`` or a message naming the alert or the property out of range.
    """
    mol = mol_from_smiles(smiles)
    if mol is None:
        return smiles_invalid_reason(smiles)
    match = _alert_catalog().GetFirstMatch(mol)
    if match is not None:
        return f"structural alert: {match.GetDescription()}"
    for key, descriptor in _PROPERTIES.items():
        if key not in quality_rules():
            continue
        low, high = quality_rules()[key]
        value = descriptor(mol)
        if not low <= value <= high:
            return f"{key} = {value:.4g} outside [{low}, {high}]"
    return None


def passes_quality_filters(smiles: str) -> bool:
    """Whether a molecule parses and passes the quality filters.

    Args:
        smiles: the molecule.

    Returns:
        The verdict (``False`` for an invalid SMILES).
    """
    return quality_filter_reason(smiles) is None


def check_batch(
    strings: Iterable[str], reason: Reason
) -> tuple[list[bool], list[str | None]]:
    """Apply a ``*_reason`` check to many strings.

    Args:
        strings: the inputs.
        reason: e.g. :func:`quality_filter_reason`.

    Returns:
        ``(valid, reasons)``: a bool per input, and ``None`` or the failure.

    Raises:
        TypeError: for a single string instead of a collection, a ``reason``
            that is not callable (e.g. the arguments swapped), or a ``reason``
            that returns something other than ``None`` or a message (e.g.
            :func:`is_valid_smiles`, whose ``True`` would read as invalid).
    """
    if isinstance(strings, (str, bytes)):
        raise TypeError(
            f"check_batch expects a collection of strings, got the single string "
            f"{strings[:40]!r}; wrap it in a list"
        )
    if callable(strings) or not callable(reason):
        raise TypeError(
            "check_batch(strings, reason) expects strings first and a *_reason "
            f"function second, got {type(strings).__name__} and "
            f"{type(reason).__name__}"
        )
    reasons: list[str | None] = []
    for text in strings:
        try:
            result = reason(text)
        except Exception as error:
            logger.debug("validity check failed on %r", text, exc_info=True)
            result = f"check raised {type(error).__name__}: {error}"
        if result is not None and not isinstance(result, str):
            name = getattr(reason, "__name__", type(reason).__name__)
            raise TypeError(
                f"{name} returned {result!r} for {text!r}; check_batch needs a "
                "*_reason function (None when valid, else a message), such as "
                "smiles_invalid_reason, not an is_valid_* function"
            )
        reasons.append(result)
    return [r is None for r in reasons], reasons
