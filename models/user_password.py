"""What a password must be: not blank, not the account's email or name, not guessable.

Guessability comes from zxcvbn (Dropbox's estimator: frequency lists of leaked passwords, names,
words, keyboard patterns), not from a list typed here. Reasons never repeat the password.
"""

from __future__ import annotations

from models.errors import WeakPassword

# zxcvbn's scale: 0 "too guessable", 1 "very guessable" (< 10^6 guesses), 2 "somewhat guessable".
LEAST_ACCEPTED_SCORE = 2
# zxcvbn's cost grows with length and it refuses more than 72 characters; the start of a long
# password is what a guesser would try anyway.
ESTIMATED_PREFIX = 72


def check_password(password: str, *, email: str, name: str | None, pointer: str = "/password") -> None:
    if not password.strip():
        raise WeakPassword(pointer, "is only whitespace")
    if password.strip().casefold() == email.strip().casefold():
        raise WeakPassword(pointer, "is the account's email")
    user_inputs = [email, email.split("@", 1)[0], *([name] if name else [])]
    # Imported at the first check, not with the app: its word lists take 10 MiB in every worker,
    # and many workers never see a password.
    from zxcvbn import zxcvbn

    estimate = zxcvbn(password[:ESTIMATED_PREFIX], user_inputs=user_inputs)
    if estimate["score"] < LEAST_ACCEPTED_SCORE:
        raise WeakPassword(pointer, "is too common or too easy to guess; use a longer phrase")
