"""Shared pytest set-up: one torch thread (2-core CI machines), quiet third-party warnings."""

import os
import warnings

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
warnings.filterwarnings("ignore", module="pygame")
