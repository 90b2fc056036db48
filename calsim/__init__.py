"""A strict Cal.com API v2 simulator (FastAPI) with test and demo controls under /_sim.

See ``docs/calsim.md`` and ``shared/contracts/calcom-v2.md``.
"""
