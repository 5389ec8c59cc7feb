"""The hub's pages for people: sign in, consent, sign out. zh-CN and en.

Every string comes from `MESSAGES`; every value put in a page is escaped. No script at all; the
one style block is allowed by its hash in a strict Content-Security-Policy, and no page may be
framed (no clickjacking of the sign-in or "allow" button). The language is the `ui_locales`
parameter when given (OpenID Connect's, kept through the form), else the first match in
Accept-Language: any zh* is zh-CN; English otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "Sign in to Yunfab",
        "asks": "{client} asks for:",
        "email": "Email",
        "password": "Password",
        "sign_in": "Sign in and allow",
        "deny": "Deny",
        "wrong": "Wrong email or password.",
        "switch": "中文",
        "signed_in_as": "Signed in as {name} ({email}).",
        "allow": "Allow",
        "other_account": "Use another account",
        "form_expired": "This form has expired. Please try again.",
        "try_again": "Open the sign-in page again",
        "sign_out_title": "Sign out of Yunfab",
        "sign_out_ask": "Sign out of Yunfab in this browser?",
        "sign_out": "Sign out",
        "signed_out": "You have signed out of Yunfab.",
        "no_scope": "signing in",
    },
    "zh-CN": {
        "title": "登录云纺",
        "asks": "{client} 请求以下权限：",
        "email": "电子邮箱",
        "password": "密码",
        "sign_in": "登录并授权",
        "deny": "拒绝",
        "wrong": "电子邮箱或密码错误。",
        "switch": "English",
        "signed_in_as": "已登录：{name}（{email}）。",
        "allow": "授权",
        "other_account": "使用其他账号",
        "form_expired": "表单已过期，请重试。",
        "try_again": "重新打开登录页面",
        "sign_out_title": "退出云纺",
        "sign_out_ask": "要在此浏览器中退出云纺吗？",
        "sign_out": "退出登录",
        "signed_out": "您已退出云纺。",
        "no_scope": "登录",
    },
}

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}"
    "label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem}"
    "button{margin-top:1rem;padding:.6rem 1.2rem}.err{color:#b00}.lang{float:right}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; frame-ancestors 'none'"
)
"""No script, no framing, nothing loaded; `form-action` is left out on purpose: browsers apply
it to the redirect after the form, which goes to the app's own URL."""


def choose_locale(ui_locales: str | None, accept_language: str | None) -> str:
    for tag in (ui_locales or "").split():
        if (found := _match(tag)) is not None:
            return found
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if quality > 0:
            ranked.append((-quality, index, tag.strip()))
    for _, _, tag in sorted(ranked):
        if (found := _match(tag)) is not None:
            return found
    return DEFAULT_LOCALE


def _match(tag: str) -> str | None:
    lowered = tag.lower()
    if lowered == "zh" or lowered.startswith("zh-"):
        return "zh-CN"
    if lowered == "en" or lowered.startswith("en-"):
        return "en"
    return None


def other_locale(locale: str) -> str:
    return "en" if locale == "zh-CN" else "zh-CN"


def text(locale: str, key: str, **values: str) -> str:
    """A message, its values escaped (the message itself is ours)."""
    message = MESSAGES[locale][key]
    return message.format(**{k: html.escape(v) for k, v in values.items()})


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )


def _page(
    locale: str, title_key: str, body: str, switch_url: str | None, status: int
) -> HTMLResponse:
    switch = (
        f'<a class="lang" href="{html.escape(switch_url)}" hreflang="{other_locale(locale)}">'
        f"{text(locale, 'switch')}</a>"
        if switch_url
        else ""
    )
    page = (
        f'<!doctype html><html lang="{locale}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{text(locale, title_key)}</title><style>{_STYLE}</style></head><body>"
        f"{switch}<h1>{text(locale, title_key)}</h1>{body}</body></html>"
    )
    return HTMLResponse(
        page,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": CSP,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


def switch_url(path: str, request: Mapping[str, str], locale: str) -> str:
    """The same request in the other language (a GET of the authorization endpoint)."""
    return f"{path}?{urlencode({**request, 'ui_locales': other_locale(locale)})}"


def _same_language(path: str, request: Mapping[str, str], locale: str) -> str:
    return f"{path}?{urlencode({**request, 'ui_locales': locale})}"


def _scopes(locale: str, scope: str) -> str:
    names = [html.escape(s) for s in scope.split()]
    return ", ".join(names) or text(locale, "no_scope")


def sign_in(
    locale: str,
    *,
    client: str,
    request: Mapping[str, str],
    csrf: str,
    path: str,
    error_key: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The sign-in form; `request` (the authorization request) rides along in hidden fields."""
    error = f'<p class="err" role="alert">{text(locale, error_key)}</p>' if error_key else ""
    body = (
        f"<p>{text(locale, 'asks', client=client)} {_scopes(locale, request.get('scope', ''))}</p>"
        f'{error}<form method="post" action="{html.escape(path)}">'
        f"{_hidden({**request, 'ui_locales': locale, 'csrf_token': csrf})}"
        f'<label for="email">{text(locale, "email")}</label>'
        '<input id="email" name="email" type="email" autocomplete="username" required>'
        f'<label for="password">{text(locale, "password")}</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        f'<button type="submit" name="decision" value="allow">{text(locale, "sign_in")}</button> '
        f'<button type="submit" name="decision" value="deny" formnovalidate>'
        f"{text(locale, 'deny')}</button></form>"
    )
    return _page(locale, "title", body, switch_url(path, request, locale), status)


def consent(
    locale: str,
    *,
    client: str,
    name: str,
    email: str,
    request: Mapping[str, str],
    csrf: str,
    path: str,
) -> HTMLResponse:
    """A signed-in person asked once by an app that is not the hub's own."""
    body = (
        f"<p>{text(locale, 'signed_in_as', name=name, email=email)}</p>"
        f"<p>{text(locale, 'asks', client=client)} {_scopes(locale, request.get('scope', ''))}</p>"
        f'<form method="post" action="{html.escape(path)}">'
        f"{_hidden({**request, 'ui_locales': locale, 'csrf_token': csrf})}"
        f'<button type="submit" name="decision" value="allow">{text(locale, "allow")}</button> '
        f'<button type="submit" name="decision" value="deny">{text(locale, "deny")}</button>'
        "</form>"
        f'<p><a href="{html.escape(_same_language(path, {**request, "prompt": "login"}, locale))}">'
        f"{text(locale, 'other_account')}</a></p>"
    )
    return _page(locale, "title", body, switch_url(path, request, locale), 200)


def sign_out(locale: str, *, request: Mapping[str, str], csrf: str, path: str) -> HTMLResponse:
    body = (
        f"<p>{text(locale, 'sign_out_ask')}</p>"
        f'<form method="post" action="{html.escape(path)}">'
        f"{_hidden({**request, 'ui_locales': locale, 'csrf_token': csrf})}"
        f'<button type="submit">{text(locale, "sign_out")}</button></form>'
    )
    return _page(locale, "sign_out_title", body, switch_url(path, request, locale), 200)


def signed_out(locale: str) -> HTMLResponse:
    return _page(locale, "sign_out_title", f"<p>{text(locale, 'signed_out')}</p>", None, 200)


def form_expired(locale: str, *, request: Mapping[str, str], path: str) -> HTMLResponse:
    """A form whose token does not match the browser's cookie (posted from another site, or a
    page older than the cookie): nothing is done; a link opens the same request afresh."""
    again = html.escape(_same_language(path, request, locale))
    body = (
        f'<p class="err" role="alert">{text(locale, "form_expired")}</p>'
        f'<p><a href="{again}">{text(locale, "try_again")}</a></p>'
    )
    return _page(locale, "title", body, None, 403)
