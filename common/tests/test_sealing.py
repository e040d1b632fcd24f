"""Secrets at rest: sealed, opened again, tamper-evident, older Fernet seals still readable, keys rotated."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from common import sealing


def test_a_sealed_value_opens_to_what_was_sealed_and_shows_nothing_of_it():
    sealed = sealing.seal({"code": "482913"})
    assert sealed.startswith("s1:")
    assert "482913" not in sealed
    assert sealing.unseal(sealed) == {"code": "482913"}


def test_two_seals_of_one_value_differ():
    assert sealing.seal({"code": "1"}) != sealing.seal({"code": "1"})


def test_a_value_sealed_with_fernet_before_the_change_still_opens():
    old = sealing._fernet(sealing._secrets()[0]).encrypt(b'{"code":"123456"}').decode()
    assert sealing.unseal(old) == {"code": "123456"}


def test_a_tampered_seal_is_refused():
    sealed = sealing.seal({"code": "482913"})
    flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    with pytest.raises(InvalidTag):
        sealing.unseal(flipped)


def test_another_key_cannot_open_it(settings):
    sealed = sealing.seal({"code": "482913"})
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "TOKEN_SEAL_KEYS": ["another-key"]}
    with pytest.raises(InvalidTag):
        sealing.unseal(sealed)


def keys(settings: Any, *secrets: str) -> None:
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "TOKEN_SEAL_KEYS": list(secrets)}


def test_after_a_rotation_the_new_key_seals_and_the_old_one_still_opens(settings):
    keys(settings, "old-key")
    before = sealing.seal({"code": "111111"})
    keys(settings, "new-key", "old-key")
    after = sealing.seal({"code": "222222"})
    assert (sealing.unseal(before), sealing.unseal(after)) == ({"code": "111111"}, {"code": "222222"})
    keys(settings, "new-key")
    assert sealing.unseal(after) == {"code": "222222"}
    with pytest.raises(InvalidTag):
        sealing.unseal(before)


def test_resealed_moves_a_value_to_the_sealing_key_and_leaves_one_already_there(settings):
    keys(settings, "old-key")
    old = sealing.seal("provider-key")
    fernet = sealing._fernet("old-key").encrypt(b'{"code":"123456"}').decode()
    keys(settings, "new-key", "old-key")
    moved, moved_fernet = sealing.resealed(old), sealing.resealed(fernet)
    assert moved is not None and moved_fernet is not None and moved_fernet.startswith("s1:")
    assert sealing.resealed(moved) is None
    keys(settings, "new-key")
    assert (sealing.unseal(moved), sealing.unseal(moved_fernet)) == ("provider-key", {"code": "123456"})
