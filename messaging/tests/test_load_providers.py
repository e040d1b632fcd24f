"""``manage.py load_providers FILE``: engines, templates and mappings upserted from YAML or JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from messaging.models import Engine, Templates, TemplatesEngine

DEMO_FILE = Path(settings.BASE_DIR) / "demo" / "providers.yaml"


def config(**engine_changes: Any) -> dict[str, Any]:
    return {
        "engines": [
            {
                "name": "smsir",
                "kind": "smsir",
                "api_url": "https://api.sms.ir",
                "provider_token": "smsir-key",
                "priority": 10,
                **engine_changes,
            },
            {
                "name": "kavenegar",
                "kind": "kavenegar",
                "api_url": "https://api.kavenegar.com",
                "provider_token": "kave-key",
                "priority": 20,
            },
        ],
        "templates": [
            {
                "template_id": 1,
                "name": "login",
                "token_names": ["code"],
                "engines": {
                    "smsir": {"template_code": 100000, "token_keys": {"code": "CODE"}},
                    "kavenegar": {"template_code": "verify"},
                },
            }
        ],
    }


def write(tmp_path: Path, data: dict[str, Any], suffix: str = ".yaml") -> Path:
    path = tmp_path / f"providers{suffix}"
    path.write_text(json.dumps(data) if suffix == ".json" else yaml.safe_dump(data), encoding="utf-8")
    return path


def load(path: Path) -> str:
    out = io.StringIO()
    call_command("load_providers", str(path), stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_load_providers_creates_engines_templates_and_mappings(db: Any, tmp_path: Path, suffix: str) -> None:
    output = load(write(tmp_path, config(), suffix))

    assert "2 engine(s), 1 template(s), 2 mapping(s)" in output
    assert list(Engine.objects.values_list("name", "kind", "priority")) == [
        ("smsir", "smsir", 10),
        ("kavenegar", "kavenegar", 20),
    ]
    template = Templates.objects.get(template_id=1)
    assert template.token_names == ["code"]
    mappings = {
        m.engine.name: (m.template_code, m.token_keys) for m in TemplatesEngine.objects.select_related("engine")
    }
    assert mappings == {"smsir": ("100000", {"code": "CODE"}), "kavenegar": ("verify", {"code": "code"})}


def test_load_providers_twice_does_not_duplicate(db: Any, tmp_path: Path) -> None:
    path = write(tmp_path, config())

    load(path)
    load(path)

    assert (Engine.objects.count(), Templates.objects.count(), TemplatesEngine.objects.count()) == (2, 1, 2)


def test_load_providers_updates_changed_priority_and_token(db: Any, tmp_path: Path) -> None:
    load(write(tmp_path, config()))

    load(write(tmp_path, config(priority=30, provider_token="rotated")))

    engine = Engine.objects.get(name="smsir")
    assert (engine.priority, engine.provider_token) == (30, "rotated")
    assert Engine.objects.count() == 2


def test_load_providers_expands_environment_variables(db: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("SMSIR_TEST_KEY", "key-from-env")
    monkeypatch.setenv("SMSIR_TEST_URL", "https://api.sms.ir")

    load(write(tmp_path, config(provider_token="${SMSIR_TEST_KEY}", api_url="${SMSIR_TEST_URL}")))

    engine = Engine.objects.get(name="smsir")
    assert (engine.provider_token, engine.api_url) == ("key-from-env", "https://api.sms.ir")


def test_load_providers_names_a_missing_environment_variable(db: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("NO_SUCH_PROVIDER_KEY", raising=False)

    with pytest.raises(CommandError, match="NO_SUCH_PROVIDER_KEY"):
        load(write(tmp_path, config(provider_token="${NO_SUCH_PROVIDER_KEY}")))

    assert Engine.objects.count() == 0


def test_load_providers_rejects_unknown_engine_kind(db: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="kind"):
        load(write(tmp_path, config(kind="twilio")))

    assert Engine.objects.count() == 0


def test_load_providers_rejects_mapping_to_unknown_engine(db: Any, tmp_path: Path) -> None:
    data = config()
    data["templates"][0]["engines"]["magfa"] = {"template_code": "x"}

    with pytest.raises(CommandError, match="magfa"):
        load(write(tmp_path, data))

    # One file loads whole or not at all.
    assert (Engine.objects.count(), Templates.objects.count(), TemplatesEngine.objects.count()) == (0, 0, 0)


def test_load_providers_rejects_mapping_that_lacks_a_token_key(db: Any, tmp_path: Path) -> None:
    data = config()
    data["templates"][0]["engines"]["smsir"]["token_keys"] = {"pin": "CODE"}

    with pytest.raises(CommandError, match="code"):
        load(write(tmp_path, data))


def test_load_providers_rejects_engine_without_token(db: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="provider_token"):
        load(write(tmp_path, config(provider_token="")))


def test_load_providers_rejects_unknown_engine_key(db: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="prioirty"):
        load(write(tmp_path, config(prioirty=5)))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"priority": "high"}, "priority"),
        ({"priority": -1}, "priority"),
        ({"api_url": "not a url"}, "api_url"),
        ({"read_timeout": "slow"}, "read_timeout"),
        ({"name": "x" * 65}, "name"),
    ],
)
def test_load_providers_rejects_engine_field_of_wrong_type_or_size(
    db: Any, tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(CommandError, match=rf"engines\[0\]: .*{field}"):
        load(write(tmp_path, config(**change)))

    assert Engine.objects.count() == 0


def test_load_providers_rejects_template_name_over_its_length(db: Any, tmp_path: Path) -> None:
    data = config()
    data["templates"][0]["name"] = "x" * 101

    with pytest.raises(CommandError, match=r"templates\[0\]: name"):
        load(write(tmp_path, data))


def test_load_providers_accepts_template_without_tokens(db: Any, tmp_path: Path) -> None:
    data = config()
    data["templates"][0]["token_names"] = []
    data["templates"][0]["engines"] = {"smsir": {"template_code": "100002"}}

    load(write(tmp_path, data))

    assert Templates.objects.get(template_id=1).token_names == []
    assert TemplatesEngine.objects.get().token_keys == {}


def test_load_providers_rejects_template_without_integer_id(db: Any, tmp_path: Path) -> None:
    data = config()
    data["templates"][0]["template_id"] = "one"

    with pytest.raises(CommandError, match="template_id"):
        load(write(tmp_path, data))


@pytest.mark.parametrize(("suffix", "text"), [(".yaml", "engines: [\n  - name"), (".json", "{not json")])
def test_load_providers_rejects_unparseable_file(db: Any, tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"broken{suffix}"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(CommandError, match="not valid"):
        load(path)


def test_load_providers_rejects_file_that_is_not_a_mapping(db: Any, tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- one\n- two\n", encoding="utf-8")

    with pytest.raises(CommandError, match="top level"):
        load(path)


def test_load_providers_rejects_missing_file(db: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        load(tmp_path / "absent.yaml")


def test_load_providers_loads_the_demo_file(db: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("SMSIR_API_URL", "http://127.0.0.1:8900/smsir")
    monkeypatch.setenv("SMSIR_API_KEY", "demo-smsir")
    monkeypatch.setenv("KAVENEGAR_API_URL", "http://127.0.0.1:8900/kavenegar")
    monkeypatch.setenv("KAVENEGAR_API_KEY", "demo-kave")

    load(DEMO_FILE)

    assert list(Engine.objects.values_list("name", "provider_token")) == [
        ("smsir", "demo-smsir"),
        ("kavenegar", "demo-kave"),
    ]
    assert list(Templates.objects.values_list("template_id", "token_names")) == [(1, ["code"]), (2, ["name", "order"])]
    kavenegar = TemplatesEngine.objects.get(engine__name="kavenegar", template__template_id=2)
    assert kavenegar.token_keys == {"name": "token", "order": "token2"}


def test_load_providers_sets_the_low_credit_threshold(db: Any, tmp_path: Path) -> None:
    load(write(tmp_path, config(low_credit_threshold=50000)))

    assert str(Engine.objects.get(name="smsir").low_credit_threshold) == "50000.00"
    assert Engine.objects.get(name="kavenegar").low_credit_threshold is None


def test_load_providers_rejects_a_threshold_that_is_not_a_number(db: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="low_credit_threshold"):
        load(write(tmp_path, config(low_credit_threshold="lots")))


def test_load_providers_sets_the_routing_policy_rescue_and_weights(db: Any, tmp_path: Path) -> None:
    data = config()
    data["templates"][0].update(routing="weighted", rescue=True, voice_rescue=True)
    data["templates"][0]["engines"]["smsir"]["weight"] = 70
    data["templates"][0]["engines"]["kavenegar"]["weight"] = 30

    load(write(tmp_path, data))

    template = Templates.objects.get(template_id=1)
    assert (template.routing, template.rescue, template.voice_rescue) == ("weighted", True, True)
    weights = dict(TemplatesEngine.objects.values_list("engine__name", "weight"))
    assert weights == {"smsir": 70, "kavenegar": 30}

    load(write(tmp_path, config()))  # left out: back to the defaults, like every other field
    template.refresh_from_db()
    assert (template.routing, template.rescue, template.voice_rescue) == ("priority", False, False)


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [("routing", "fastest", r"templates\[0\]: routing"), ("weight", -1, r"templates\[0\].engines.smsir: weight")],
)
def test_load_providers_rejects_an_unknown_policy_or_a_negative_weight(
    db: Any, tmp_path: Path, where: str, value: Any, message: str
) -> None:
    data = config()
    target = data["templates"][0] if where == "routing" else data["templates"][0]["engines"]["smsir"]
    target[where] = value

    with pytest.raises(CommandError, match=message):
        load(write(tmp_path, data))
