"""Engines, templates and mappings from a configuration file (YAML or JSON), upserted."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import models, transaction

from messaging.models import Engine, Templates, TemplatesEngine
from providers.registry import ADAPTERS

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENGINE_FIELDS = set(Engine.SETTINGS_FIELDS)


class ConfigError(ValueError):
    """The file is wrong; the message says where."""


@dataclass
class LoadSummary:
    engines: int = 0
    templates: int = 0
    mappings: int = 0


def _expand(value: str, where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return os.environ[name]

    return _ENV_REF.sub(replace, value)


def config_read(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with 'engines' and 'templates'")
    return data


def _engine_values(item: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(item) - _ENGINE_FIELDS - {"name"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
    for key in ("name", "kind", "api_url", "provider_token"):
        if not item.get(key):
            raise ConfigError(f"{where}: '{key}' is required")
    if item["kind"] not in ADAPTERS:
        raise ConfigError(f"{where}: kind must be one of {sorted(ADAPTERS)}")
    values = {key: item[key] for key in _ENGINE_FIELDS if key in item}
    values["provider_token"] = _expand(str(item["provider_token"]), where)
    values["api_url"] = _expand(str(item["api_url"]), where)
    return values


def _check_fields(row: models.Model, where: str, *, skip: tuple[str, ...] = ()) -> None:
    # A wrong type or length must be reported like any other mistake in the file, not surface as a
    # database error (or, on SQLite, be stored as it is).
    try:
        row.full_clean(exclude=list(skip), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
        raise ConfigError(f"{where}: {problems}") from exc


@transaction.atomic
def providers_load(*, data: dict[str, Any]) -> LoadSummary:
    """Upsert engines by name, templates by template_id, mappings by (engine, template)."""
    summary = LoadSummary()
    engines: dict[str, Engine] = {}
    for index, item in enumerate(data.get("engines") or []):
        where = f"engines[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a mapping")
        values = _engine_values(item, where)
        _check_fields(Engine(name=item["name"], **values), where)
        engine, _ = Engine.objects.update_or_create(name=item["name"], defaults=values)
        engines[engine.name] = engine
        summary.engines += 1
    for index, item in enumerate(data.get("templates") or []):
        where = f"templates[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("template_id"), int):
            raise ConfigError(f"{where}: needs an integer 'template_id'")
        names = item.get("token_names") or []
        if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
            raise ConfigError(f"{where}: 'token_names' must be a list of names")
        defaults = {
            "name": item.get("name") or f"template {item['template_id']}",
            "token_names": names,
            "code_length": item.get("code_length"),
            "routing": item.get("routing") or Templates.Routing.PRIORITY,
            "rescue": item.get("rescue", False),
            "voice_rescue": item.get("voice_rescue", False),
        }
        # token_names is checked above; a template may take no tokens at all.
        _check_fields(Templates(template_id=item["template_id"], **defaults), where, skip=("token_names",))
        template, _ = Templates.objects.update_or_create(template_id=item["template_id"], defaults=defaults)
        summary.templates += 1
        for engine_name, mapping in (item.get("engines") or {}).items():
            found = engines.get(engine_name) or Engine.objects.filter(name=engine_name).first()
            if found is None:
                raise ConfigError(f"{where}: unknown engine {engine_name!r}")
            if not isinstance(mapping, dict) or not mapping.get("template_code"):
                raise ConfigError(f"{where}.engines.{engine_name}: needs 'template_code'")
            token_keys = mapping.get("token_keys") or {name: name for name in names}
            missing = [name for name in names if name not in token_keys]
            if missing:
                raise ConfigError(f"{where}.engines.{engine_name}: token_keys lacks {missing}")
            mapping_values = {
                "template_code": str(mapping["template_code"]),
                "token_keys": token_keys,
                "weight": mapping.get("weight", 0),
            }
            _check_fields(
                TemplatesEngine(engine=found, template=template, **mapping_values),
                f"{where}.engines.{engine_name}",
                skip=("token_keys",),  # checked above; a template may take no tokens at all
            )
            TemplatesEngine.objects.update_or_create(engine=found, template=template, defaults=mapping_values)
            summary.mappings += 1
    return summary
