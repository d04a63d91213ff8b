"""Offline switches: no library may reach a model hub or send telemetry, and the web chat keeps
its uploads in a folder of its own."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}
# Telemetry is off whatever the environment says: the assistant promises to send nothing.
NO_TELEMETRY_ENV = {
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "GRADIO_ANALYTICS_ENABLED": "False",  # also gradio's version check, which shares the switch
    "GRADIO_RUN_HISTORY": "False",
    "NNCF_CI": "1",  # NNCF sends usage telemetry unless this (its CI switch) is set
}
UPLOAD_DIR_ENV = "GRADIO_TEMP_DIR"


def go_offline() -> None:
    """Set before the libraries that read these switches are imported."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.update(NO_TELEMETRY_ENV)


def upload_folder() -> Path:
    """The web chat's private upload and cache folder, one per process (mode 0700), unless
    GRADIO_TEMP_DIR names one. Gradio reads it when its components are built, so this runs
    before the Blocks exist; a folder shared with other apps (/tmp/gradio) would let their
    files pass as this app's uploads."""
    named = os.environ.get(UPLOAD_DIR_ENV)
    if not named:
        named = tempfile.mkdtemp(prefix="ai-race-assistant-web-")
        os.environ[UPLOAD_DIR_ENV] = named
    folder = Path(named).resolve()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder
