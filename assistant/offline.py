"""Offline switches: no library may reach a model hub or send telemetry."""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "NNCF_CI": "1",  # NNCF sends usage telemetry unless this (its CI switch) is set
}


def go_offline() -> None:
    """Set before the libraries that read these switches are imported."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
