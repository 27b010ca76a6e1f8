"""Credential-shaped text is refused; prose, ids and user agents pass; redaction keeps prose.

The random-looking secrets below were drawn once with `secrets`/`os.urandom` and are fixed
here: the entropy check is a heuristic, and a fresh draw on every run would make the suite
depend on luck (roughly 1 in 100 base64 strings of 32 characters has no digit at all).
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.credentials import looks_like_credential, redact_credentials
from domain.tenancy import compose_secret

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkJvYiJ9"
    ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
# The format the service issues: alk_<16 hex key id>_<secrets.token_urlsafe(32)>.
SERVICE_API_KEY = compose_secret("9f86d081884c7d65", "QE9FQWK6wMY95kQareXrrzT9SJWGrCUqmvg1TLL2NgQ")
TOKEN_URLSAFE_32 = [
    "GuJlYy2UqGlu5XtTL-YJv_ZejJZI9hYN92y6n_b6-fM",
    "lNkDynF5VTPfx__hvsgwsnQgSIi_JzPWJB3k4CwxiNw",
    "Zw8-S_VCq4jbl1UQxzeTmXpI85aY-6gRQ7ZQ4u8VNXs",
]
BASE64_OF_RANDOM_BYTES = [
    "C5zRuiYLVay90LZ7Vi4NcfOCtTBtjfcv",  # 24 bytes: exactly 32 characters
    "DZlidQFqw+qPwZIbNvnbIHDnO2oDdc4/",
    "wZ+59fxCv/OqwMXXDLMI5uVRrAJS52u21YrBaG5WHjKa",
    "qnKvVEl0hXqpRln94uRrfK1VedyF1_FE0N0CIJnPGnc=",  # base64url with padding
]

CREDENTIALS = {
    "jwt": JWT,
    "jwt-in-prose": f"upstream rejected {JWT} as expired",
    "bearer": "Bearer 7f3kQ9zLmP2xW8vR",
    "bearer-lowercase": "bearer abcd1234efgh5678",
    "authorization-header": "Authorization: Bearer 7f3kQ9zLmP2xW8vR",
    "basic": "Basic dXNlcjpwYXNzd29yZA==",
    "basic-in-header": "authorization: basic YWxpY2U6czNjcjN0",
    "password=": "password=hunter2",
    "passwd=": "login with passwd=hunter2 failed",
    "pwd=": "pwd=letmein",
    "secret=": "secret=abc123",
    "client_secret=": "client_secret=s3cr3t-value",
    "token=": "token=abcdef",
    "access_token=": "callback ?access_token=ya29.a0AfH6SMB",
    "api_key=": "api_key=xyz123",
    "apikey=": "apikey = 0a1b2c3d",
    "password-colon-digit": "password: hunter2",
    "secret-colon-symbol": "secret: s3cr3t!",
    "token-colon-mixed": "token: abc$def",
    "service-api-key": SERVICE_API_KEY,
    "service-api-key-in-prose": f"key {SERVICE_API_KEY} was pasted into the form",
    "aws-akia": "AKIAIOSFODNN7EXAMPLE",
    "aws-asia": "ASIAY34FZKBOKMUTVV7A",
    "github-ghp": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "github-gho": "gho_16C7e42F292c6912E7710c838347Ae178B4a",
    "slack-bot": "xoxb-2631264-4830215-Dv7wq2LpFzT",
    "slack-user": "xoxp-1234567890-abcdefghij",
    "stripe-live": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "stripe-test": "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "pem-rsa": "-----BEGIN RSA PRIVATE KEY-----",
    "pem-pkcs8": "-----BEGIN PRIVATE KEY-----",
    "pem-openssh": "-----BEGIN OPENSSH PRIVATE KEY-----",
    "pem-encrypted": "-----BEGIN ENCRYPTED PRIVATE KEY-----",
    "hex-40-sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "hex-64-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "hex-40-uppercase": "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
    "hex-in-prose": "digest da39a3ee5e6b4b0d3255bfef95601890afd80709 mismatched",
    **{f"token_urlsafe-{i}": value for i, value in enumerate(TOKEN_URLSAFE_32)},
    **{f"base64-random-{i}": value for i, value in enumerate(BASE64_OF_RANDOM_BYTES)},
    "base64-in-prose": f"session {TOKEN_URLSAFE_32[0]} reused",
}

NOT_CREDENTIALS = {
    "sentence": "user signed in from a new device",
    "password-reset": "password reset requested",
    "password-changed": "Password changed by the user",
    "token-expired-colon": "token: expired",
    "reason-colon-word": "password: incorrect",
    "session-token-expired": "the session token has expired",
    "secret-question": "secret question answered incorrectly",
    "api-key-revoked": "api key revoked by an administrator",
    "token-refresh": "refresh token rotated after use",
    "bearer-alone": "missing bearer",
    "basic-plan": "upgraded from the basic plan",
    "numbers": "locked after 5 failed attempts in 10 minutes",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "uuid-upper": "123E4567-E89B-12D3-A456-426614174000",
    "uuid-no-dashes": "123e4567e89b12d3a456426614174000",
    "uuid-in-prose": "request 123e4567-e89b-12d3-a456-426614174000 replayed",
    "object-id": "507f1f77bcf86cd799439011",
    "chrome": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
    ),
    "firefox": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0"
    ),
    "safari-ios": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
    ),
    "android-dalvik": "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Pro Build/UQ1A.240205.004)",
    "edge": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51"
    ),
    "curl": "curl/8.7.1",
    "python-httpx": "python-httpx/0.28.1",
    "okhttp": "okhttp/4.12.0",
    "version": "1.2.3",
    "long-version": "10.0.19045.4291",
    "snake-case-code": "account_locked_after_5_attempts",
    "long-snake-case": "mfa_challenge_failed_due_to_expired_totp_code_after_three_retries",
    "kebab-request-id": "req-2026-01-31-checkout-retry-0004",
    "hex-32": "0123456789abcdef0123456789abcdef",
    "email": "bob@example.com",
    "url": "https://example.com/account/settings?tab=security",
}


@pytest.mark.parametrize("text", CREDENTIALS.values(), ids=CREDENTIALS.keys())
def test_credential_shaped_text_is_refused(text: str) -> None:
    assert looks_like_credential(text)


@pytest.mark.parametrize("text", NOT_CREDENTIALS.values(), ids=NOT_CREDENTIALS.keys())
def test_ordinary_text_passes(text: str) -> None:
    assert not looks_like_credential(text)


@pytest.mark.parametrize(
    "text",
    ["basic authentication is disabled for this tenant", "bearer authentication failed"],
    ids=["basic-authentication", "bearer-authentication"],
)
def test_an_authentication_scheme_named_in_prose_passes(text: str) -> None:
    assert not looks_like_credential(text)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("login failed with password=hunter2 for bob", "login failed with [redacted] for bob"),
        # The header name goes too: `name: [redacted]` is itself a name with a non-word value.
        (
            "upstream said Authorization: Bearer 7f3kQ9zLmP2xW8vR then hung up",
            "upstream said [redacted] then hung up",
        ),
        ("sent Bearer 7f3kQ9zLmP2xW8vR twice", "sent [redacted] twice"),
        (f"upstream rejected {JWT} as expired", "upstream rejected [redacted] as expired"),
        (f"key {SERVICE_API_KEY} was pasted", "key [redacted] was pasted"),
        ("aws key AKIAIOSFODNN7EXAMPLE leaked", "aws key [redacted] leaked"),
        (
            "digest da39a3ee5e6b4b0d3255bfef95601890afd80709 mismatched",
            "digest [redacted] mismatched",
        ),
        (f"session {TOKEN_URLSAFE_32[0]} reused", "session [redacted] reused"),
        (
            "two secrets: token=abc123 and sk_live_4eC39HqLyjWDarjtT1zdp7dc, done",
            "two secrets: [redacted] and [redacted], done",
        ),
    ],
)
def test_redaction_replaces_only_the_secret(text: str, redacted: str) -> None:
    assert redact_credentials(text) == redacted
    assert not looks_like_credential(redact_credentials(text))


@pytest.mark.parametrize("text", NOT_CREDENTIALS.values(), ids=NOT_CREDENTIALS.keys())
def test_redaction_leaves_ordinary_text_unchanged(text: str) -> None:
    assert redact_credentials(text) == text


LOWERCASE_PROSE = st.lists(st.from_regex(r"[a-z]{1,12}", fullmatch=True), min_size=1).map(" ".join)


@given(LOWERCASE_PROSE)
def test_lowercase_words_are_never_a_credential(text: str) -> None:
    assert not looks_like_credential(text)


# The words of an identity platform's audit reasons, secret names included, in any order.
IDENTITY_WORDS = [
    "password", "passwd", "token", "secret", "session", "api", "key", "apikey", "auth",
    "authorization", "access", "refresh", "client", "private", "basic", "bearer",
    "authentication", "credentials", "expired", "rejected", "failed", "revoked", "rotated",
    "invalid", "missing", "reset", "the", "of", "was", "for", "user", "header",
]  # fmt: skip


@settings(derandomize=True, max_examples=300)
@given(
    st.lists(
        st.one_of(st.sampled_from(IDENTITY_WORDS), st.from_regex(r"[a-z]{1,12}", fullmatch=True)),
        min_size=1,
        max_size=12,
    ).map(" ".join)
)
def test_identity_prose_is_never_a_credential(text: str) -> None:
    assert not looks_like_credential(text)


# --- the cheap first look -------------------------------------------------------------------
# looks_like_credential searches an ASCII text with the patterns only when it holds what one
# of them needs (credentials._NEEDED*). The reference below searches every text with every
# pattern: the two must agree on anything, which the texts below make likely to be tested
# at the edges (each trigger in mixed case, next to the characters the patterns take).
def _searched_with_every_pattern(text: str) -> bool:
    from domain import credentials

    if any(p.search(text) for p in credentials._PATTERNS) or credentials._LONG_HEX.search(text):
        return True
    return any(
        credentials._random_looking(run.group()) for run in credentials._LONG_TOKEN.finditer(text)
    )


TRIGGERS = [
    "eyJ", "bearer", "basic", "pass", "password", "passwd", "pwd", "secret", "client_secret",
    "token", "access-token", "refresh_token", "api_key", "apikey", "access_key", "private-key",
    "session_id", "authorization", "auth", "alk_", "AKIA", "ASIA", "ghp_", "gho_", "ghs_",
    "xoxb-", "sk_live_", "sk_test_", "-----BEGIN ", "PRIVATE KEY-----",
]  # fmt: skip
PIECES = st.one_of(
    st.sampled_from(TRIGGERS).flatmap(
        lambda word: st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
            lambda upper: "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True))
        )
    ),
    st.sampled_from(TRIGGERS),
    st.from_regex(r"[A-Za-z0-9._~+/=:-]{1,40}", fullmatch=True),
    st.sampled_from([" ", "=", ": ", "  ", ".", "\t"]),
    st.text(min_size=1, max_size=4),  # beyond ASCII too: those are searched with every pattern
)


@settings(derandomize=True, max_examples=2000)
@given(st.lists(PIECES, min_size=1, max_size=8).map("".join))
def test_the_first_look_never_changes_the_answer(text: str) -> None:
    assert looks_like_credential(text) == _searched_with_every_pattern(text)


@pytest.mark.parametrize(
    "text",
    [
        "PaSsWoRd=hunter22",
        "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "BEARER abcdefghIJ12",
        "paſſword=hunter22",  # noqa: RUF001 - the long s, which case-insensitive matching folds
        "-----BEGIN RSA PRIVATE KEY-----",
        "xoxb-1234567890-abcdef",
    ],
)
def test_triggers_in_any_case_and_beyond_ascii_are_still_searched(text: str) -> None:
    assert looks_like_credential(text)
    assert _searched_with_every_pattern(text)
