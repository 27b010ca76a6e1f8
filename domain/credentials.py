"""Credential-shaped text: audit entries are summaries and must never hold a secret.

The spec says audit logs avoid raw tokens; free-text fields are where one would slip in (a
reason copied from an exception, a request id that is really a session token). What is
refused: JWTs, `Bearer` tokens, `password=`/`secret=`/`token=`-style pairs, this service's
own API keys, well-known vendor key formats, private key blocks, and long runs of
high-entropy hex or base64. What passes: sentences, UUIDs (with or without dashes),
ObjectIds, browser user agents, dotted version numbers.
"""

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

# The names of secrets, not a secret.
_SECRET_NAMES = (
    r"(pass(word|wd)?|pwd|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|"  # noqa: S105
    r"api[_-]?key|apikey|access[_-]?key|private[_-]?key|session[_-]?id|authorization|auth)"
)
_PATTERNS = [
    re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),  # JWT / JWS
    # The scheme in any case; the value not a plain lowercase word ("basic authentication").
    re.compile(r"(?i:\bbearer)\s+(?=[A-Za-z0-9._~+/=-]*[A-Z0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i:\bbasic)\s+(?=[A-Za-z0-9+/]*[A-Z0-9+/])[A-Za-z0-9+/]{8,}={0,2}"),
    # key=value always; key: value only when the value is not a plain word ("token: expired").
    re.compile(rf"(?i:\b{_SECRET_NAMES}\s*(=\s*\S{{3,}}|:\s*\S*[^A-Za-z_.\s-]\S*))"),
    re.compile(r"alk_[0-9a-f]{16}_[A-Za-z0-9_-]{8,}"),  # this service's API keys
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),  # GitHub
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"\bsk_(live|test)_[A-Za-z0-9]{16,}"),  # Stripe
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
]
# 40+ hex digits: SHA-1 and longer digests, raw secrets. A UUID's 32 stays below it.
_LONG_HEX = re.compile(r"\b[0-9a-fA-F]{40,}\b")
_LONG_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")
_LONG_RUN = 32  # the shortest text either of the two above matches in
# Random base64 of this length has ~5 to 6 bits of entropy per character; English words
# and identifiers run under 4. (Shannon entropy over the run's own characters.)
_ENTROPY_BITS = 4.2


# What the patterns cannot match without, in an ASCII text (the case-insensitive ones in its
# lowercase form): an ASCII text holding none of these is not searched with them. Searching
# was most of a credential check's cost, the case-insensitive patterns the most, and most
# texts (user agents, names, ids) hold none. Beyond ASCII, case-insensitive matching folds
# more (the long s matches "s"), so such a text is searched with every pattern.
_NEEDED_ANY_CASE = re.compile(r"bearer|basic|pass|pwd|secret|token|key|session|auth")
_NEEDED = re.compile(r"eyJ|alk_|AKIA|ASIA|gh[pousr]_|xox|sk_(live|test)_|-----BEGIN ")


def looks_like_credential(text: str) -> bool:
    if (
        not text.isascii() or _NEEDED.search(text) or _NEEDED_ANY_CASE.search(text.lower())
    ) and any(pattern.search(text) for pattern in _PATTERNS):
        return True
    if len(text) < _LONG_RUN:
        return False  # too short for a long run of hex or of a token
    if _LONG_HEX.search(text):
        return True
    return any(_random_looking(run.group()) for run in _LONG_TOKEN.finditer(text))


def _random_looking(run: str) -> bool:
    classes = sum(
        (
            any(c.islower() for c in run),
            any(c.isupper() for c in run),
            any(c.isdigit() for c in run),
        )
    )
    return classes == 3 and _entropy(run) >= _ENTROPY_BITS


def _entropy(run: str) -> float:
    counts = Counter(run)
    return -sum(n / len(run) * math.log2(n / len(run)) for n in counts.values())


def redact_credentials(text: str) -> str:
    """`text` with every credential-shaped run replaced by `[redacted]`."""
    for pattern in (*_PATTERNS, _LONG_HEX):
        text = pattern.sub("[redacted]", text)
    return _LONG_TOKEN.sub(
        lambda run: "[redacted]" if _random_looking(run.group()) else run.group(), text
    )


class KnownSecrets:
    """The service's own secrets (operator token, signing keys), known only at composition.

    A human-chosen operator token (`correct horse battery staple 2026`) is not shaped like a
    credential, so the patterns above cannot catch it; this can. Matching is by substring,
    after NFKC and case folding: a copy in another case or in full-width letters reveals the
    secret as surely as the original. Immutable; its repr never shows a secret.
    """

    __slots__ = ("_folded",)
    _folded: tuple[str, ...]

    def __init__(self, *secrets: str | None) -> None:
        folded = {_fold(secret) for secret in secrets if secret}
        if any(len(secret) < MIN_KNOWN_SECRET for secret in folded):
            # A short one would refuse ordinary words everywhere; settings require more anyway.
            raise ValueError(f"a known secret must be at least {MIN_KNOWN_SECRET} characters")
        object.__setattr__(self, "_folded", tuple(sorted(folded)))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("KnownSecrets is immutable")

    def __repr__(self) -> str:
        return f"KnownSecrets(<{len(self._folded)} secrets>)"

    def __bool__(self) -> bool:
        return bool(self._folded)

    def contains(self, text: str) -> bool:
        """Whether `text` holds one of the secrets anywhere, in any case."""
        if not self._folded or not text:
            return False
        folded = _fold(text)
        return any(secret in folded for secret in self._folded)

    def in_any(self, texts: Iterable[str]) -> bool:
        """Whether one of `texts` holds a secret: `contains` of each, folded in one go.

        The texts are joined with NUL, which folding keeps as it is and before which nothing
        composes, so a match spans two texts only for a secret holding NUL (none can come
        from the environment); with such a secret each text is folded alone."""
        if not self._folded:
            return False
        if any("\x00" in secret for secret in self._folded):
            return any(self.contains(text) for text in texts)
        folded = _fold("\x00".join(texts))
        return any(secret in folded for secret in self._folded)

    def redact(self, text: str) -> str:
        """`text` with every occurrence of a secret replaced by `[redacted]`."""
        if not self.contains(text):
            return text
        # Fold character by character to map a match back onto the original text.
        starts: list[int] = []
        folded_parts: list[str] = []
        for index, char in enumerate(text):
            part = _fold(char)
            starts.extend([index] * len(part))
            folded_parts.append(part)
        folded = "".join(folded_parts)
        starts.append(len(text))
        hidden = [False] * len(text)
        for secret in self._folded:
            at = folded.find(secret)
            while at != -1:
                end = at + len(secret)
                last = starts[end - 1]
                for index in range(starts[at], last + 1):
                    hidden[index] = True
                at = folded.find(secret, at + 1)
        out: list[str] = []
        for index, char in enumerate(text):
            if not hidden[index]:
                out.append(char)
            elif index == 0 or not hidden[index - 1]:
                out.append("[redacted]")
        redacted = "".join(out)
        # Folding one character at a time can differ from folding the whole text (combining
        # sequences); never hand back text that still holds a secret.
        return "[redacted]" if self.contains(redacted) else redacted


MIN_KNOWN_SECRET = 16


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
