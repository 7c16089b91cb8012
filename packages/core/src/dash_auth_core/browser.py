"""The one script the stack adds to a Dash Pages index.

Client-side navigation to a private page asks Dash's routing callback for
the page; without a user the guard answers JSON 401 and the page would stay
blank. The script turns that 401 into a full page load of the new URL, which
the guard answers with the provider's challenge (a login prompt or a
redirect). It reloads at most once every few seconds, so a misconfiguration
cannot make it loop.
"""

from __future__ import annotations

import json
from typing import Any

from .callbacks import PAGES_ROUTER_ID

RELOAD_ON_ROUTER_401 = (
    "(function(){var f=window.fetch;if(!f||f.__dashAuth)return;"
    "var R=" + json.dumps('"output":"' + PAGES_ROUTER_ID + '"') + ";"
    "var w=function(input,init){var p=f.apply(this,arguments);try{"
    "var u=typeof input==='string'?input:(input&&input.url)||'';"
    "if(u.indexOf('_dash-update-component')<0||!init||typeof init.body!=='string'||init.body.indexOf(R)<0)return p;"
    "}catch(e){return p;}"
    "return p.then(function(r){if(r.status===401){var k='dash-auth-reload',t=Date.now(),"
    "l=+(window.sessionStorage&&sessionStorage.getItem(k))||0;"
    "if(t-l>5000){try{sessionStorage.setItem(k,String(t));}catch(e){}window.location.reload();}}return r;});};"
    "w.__dashAuth=true;window.fetch=w;})();"
)


def install(app: Any) -> None:
    """Add the script to ``app``'s index (Dash Pages apps only)."""
    scripts = getattr(app, "_inline_scripts", None)
    if getattr(app, "use_pages", False) and isinstance(scripts, list) and RELOAD_ON_ROUTER_401 not in scripts:
        scripts.append(RELOAD_ON_ROUTER_401)
