"""Token values at rest: sealed, opened again, tamper-evident, and older Fernet seals still readable."""

from __future__ import annotations

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
    old = sealing._fernet(sealing._secret()).encrypt(b'{"code":"123456"}').decode()
    assert sealing.unseal(old) == {"code": "123456"}


def test_a_tampered_seal_is_refused():
    sealed = sealing.seal({"code": "482913"})
    flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    with pytest.raises(InvalidTag):
        sealing.unseal(flipped)


def test_another_key_cannot_open_it(settings):
    sealed = sealing.seal({"code": "482913"})
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "TOKEN_SEAL_KEY": "another-key"}
    with pytest.raises(InvalidTag):
        sealing.unseal(sealed)
