"""scales_core: the Scalable Latent Exploration Score (ScaLES).

The score for latent space optimization over sequences.
"""

from . import models
from .acquisition import ScaLESPenalty, ScorePenalty
from .baselines import likelihood_score, polarity_score
from .batching import map_batches
from .jacobian import decoder_jacobian, logits_and_jacobian
from .logdet import log_det_forward, log_det_paper
from .models.paper import load_uncertainty_thresholds
from .score import ScaLES, prior_score
from .uncertainty import uncertainty_score

__all__ = [
    "ScaLES",
    "ScaLESPenalty",
    "ScorePenalty",
    "decoder_jacobian",
    "likelihood_score",
    "load_uncertainty_thresholds",
    "log_det_forward",
    "log_det_paper",
    "logits_and_jacobian",
    "map_batches",
    "models",
    "polarity_score",
    "prior_score",
    "uncertainty_score",
]

# Note the code's commit now, before a long run's checkout can move on (results files
# record it through scales_core.provenance); read from .git's files, no git process.
from .provenance import note_import as _note_import  # noqa: E402

_note_import()
