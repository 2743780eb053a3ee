"""Slim every finished run under the given sweep folders before committing them.

    python scripts/slim_runs.py results/bo

Drops the proposed latents of compacted runs and keeps their norms and distances to
the latents observed before (scales_core.bo.slim); idempotent.
"""

from scales_core.bo.slim import main

if __name__ == "__main__":
    main()
