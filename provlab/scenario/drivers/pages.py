"""What a scenario reads off the parties' HTML pages, as a browser would."""

from __future__ import annotations

import re

# The portal and the instance's layouts carry the token in a meta tag; a bare form (the sign-in
# page) in a hidden field.
_CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
_CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_FLASH = re.compile(r'<div class="flash [a-z]+" role="alert">(.*?)</div>', re.S)


def csrf_token(html: str) -> str:
    """The page's CSRF token, which a form post or an XHR must send back."""
    found = _CSRF_META.search(html) or _CSRF_FIELD.search(html)
    if found is None:
        raise AssertionError("the page carries no CSRF token")
    return found.group(1)


def flash_messages(html: str) -> str:
    """The page's flash messages, joined, for a failure report."""
    messages = _FLASH.findall(html)
    return "; ".join(m.strip() for m in messages) or "no message shown"
