"""Pieces of the pages without a server: language negotiation, catalogues, theme colours,
the components' markup, the page script, and that the wheels carry templates and catalogues."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import dash_auth_basic  # noqa: F401 - registers its templates and catalogue
from dash_auth_core import ConfigurationError, browser
from dash_auth_core.components import CurrentUser, LogoutButton
from dash_auth_core.ui import Theme, i18n, render, wait_message
from dash_auth_core.ui.theme import PALETTE, contrast

pytestmark = pytest.mark.backends("flask", reason="no server involved")

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("header", "expected"), [
    ("de-CH, en;q=0.5", ["de_CH", "en"]),
    ("en;q=0.1, de;q=0.9", ["de", "en"]),
    ("pt-br", ["pt_BR"]),
    ("zh-Hant-TW", ["zh_Hant_TW"]),
    ("de;q=0, fr", ["fr"]),
    ("de;q=x, fr;q=2, it;q=-1", []),
    ("", []),
    (None, []),
    ("a" * 5000, []),
    ("<script>, ../../etc, de", ["de"]),
])
def test_accept_language_parsing(header, expected):
    assert i18n.parse_accept_language(header) == expected


def test_best_match_by_base_language_and_fallback():
    available = ("de", "en")
    assert i18n.best_match(["de_AT"], available) == "de"
    assert i18n.best_match(["fr", "en"], available) == "en"
    assert i18n.best_match(["fr"], available) is None
    assert i18n.best_match(["*"], available) == "en"


def test_languages_and_catalogues_shipped():
    assert {"en", "de"} <= set(i18n.available_languages())
    german = i18n.translations("de")
    assert german.gettext("Sign out") == "Abmelden"
    assert german.gettext("Wrong username or password.") == "Falscher Benutzername oder falsches Passwort."
    assert german.gettext("not in any catalogue") == "not in any catalogue"
    assert i18n.translations("xx").gettext("Sign out") == "Sign out"  # unknown: English


def test_an_apps_own_catalogue_comes_first(tmp_path):
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    catalog = Catalog(locale="de", domain="dash_auth")
    catalog.add("Sign out", "Tschüss")
    folder = tmp_path / "locale" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "dash_auth.mo").open("wb") as fh:
        write_mo(fh, catalog)
    chain = i18n.translations("de", [tmp_path / "locale"])
    assert chain.gettext("Sign out") == "Tschüss" and chain.gettext("Sign in") == "Anmelden"


def test_wait_message_plural_forms():
    assert wait_message(1) == "Try again in 1 second."
    assert wait_message(59.2) == "Try again in 60 seconds."
    assert wait_message(125) == "Try again in 3 minutes."
    assert wait_message("junk") == "Wait a moment and try again."


def test_catalogues_are_complete_current_and_compiled():
    """Every message of the code and templates is in every catalogue, translated, and compiled."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "messages.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_default_palettes_pass_wcag_aa():
    for index in (0, 1):
        colour = {name: pair[index] for name, pair in PALETTE.items()}
        for text in ("--dash-auth-text", "--dash-auth-muted", "--dash-auth-primary", "--dash-auth-error"):
            for background in ("--dash-auth-surface", "--dash-auth-bg"):
                assert contrast(colour[text], colour[background]) >= 4.5, (index, text, background)
        assert contrast(colour["--dash-auth-on-primary"], colour["--dash-auth-primary"]) >= 4.5
        assert contrast(colour["--dash-auth-text"], colour["--dash-auth-error-bg"]) >= 4.5
        assert contrast(colour["--dash-auth-border"], colour["--dash-auth-surface"]) >= 3  # controls' edges


def test_text_on_the_primary_colour_is_black_or_white_by_contrast(caplog):
    assert Theme(primary_color="#ffd166").variables(False)["--dash-auth-on-primary"] == "#000000"
    assert Theme(primary_color="#123456").variables(True)["--dash-auth-on-primary"] == "#ffffff"
    with caplog.at_level("WARNING", logger="dash_auth"):
        Theme(primary_color="#ffff00")
    assert "contrast" in caplog.text
    with pytest.raises(ConfigurationError):
        Theme(primary_color="rgb(1,2,3)")


def test_logout_button_is_a_marked_form_with_a_submit_button():
    form = LogoutButton(id="out", button_id="out-button", className="mine")
    props = form.to_plotly_json()["props"]
    assert props["method"] == "post" and props["data-dash-auth-logout"] == "true" and props["id"] == "out"
    button = props["children"].to_plotly_json()["props"]
    assert button["type"] == "submit" and button["className"] == "dash-auth-logout-button mine"
    assert button["children"] == "Sign out" and button["data-dash-auth-label"] == "sign_out"
    own = LogoutButton("Leave").children.to_plotly_json()["props"]
    assert own["children"] == "Leave" and "data-dash-auth-label" not in own  # given words stay


def test_current_user_carries_its_options_as_json():
    span = CurrentUser(show_email=True, show_groups=True, sign_in_label="Log in", id="who")
    props = span.to_plotly_json()["props"]
    assert props["className"] == "dash-auth-current-user" and props["id"] == "who"
    assert json.loads(props["data-dash-auth-user"]) == {"email": True, "groups": True, "signIn": True,
                                                         "signInLabel": "Log in"}
    assert props.get("children") is None  # filled by the page script, as text


def test_page_script_config_cannot_close_its_script_element():
    text = browser.components_script({"session": "/</script><script>alert(1)//", "css": "/x", "signin": "/s",
                                      "logout": "/l"})
    assert "</script>" not in text and "\\u003c/script>" in text


def test_a_failing_built_in_template_still_answers_with_the_status(monkeypatch, caplog):
    monkeypatch.setattr(render, "builtin_environment", lambda: (_ for _ in ()).throw(RuntimeError("broken")))
    from dash_auth_core.ui import render_page

    with caplog.at_level("ERROR", logger="dash_auth"):
        response = render_page(None, "forbidden.html", 403)
    assert response.status == 403 and "could not be shown" in response.body
    assert "forbidden.html" in caplog.text


@pytest.mark.parametrize(("folder", "files"), [
    ("packages/core", ["dash_auth_core/ui/templates/base.html", "dash_auth_core/ui/templates/dash_auth.css",
                       "dash_auth_core/ui/locale/de/LC_MESSAGES/dash_auth.mo"]),
    ("packages/basic", ["dash_auth_basic/templates/login.html", "dash_auth_basic/locale/de/LC_MESSAGES/dash_auth.mo"]),
    ("packages/oidc", ["dash_auth_oidc/templates/oidc_choose.html", "dash_auth_oidc/locale/de/LC_MESSAGES/dash_auth.mo"]),
    ("packages/clerk", ["dash_auth_clerk/templates/clerk_sign_in.html", "dash_auth_clerk/templates/clerk_callback.html",
                        "dash_auth_clerk/templates/clerk_scripts.html",
                        "dash_auth_clerk/locale/de/LC_MESSAGES/dash_auth.mo"]),
])
def test_wheels_carry_the_templates_and_compiled_catalogues(tmp_path, folder, files):
    done = subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
                          cwd=ROOT / folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in files:
        assert name in names, name
