from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant import Settings


def test_defaults_work_offline() -> None:
    settings = Settings()
    assert settings.llm.backend == "llamacpp"
    assert settings.embedding.model == "bundled"
    assert settings.index.chroma_url is None
    assert settings.web.host == "127.0.0.1"


def test_environment_variables_with_one_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_LLM__BACKEND", "openai")
    monkeypatch.setenv("ASSISTANT_LLM__API_KEY", "sk-secret")
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__K", "9")
    settings = Settings()
    assert settings.llm.backend == "openai"
    assert settings.retrieval.k == 9
    assert "sk-secret" not in repr(settings)


def test_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "assistant.toml"
    config.write_text('[llm]\nbackend = "extractive"\n[index]\npath = "/tmp/elsewhere"\n')
    monkeypatch.setenv("ASSISTANT_CONFIG", str(config))
    settings = Settings()
    assert settings.llm.backend == "extractive"
    assert settings.index.path == Path("/tmp/elsewhere")


def test_typos_and_out_of_range_values_are_errors() -> None:
    with pytest.raises(ValidationError):
        Settings(retrieval={"kk": 3})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings(retrieval={"k": 0})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings(llm={"backend": "gpt"})  # type: ignore[arg-type]


def test_every_setting_is_documented_in_the_readme() -> None:
    from scripts.settings_table import rows

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    missing = [row for row in rows()[2:] if row not in readme]
    assert not missing, "README's settings table is stale: python scripts/settings_table.py"
