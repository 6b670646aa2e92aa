"""Small shared helpers: seeding, device resolution."""

from graphclust.utils.device import resolve_device
from graphclust.utils.seed import seed_everything

__all__ = ["resolve_device", "seed_everything"]
