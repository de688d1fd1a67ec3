"""With auth on, Anthropic's SDK authenticates with x-api-key and gets Anthropic's errors."""

from __future__ import annotations

import anthropic
import pytest

from tests.security.conftest import AuthServer


def test_x_api_key_is_accepted(auth_server: AuthServer) -> None:
    good = anthropic.Anthropic(
        base_url=auth_server.url, api_key=auth_server.admin_key, max_retries=0
    )
    reply = good.messages.create(
        model="tiny", max_tokens=3, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.usage.output_tokens >= 1
    bad = anthropic.Anthropic(base_url=auth_server.url, api_key="mp-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as err:
        bad.messages.create(
            model="tiny", max_tokens=3, messages=[{"role": "user", "content": "hi"}]
        )
    assert err.value.body["type"] == "error"
    assert err.value.body["error"]["type"] == "authentication_error"
